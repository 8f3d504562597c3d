import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from marketplaces.catalog.services.marketplaces import create_marketplace
from marketplaces.config_objects import services
from marketplaces.delivery.models import PluginRelease, PluginReleaseItem
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Membership, Team
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user
from tests.marketplaces.conftest import SKILL_V1

GRANTS = "admin:access_accessgrant_changelist"
ADD_GRANT = "admin:access_accessgrant_add"
RELEASES = "admin:marketplaces_pluginrelease_changelist"


def _object(org):
    return services.create_config_object(Principal.system(org), "skill", "cloud",
                                         services.VersionInput(SKILL_V1))[0]


def _grant(org, resource_id, role="viewer", resource_type="config_object", **subject):
    return access.grant(Principal(organization=org, is_superuser=True), resource_type, resource_id, role,
                        **subject)[0]


def _change_url(name, pk):
    return reverse(f"admin:{name}_change", args=[quote(pk)])


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin.user)
    return client


@pytest.fixture
def staff_member(org):
    user, _ = ensure_user("sam", password="correct-horse-battery", is_staff=True)
    return add_member(org, user, Membership.Role.MEMBER)[0]


def _add_form(org, resource_id, resource_type="config_object", role="viewer", **subject):
    return {"organization": org.pk, "resource_type": resource_type, "resource_id": resource_id, "role": role,
            "membership": "", "team": "", **subject}


# The grant admin


def test_an_org_admin_lists_only_their_organizations_grants(admin_client, org, other_org, member):
    mine = _grant(org, _object(org).pk, membership_id=member.pk)
    theirs = _grant(other_org, _object(other_org).pk, org_wide=True)
    response = admin_client.get(reverse(GRANTS))
    assert response.status_code == 200
    assert [g.pk for g in response.context["cl"].result_list] == [mine.pk]
    assert admin_client.get(_change_url("access_accessgrant", mine.pk)).status_code == 200
    assert admin_client.get(_change_url("access_accessgrant", theirs.pk)).status_code in (302, 404)


def test_a_member_without_admin_standing_is_forbidden(client, staff_member):
    client.force_login(staff_member.user)
    assert client.get(reverse(GRANTS)).status_code == 403
    assert client.get(reverse(ADD_GRANT)).status_code == 403
    assert client.get(reverse(RELEASES)).status_code == 403


def test_the_add_form_grants_a_member_a_role_on_a_config_object(admin_client, org_admin, org, member):
    obj = _object(org)
    response = admin_client.post(reverse(ADD_GRANT), _add_form(org, obj.pk, role="editor", membership=member.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    grant = AccessGrant.objects.get(resource_id=obj.pk, membership=member)
    assert (grant.role, grant.organization, grant.created_by, grant.revoked_at) == ("editor", org, org_admin.user,
                                                                                    None)
    assert access.effective_role(Principal(organization=org, membership=member), "config_object", obj.pk) == "editor"


def test_a_team_or_the_whole_organization_can_be_the_subject(admin_client, org, crm_plugin):
    team = Team.objects.create(organization=org, slug="support", name="Support")
    admin_client.post(reverse(ADD_GRANT), _add_form(org, crm_plugin.pk, "plugin", team=team.pk))
    admin_client.post(reverse(ADD_GRANT), _add_form(org, "plugin-crm", "plugin", "editor", org_wide="on"))
    grants = {(g.subject_key, g.role, g.resource_id) for g in AccessGrant.objects.filter(resource_type="plugin")}
    assert grants == {(f"team:{team.pk}", "viewer", crm_plugin.pk), ("org", "editor", crm_plugin.pk)}


@pytest.mark.parametrize("subject", [{}, {"org_wide": "on", "team": "TEAM"}])
def test_exactly_one_subject_is_required(admin_client, org, member, subject):
    team = Team.objects.create(organization=org, slug="support", name="Support")
    subject = {k: team.pk if v == "TEAM" else v for k, v in subject.items()}
    response = admin_client.post(reverse(ADD_GRANT), _add_form(org, _object(org).pk, **subject))
    assert response.status_code == 200
    assert "Choose exactly one subject" in str(response.context["adminform"].form.non_field_errors())
    assert not AccessGrant.objects.filter(role="viewer").exists()


def test_the_resource_must_exist_in_the_organization(admin_client, org, other_org):
    theirs = _object(other_org)
    for resource_type, resource_id in [("config_object", theirs.pk), ("marketplace", "mkt_nope"),
                                       ("plugin", "plugin-nope")]:
        response = admin_client.post(reverse(ADD_GRANT), _add_form(org, resource_id, resource_type, org_wide="on"))
        errors = response.context["adminform"].form.errors
        assert {"resource", "resource_id"} & set(errors), resource_type  # the chooser, or the typed id
    assert not AccessGrant.objects.filter(org_wide=True).exists()


def test_subjects_of_another_organization_are_not_offered_and_are_refused(client, org_admin, org, other_org):
    # ada administers both organizations, so both organizations' members and teams are offered ...
    add_member(other_org, org_admin.user, Membership.Role.ADMIN)
    outsider = add_member(other_org, ensure_user("olga")[0], Membership.Role.MEMBER)[0]
    their_team = Team.objects.create(organization=other_org, slug="ops", name="Ops")
    client.force_login(org_admin.user)
    obj = _object(org)
    # ... but a grant on an acme object may not name a globex member or team.
    response = client.post(reverse(ADD_GRANT), _add_form(org, obj.pk, membership=outsider.pk))
    assert "belongs to another organization" in response.context["adminform"].form.errors["membership"][0]
    response = client.post(reverse(ADD_GRANT), _add_form(org, obj.pk, team=their_team.pk))
    assert "belongs to another organization" in response.context["adminform"].form.errors["team"][0]
    assert not AccessGrant.objects.filter(resource_id=obj.pk).exclude(subject_key__startswith="mem:").exists()


def test_a_single_org_admin_is_not_offered_other_organizations_members(admin_client, org, other_org):
    outsider = add_member(other_org, ensure_user("olga")[0], Membership.Role.MEMBER)[0]
    form = admin_client.get(reverse(ADD_GRANT)).context["adminform"].form
    assert outsider not in form.fields["membership"].queryset
    response = admin_client.post(reverse(ADD_GRANT), _add_form(org, _object(org).pk, membership=outsider.pk))
    assert "membership" in response.context["adminform"].form.errors


def test_revoking_is_soft_and_the_grant_admin_never_deletes(admin_client, org_admin, org, member):
    grant = _grant(org, _object(org).pk, membership_id=member.pk)
    changelist = admin_client.get(reverse(GRANTS))
    assert "delete_selected" not in dict(changelist.context["action_form"].fields["action"].choices)
    response = admin_client.post(reverse(GRANTS), {"action": "revoke_selected", "_selected_action": [grant.pk]},
                                 follow=True)
    assert "Revoked 1 grant." in response.content.decode()
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == org_admin.user
    response = admin_client.post(reverse(GRANTS), {"action": "revoke_selected", "_selected_action": [grant.pk]},
                                 follow=True)
    assert "1 grant already revoked." in response.content.decode()
    assert admin_client.get(reverse("admin:access_accessgrant_delete", args=[quote(grant.pk)])).status_code == 403


def test_list_filters_by_state_resource_type_and_role(admin_client, org, member, crm_plugin):
    obj = _object(org)
    viewer = _grant(org, obj.pk, membership_id=member.pk)
    manager = _grant(org, crm_plugin.pk, "manager", "plugin", org_wide=True)
    access.revoke(Principal(organization=org, is_superuser=True), "config_object", obj.pk, viewer.pk)

    def listed(**params):
        return {g.pk for g in admin_client.get(reverse(GRANTS), params).context["cl"].result_list}

    assert listed(state="active") == {manager.pk}
    assert listed(state="revoked") == {viewer.pk}
    assert listed(resource_type__exact="config_object") == {viewer.pk}
    assert listed(role__exact="manager") == {manager.pk}


def test_the_role_of_an_active_grant_can_change_a_revoked_one_is_read_only(admin_client, org, member):
    grant = _grant(org, _object(org).pk, membership_id=member.pk)
    url = _change_url("access_accessgrant", grant.pk)
    assert admin_client.post(url, {"role": "manager"}).status_code == 302
    grant.refresh_from_db()
    assert grant.role == "manager" and grant.revoked_at is None
    access.revoke(Principal(organization=org, is_superuser=True), "config_object", grant.resource_id, grant.pk)
    admin_client.post(url, {"role": "viewer"})
    grant.refresh_from_db()
    assert grant.role == "manager" and grant.revoked_at is not None


def test_granting_a_revoked_subject_again_brings_the_same_row_back(admin_client, org, member):
    obj = _object(org)
    grant = _grant(org, obj.pk, membership_id=member.pk)
    access.revoke(Principal(organization=org, is_superuser=True), "config_object", obj.pk, grant.pk)
    response = admin_client.post(reverse(ADD_GRANT), _add_form(org, obj.pk, "config_object", "editor",
                                                               membership=member.pk))
    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.role, grant.revoked_at) == ("editor", None)
    assert AccessGrant.objects.filter(resource_id=obj.pk, membership=member).count() == 1


# The grants on the resources' change pages


def _grants_html(page):
    return page.content.decode().split("Access grants", 1)[1]


def test_a_config_objects_page_lists_its_active_grants_with_a_prefilled_add_link(admin_client, org, member):
    obj = _object(org)
    active = _grant(org, obj.pk, "editor", membership_id=member.pk)
    revoked = _grant(org, obj.pk, org_wide=True)
    access.revoke(Principal(organization=org, is_superuser=True), "config_object", obj.pk, revoked.pk)
    page = admin_client.get(_change_url("marketplaces_configobject", obj.pk))
    html = _grants_html(page)
    assert "member mia" in html and "Editor" in html and "the whole organization" not in html
    add_link = (f"{reverse(ADD_GRANT)}?organization={org.pk}&amp;resource_type=config_object&amp;"
                f"resource_id={obj.pk}")
    assert add_link in html and _change_url("access_accessgrant", active.pk) in html

    form = admin_client.get(add_link.replace("&amp;", "&")).context["adminform"].form
    assert (form.initial["resource_type"], form.initial["resource_id"]) == ("config_object", obj.pk)


def test_marketplace_and_plugin_pages_list_their_grants_too(admin_client, org, member, crm_plugin):
    marketplace = create_marketplace(Principal.system(org), "Sales tools")
    _grant(org, marketplace.pk, "manager", "marketplace", membership_id=member.pk)
    _grant(org, crm_plugin.pk, "viewer", "plugin", org_wide=True)
    html = _grants_html(admin_client.get(_change_url("marketplaces_marketplace", marketplace.pk)))
    assert "member mia" in html and "Manager" in html and "resource_type=marketplace" in html
    page = admin_client.get(_change_url("plugins_plugin", crm_plugin.pk))
    html = _grants_html(page)
    assert "the whole organization" in html and "resource_type=plugin" in html
    assert "install_selected" in dict(admin_client.get(reverse("admin:plugins_plugin_changelist"))
                                      .context["action_form"].fields["action"].choices)  # lifecycle actions kept


def test_a_page_without_grants_says_so(admin_client, org):
    html = _grants_html(admin_client.get(_change_url("marketplaces_configobject", _object(org).pk)))
    assert "No active grants" in html


# Releases


def _release(org, plugin, name, pinned_at=None):
    release = PluginRelease.objects.create(organization=org, plugin=plugin, name=name, pinned_at=pinned_at)
    obj = _object(org)
    PluginReleaseItem.objects.create(release=release, config_object=obj, version=obj.latest_version())
    return release


def test_releases_are_listed_per_organization_and_read_only(admin_client, org, other_org, crm_plugin):
    mine = _release(org, crm_plugin, "1.0")
    globex = Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="CRM", version="1.0.0")
    theirs = _release(other_org, globex, "9.9")
    response = admin_client.get(reverse(RELEASES))
    assert [r.pk for r in response.context["cl"].result_list] == [mine.pk]
    page = admin_client.get(_change_url("marketplaces_pluginrelease", mine.pk))
    assert page.status_code == 200 and not page.context["has_change_permission"]
    items = page.context["inline_admin_formsets"][0].formset.queryset
    assert [i.release_id for i in items] == [mine.pk]
    assert admin_client.get(_change_url("marketplaces_pluginrelease", theirs.pk)).status_code in (302, 404)
    assert admin_client.get(reverse("admin:marketplaces_pluginrelease_add")).status_code == 403


def test_pinning_a_release_unpins_the_plugins_other_one(admin_client, org, crm_plugin):
    first, second = _release(org, crm_plugin, "1.0"), _release(org, crm_plugin, "1.1")
    wiki = Plugin.objects.create(organization=org, plugin_id="plugin-wiki", name="Wiki", version="1.0.0")
    other_plugins = _release(org, wiki, "0.1")
    url = reverse(RELEASES)
    admin_client.post(url, {"action": "pin_selected", "_selected_action": [first.pk, other_plugins.pk]})
    response = admin_client.post(url, {"action": "pin_selected", "_selected_action": [second.pk]}, follow=True)
    assert f"Pinned 1.1 for plugin-crm (unpinned {first.pk})." in response.content.decode()
    pinned = set(PluginRelease.objects.filter(pinned_at__isnull=False).values_list("pk", flat=True))
    assert pinned == {second.pk, other_plugins.pk}

    response = admin_client.post(url, {"action": "pin_selected", "_selected_action": [first.pk, second.pk]},
                                 follow=True)
    assert "Select one release of plugin-crm to pin, not 2." in response.content.decode()
    assert set(PluginRelease.objects.filter(pinned_at__isnull=False).values_list("pk", flat=True)) == pinned

    response = admin_client.post(url, {"action": "unpin_selected", "_selected_action": [first.pk, second.pk]},
                                 follow=True)
    assert "Unpinned 1 release." in response.content.decode()
    assert not PluginRelease.objects.filter(plugin=crm_plugin, pinned_at__isnull=False).exists()
