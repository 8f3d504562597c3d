from django.contrib.admin.utils import quote
from django.urls import reverse

from marketplaces.config_objects import services
from marketplaces.config_objects.models import ConfigObject
from plexica.tenancy.principal import Principal
from tests.marketplaces.conftest import SKILL_V1, SKILL_V2


def _object(org, text=SKILL_V1):
    return services.create_config_object(Principal.system(org), "skill", "cloud", services.VersionInput(text))[0]


def test_org_admin_sees_their_objects_with_versions_newest_first_read_only(client, org_admin, org, other_org):
    mine, theirs = _object(org), _object(other_org)
    newer, _ = services.add_version(Principal.system(org), mine.pk, services.VersionInput(SKILL_V2))
    client.force_login(org_admin.user)

    changelist = client.get(reverse("admin:marketplaces_configobject_changelist"))
    assert {o.pk for o in changelist.context["cl"].result_list} == {mine.pk}

    page = client.get(reverse("admin:marketplaces_configobject_change", args=[quote(mine.pk)]))
    assert page.status_code == 200
    assert [v.pk for v in page.context["versions"]] == [newer.pk, mine.versions.last().pk]
    assert [v.number for v in page.context["versions"]] == [2, 1]
    assert page.context["inline_admin_formsets"] == []  # versions are immutable: nothing is edited inline
    html = page.content.decode()
    assert "Summarize tickets" in html and 'id="panel-versions"' in html
    assert 'name="_save"' not in html  # nothing on the page is saved with a Save button
    assert client.get(reverse("admin:marketplaces_configobject_change", args=[quote(theirs.pk)])).status_code in (302, 404)


def test_archive_and_restore_actions_change_the_status(client, org_admin, org):
    obj = _object(org)
    client.force_login(org_admin.user)
    url = reverse("admin:marketplaces_configobject_changelist")
    response = client.post(url, {"action": "archive_selected", "_selected_action": [obj.pk]}, follow=True)
    assert "Archived 1 config object." in response.content.decode()
    obj.refresh_from_db()
    assert obj.status == ConfigObject.Status.ARCHIVED
    client.post(url, {"action": "restore_selected", "_selected_action": [obj.pk]})
    obj.refresh_from_db()
    assert obj.status == ConfigObject.Status.ACTIVE


def test_an_action_that_does_not_apply_is_reported_not_crashed(client, org_admin, org):
    obj = _object(org)
    services.delete_config_object(Principal.system(org), obj.pk)
    client.force_login(org_admin.user)
    response = client.post(reverse("admin:marketplaces_configobject_changelist"),
                           {"action": "archive_selected", "_selected_action": [obj.pk]}, follow=True)
    assert "No config object" in response.content.decode()
    obj.refresh_from_db()
    assert obj.status == ConfigObject.Status.DELETED
