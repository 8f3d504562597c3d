from django.contrib.admin.utils import quote
from django.urls import reverse

from marketplaces.catalog.models import Marketplace, MarketplacePlugin
from marketplaces.catalog.services.bundles import (
    add_config_object_to_plugin,
    remove_config_object_from_plugin,
)
from marketplaces.catalog.services.marketplaces import create_marketplace, delete_marketplace
from marketplaces.config_objects import services
from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from tests.marketplaces.conftest import SKILL_V1


def _object(org):
    return services.create_config_object(Principal.system(org), "skill", "cloud", services.VersionInput(SKILL_V1))[0]


def _marketplace(org, name="Sales tools"):
    return create_marketplace(Principal.system(org), name)


def _inline_management(prefix, total, initial):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


PREFIX = "plugin_memberships"


def test_a_config_objects_page_shows_the_plugins_bundling_it_by_name(client, org_admin, org, crm_plugin):
    obj = _object(org)
    wiki = Plugin.objects.create(organization=org, plugin_id="plugin-wiki", name="Wiki", version="1.0.0")
    principal = Principal.system(org)
    add_config_object_to_plugin(principal, crm_plugin, obj)
    add_config_object_to_plugin(principal, wiki, obj)
    remove_config_object_from_plugin(principal, wiki, obj)
    client.force_login(org_admin.user)

    page = client.get(reverse("admin:marketplaces_configobject_change", args=[quote(obj.pk)]))
    assert page.status_code == 200
    assert [m.plugin.plugin_id for m in page.context["memberships"]] == ["plugin-crm"]  # the removed one is gone
    html = page.content.decode()
    assert f"{crm_plugin.name} (plugin-crm)" in html and 'id="bundle-form"' in html
    assert reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)]) in html


def test_an_org_admin_sees_only_their_marketplaces(client, org_admin, org, other_org):
    mine, theirs = _marketplace(org), _marketplace(other_org, "Globex picks")
    client.force_login(org_admin.user)
    changelist = client.get(reverse("admin:marketplaces_marketplace_changelist"))
    assert {m.pk for m in changelist.context["cl"].result_list} == {mine.pk}
    assert client.get(reverse("admin:marketplaces_marketplace_change", args=[quote(theirs.pk)])).status_code in (302, 404)


def test_an_org_admin_composes_a_marketplace_inline_and_removal_is_soft(client, org_admin, org, crm_plugin,
                                                                         other_org):
    foreign = Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="G", version="1.0.0")
    client.force_login(org_admin.user)
    url = reverse("admin:marketplaces_marketplace_add")
    form = client.get(url).context["inline_admin_formsets"][0].formset.empty_form
    assert foreign not in form.fields["plugin"].queryset and crm_plugin in form.fields["plugin"].queryset

    response = client.post(url, {"organization": org.pk, "name": "Sales tools", "description": "", "logo_url":
                                 "/static/sales.png", **_inline_management(PREFIX, 1, 0),
                                 f"{PREFIX}-0-plugin": crm_plugin.pk})
    assert response.status_code == 302, response.context["adminform"].errors if response.context else response
    marketplace = Marketplace.objects.get()
    assert marketplace.created_by == org_admin.user
    row = MarketplacePlugin.objects.get()
    assert (row.plugin, row.organization, row.added_by, row.removed_at) == (crm_plugin, org, org_admin.user, None)
    assert row.source == "admin"  # made in the admin, not through the API

    change = reverse("admin:marketplaces_marketplace_change", args=[quote(marketplace.pk)])
    page = client.get(change)
    assert [r.plugin for r in page.context["inline_admin_formsets"][0].formset.queryset] == [crm_plugin]
    base = {"organization": org.pk, "name": "Sales tools", "description": "", "logo_url": "/static/sales.png"}
    client.post(change, {**base, **_inline_management(PREFIX, 1, 1), f"{PREFIX}-0-id": row.pk,
                         f"{PREFIX}-0-marketplace": marketplace.pk, f"{PREFIX}-0-plugin": crm_plugin.pk,
                         f"{PREFIX}-0-DELETE": "on"})
    row.refresh_from_db()
    assert row.removed_at is not None

    client.post(change, {**base, **_inline_management(PREFIX, 1, 0), f"{PREFIX}-0-plugin": crm_plugin.pk})
    assert MarketplacePlugin.objects.get().pk == row.pk
    row.refresh_from_db()
    assert row.removed_at is None


def test_the_admin_refuses_a_logo_url_that_is_not_https(client, org_admin, org):
    client.force_login(org_admin.user)
    response = client.post(reverse("admin:marketplaces_marketplace_add"),
                           {"organization": org.pk, "name": "Sales", "description": "",
                            "logo_url": "javascript:alert(1)", **_inline_management(PREFIX, 0, 0)})
    assert response.status_code == 200
    assert "logo_url" in response.context["adminform"].form.errors
    assert not Marketplace.objects.exists()


def test_archive_and_restore_actions_change_a_marketplaces_status(client, org_admin, org):
    marketplace = _marketplace(org)
    client.force_login(org_admin.user)
    url = reverse("admin:marketplaces_marketplace_changelist")
    response = client.post(url, {"action": "archive_selected", "_selected_action": [marketplace.pk]}, follow=True)
    assert "Archived 1 marketplace." in response.content.decode()
    marketplace.refresh_from_db()
    assert marketplace.status == Marketplace.Status.ARCHIVED
    client.post(url, {"action": "restore_selected", "_selected_action": [marketplace.pk]})
    marketplace.refresh_from_db()
    assert marketplace.status == Marketplace.Status.ACTIVE


def test_archiving_a_deleted_marketplace_is_reported_not_crashed(client, org_admin, org):
    marketplace = _marketplace(org)
    delete_marketplace(Principal.system(org), marketplace.pk)
    client.force_login(org_admin.user)
    response = client.post(reverse("admin:marketplaces_marketplace_changelist"),
                           {"action": "archive_selected", "_selected_action": [marketplace.pk]}, follow=True)
    assert "No marketplace" in response.content.decode()
    marketplace.refresh_from_db()
    assert marketplace.status == Marketplace.Status.ACTIVE
