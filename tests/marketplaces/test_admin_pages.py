"""The config object and marketplace pages: their panels with real rows, never another organization's, the
bundle form, comparison of any two versions, and flat query counts with 1,000 rows of each kind."""

from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from connectors.models import SourceBinding
from marketplaces.catalog.models import Marketplace, MarketplacePlugin, MembershipSource, PluginConfigObject
from marketplaces.catalog.services.bundles import add_config_object_to_plugin
from marketplaces.catalog.services.marketplaces import add_plugin_to_marketplace, create_marketplace
from marketplaces.config_objects import services
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.config_objects.parsing import parse_version_input
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Membership, Team
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user
from tests.adminsite.bulk import bulk_rows
from tests.adminsite.querycount import assert_flat
from tests.connectors import factories
from tests.marketplaces.conftest import SKILL_V1, SKILL_V2


def _object(org, text=SKILL_V1, type_="skill"):
    return services.create_config_object(Principal.system(org), type_, "cloud", services.VersionInput(text))[0]


def _url(name, pk, **query):
    url = reverse(f"admin:marketplaces_{name}", args=[quote(pk)])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin.user)
    return client


def _plugins(org, n, tag="p"):
    return Plugin.objects.bulk_create(
        Plugin(organization=org, plugin_id=f"plugin-{tag}{i:04d}", name=f"Plugin {tag}{i:04d}", version="1.0.0")
        for i in range(n))


def _members(org, n, tag="m"):
    from django.contrib.auth import get_user_model
    users = get_user_model().objects.bulk_create(get_user_model()(username=f"{tag}{i:04d}") for i in range(n))
    return Membership.objects.bulk_create(Membership(organization=org, user=user) for user in users)


def _grants(org, resource_type, resource_id, memberships):
    AccessGrant.objects.bulk_create(
        AccessGrant(organization=org, resource_type=resource_type, resource_id=resource_id, membership=m,
                    subject_key=f"mem:{m.pk}", role="viewer") for m in memberships)


# The config object page


def test_the_config_object_page_shows_its_panels_with_names_and_nothing_of_another_org(
        admin_client, org, other_org, crm_plugin, member):
    obj = _object(org)
    services.add_version(Principal.system(org), obj.pk, services.VersionInput(SKILL_V2, reason="Shorter bullets"))
    add_config_object_to_plugin(Principal.system(org), crm_plugin, obj)
    access.grant(Principal.system(org), "config_object", obj.pk, "editor", membership_id=member.pk)
    target = factories.target(org, mappings=[("skills/**", "skill")])
    SourceBinding.objects.create(organization=org, target_id=target.pk, config_object=obj,
                                 path="skills/summarize.md", last_seen_revision="c0ffee" * 6)
    theirs = _object(other_org, SKILL_V1.replace("Summarize tickets", "Globex secret"))
    their_plugin = Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="Globex",
                                         version="1.0.0")
    add_config_object_to_plugin(Principal.system(other_org), their_plugin, theirs)

    page = admin_client.get(_url("configobject_change", obj.pk))
    html = page.content.decode()
    for panel in ("overview", "plugins", "source", "access", "versions"):
        assert f'id="panel-{panel}"' in html, panel
    assert "CRM (plugin-crm)" in html and 'class="badge badge-grey">Registered' in html
    assert "skills/summarize.md" in html and "acme/sales@main" in html  # its source, from connectors
    assert "member mia" in html
    assert "Shorter bullets" in html and "v2" in html and "Read the thread, then write three short bullets." in html
    assert "Globex" not in html and "plugin-globex" not in html
    assert 'name="_save"' not in html
    assert admin_client.get(_url("configobject_change", theirs.pk)).status_code in (302, 404)


def test_the_created_by_of_a_config_object_is_a_name_not_a_link_to_the_user_admin(admin_client, org, org_admin):
    obj, _ = services.create_config_object(Principal(organization=org, membership=org_admin, user=org_admin.user),
                                           "skill", "cloud", services.VersionInput(SKILL_V1))
    html = admin_client.get(_url("configobject_change", obj.pk)).content.decode()
    assert "<dd>ada</dd>" in html and "/admin/auth/user/" not in html


def test_the_versions_panel_pages_newest_first_with_numbers(admin_client, org):
    obj = _object(org)
    principal = Principal.system(org)
    for n in range(12):
        services.add_version(principal, obj.pk, services.VersionInput(SKILL_V1 + f"\nStep {n}.\n"))
    first = admin_client.get(_url("configobject_change", obj.pk))
    assert [v.number for v in first.context["versions"]] == list(range(13, 3, -1))
    second = admin_client.get(_url("configobject_change", obj.pk, versions_page=2))
    assert [v.number for v in second.context["versions"]] == [3, 2, 1]
    assert second.context["versions"][-1].pk == obj.versions.order_by("created_at").first().pk


def test_a_plugin_is_added_and_removed_from_the_page_and_the_membership_records_the_admin(
        admin_client, org, org_admin, crm_plugin, other_org):
    obj = _object(org)
    url = _url("configobject_bundle", obj.pk)
    response = admin_client.post(url, {"plugin": crm_plugin.pk, "action": "add"}, follow=True)
    assert "Added Summarize tickets to CRM (plugin-crm)." in response.content.decode()
    row = PluginConfigObject.objects.get(config_object=obj)
    assert (row.plugin, row.source, row.added_by, row.removed_at) == (crm_plugin, "admin", org_admin.user, None)
    page = admin_client.get(_url("configobject_change", obj.pk)).content.decode()
    assert 'data-plugin="plugin-crm"' in page and "<td>Admin</td>" in page

    foreign = Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="G", version="1.0.0")
    refused = admin_client.post(url, {"plugin": foreign.pk, "action": "add"}, follow=True)
    assert "Pick a plugin of Acme Corp" in refused.content.decode()
    assert not PluginConfigObject.objects.filter(plugin=foreign).exists()

    admin_client.post(url, {"plugin": crm_plugin.pk, "action": "remove"})
    row.refresh_from_db()
    assert row.removed_at is not None


def test_the_bundle_picker_is_an_autocomplete_of_the_organizations_plugins(admin_client, org, other_org,
                                                                           crm_plugin):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-crm-globex", name="CRM", version="1.0.0")
    obj = _object(org)
    html = admin_client.get(_url("configobject_change", obj.pk)).content.decode()
    assert 'id="id_bundle_plugin"' in html and "admin-autocomplete" in html
    found = admin_client.get(reverse("admin:autocomplete"), {
        "term": "crm", "app_label": "marketplaces", "model_name": "pluginconfigobject", "field_name": "plugin"})
    assert [r["id"] for r in found.json()["results"]] == [crm_plugin.pk]


def test_a_config_object_made_on_the_add_page_records_its_plugin_memberships_as_made_in_the_admin(
        admin_client, org, crm_plugin):
    admin_client.post(reverse("admin:marketplaces_configobject_add"), {
        "organization": org.pk, "type": "skill", "source_mode": "cloud", "plugins": [crm_plugin.pk],
        "raw_source_text": SKILL_V1, "normalized_payload_json": "", "schema_version": "", "reason": ""})
    assert PluginConfigObject.objects.get().source == MembershipSource.ADMIN


def test_any_two_versions_are_compared_with_the_selects_numbered_oldest_first(admin_client, org):
    obj = _object(org, "one\n", type_="context")
    principal = Principal.system(org)
    services.add_version(principal, obj.pk, services.VersionInput("one\ntwo\n", reason="add two"))
    third, _ = services.add_version(principal, obj.pk, services.VersionInput("one\ntwo\nthree"))
    first = obj.versions.order_by("created_at").first()
    page = admin_client.get(_url("configobject_compare", obj.pk, **{"from": first.pk, "to": third.pk}))
    html = page.content.decode()
    assert f'<option value="{first.pk}" selected>v1' in html and f'<option value="{third.pk}" selected>v3' in html
    assert "v2 &middot;" in html and "add two" in html
    assert page.context["lines"][3:] == [("context", " one"), ("added", "+two"), ("added", "+three"),
                                         ("note", "\\ No newline at end of file")]


def test_crlf_typed_in_the_textarea_is_stored_as_sent_and_its_digest_is_over_lf(admin_client, org):
    obj = _object(org)
    crlf = SKILL_V2.replace("\n", "\r\n")
    admin_client.post(_url("configobject_new_version", obj.pk),
                      {"raw_source_text": crlf, "base_version_id": obj.latest_version().pk})
    latest = obj.latest_version()
    assert latest.raw_source_text == crlf
    assert latest.sha256 == parse_version_input("skill", SKILL_V2, None).sha256
    # The same text with LF endings is no change.
    again = admin_client.post(_url("configobject_new_version", obj.pk),
                              {"raw_source_text": SKILL_V2, "base_version_id": latest.pk}, follow=True)
    assert "no new version was created" in again.content.decode() and obj.versions.count() == 2


def test_the_config_object_changelist_shows_status_badges_and_only_the_orgs_objects(admin_client, org,
                                                                                     other_org):
    mine = _object(org)
    services.archive_config_object(Principal.system(org), mine.pk)
    _object(other_org, SKILL_V1.replace("Summarize tickets", "Globex secret"))
    html = admin_client.get(reverse("admin:marketplaces_configobject_changelist")).content.decode()
    assert 'class="badge badge-grey">Archived' in html and "Globex secret" not in html


def test_the_config_object_page_costs_the_same_queries_with_1000_versions_plugins_grants_and_bindings(
        admin_client, org):
    obj = _object(org)
    target = factories.target(org)

    def grow():
        now = timezone.now()
        ConfigObjectVersion.objects.bulk_create(
            ConfigObjectVersion(config_object=obj, raw_source_text=f"{SKILL_V1}\nStep {i}.\n", sha256=f"{i:064d}",
                                created_at=now + timedelta(seconds=i)) for i in range(1000))
        plugins = _plugins(org, 1000)
        PluginConfigObject.objects.bulk_create(PluginConfigObject(organization=org, plugin=p, config_object=obj)
                                               for p in plugins)
        _grants(org, "config_object", obj.pk, _members(org, 1000))
        SourceBinding.objects.bulk_create(
            SourceBinding(organization=org, target_id=target.pk, config_object=obj, path=f"skills/{i}.md",
                          closed_at=now) for i in range(1000))

    _count, response = assert_flat(admin_client, _url("configobject_change", obj.pk), grow)
    assert response.context["version_total"] == 1001 and len(response.context["memberships"]) == 100


def test_the_config_object_changelist_costs_the_same_queries_with_1000_objects(admin_client, org):
    _object(org)
    assert_flat(admin_client, reverse("admin:marketplaces_configobject_changelist"), lambda: bulk_rows(org, 1000))


# The marketplace page


def test_the_marketplace_page_lists_its_plugins_by_name_and_explains_who_can_see_it(
        admin_client, org, other_org, crm_plugin, member):
    marketplace = create_marketplace(Principal.system(org), "Sales tools")
    add_plugin_to_marketplace(Principal.system(org), marketplace, crm_plugin)
    team = Team.objects.create(organization=org, slug="sales", name="Sales")
    system = Principal.system(org)
    access.grant(system, "marketplace", marketplace.pk, "viewer", team_id=team.pk)
    access.grant(system, "marketplace", marketplace.pk, "viewer", membership_id=member.pk)
    access.grant(system, "marketplace", marketplace.pk, "viewer", org_wide=True)
    theirs = create_marketplace(Principal.system(other_org), "Globex market")

    page = admin_client.get(_url("marketplace_change", marketplace.pk))
    html = page.content.decode()
    inline = page.context["inline_admin_formsets"][0]
    assert [row.plugin for row in inline.formset.queryset] == [crm_plugin]
    assert "CRM (plugin-crm)" in html and 'class="badge badge-grey">Registered' in html
    assert "Everyone in Acme Corp sees it (an org-wide grant" in html
    assert "Every member of team Sales sees it (a team grant" in html
    assert "mia sees it (a member grant" in html
    assert "Owners and admins of Acme Corp always see it." in html
    assert "Globex" not in html
    assert admin_client.get(_url("marketplace_change", theirs.pk)).status_code in (302, 404)


def test_an_archived_marketplace_without_grants_is_explained(admin_client, org):
    marketplace = create_marketplace(Principal.system(org), "Old tools")
    Marketplace.objects.filter(pk=marketplace.pk).update(status="archived")
    html = admin_client.get(_url("marketplace_change", marketplace.pk)).content.decode()
    assert "It is archived: members see it in no catalog" in html and "No grants: members do not see it" in html


def test_a_marketplaces_plugin_is_picked_with_an_autocomplete_of_the_organizations_plugins(admin_client, org,
                                                                                            crm_plugin):
    marketplace = create_marketplace(Principal.system(org), "Sales tools")
    page = admin_client.get(_url("marketplace_change", marketplace.pk))
    widget = page.context["inline_admin_formsets"][0].formset.empty_form.fields["plugin"].widget
    assert "admin-autocomplete" in widget.render("plugin", None)


def test_the_marketplace_page_costs_the_same_queries_with_1000_plugins_and_grants(admin_client, org, crm_plugin):
    marketplace = create_marketplace(Principal.system(org), "Sales tools")
    add_plugin_to_marketplace(Principal.system(org), marketplace, crm_plugin)

    def grow():
        MarketplacePlugin.objects.bulk_create(
            MarketplacePlugin(organization=org, marketplace=marketplace, plugin=p) for p in _plugins(org, 1000))
        _grants(org, "marketplace", marketplace.pk, _members(org, 1000))

    _count, response = assert_flat(admin_client, _url("marketplace_change", marketplace.pk), grow)
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.paginator.count == 1001 and len(formset.forms) == 25


def test_the_marketplace_changelist_costs_the_same_queries_with_1000_marketplaces(admin_client, org):
    create_marketplace(Principal.system(org), "Sales tools")
    _, response = assert_flat(admin_client, reverse("admin:marketplaces_marketplace_changelist"),
                              lambda: bulk_rows(org, 1000))
    assert 'class="badge badge-green">Active' in response.content.decode()


def test_a_member_added_later_is_named_in_the_marketplace_explanation(admin_client, org):
    user, _ = ensure_user("zoe", first_name="Zoe", last_name="Park")
    membership = add_member(org, user, Membership.Role.MEMBER)[0]
    marketplace = create_marketplace(Principal.system(org), "Sales tools")
    access.grant(Principal.system(org), "marketplace", marketplace.pk, "viewer", membership_id=membership.pk)
    assert "Zoe Park sees it" in admin_client.get(_url("marketplace_change", marketplace.pk)).content.decode()


def test_config_objects_listed_are_only_of_the_org_even_for_a_superuser_scoped_to_it(client, org, other_org,
                                                                                     django_user_model):
    _object(org)
    _object(other_org, SKILL_V1.replace("Summarize tickets", "Globex secret"))
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    client.post(reverse("admin:switch_organization"), {"organization": org.pk})
    html = client.get(reverse("admin:marketplaces_configobject_changelist")).content.decode()
    assert "Summarize tickets" in html and "Globex secret" not in html
    assert ConfigObject.objects.count() == 2

