"""The plugin's page in the admin: every tab with its real related rows, the lifecycle, release and catalog buttons
doing what the API does (the same refusals), the effective access explained, delete only when nothing depends on
the plugin, nothing of another organization, and query counts that do not grow with 1,000 rows of each kind."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from dependencies.models import PluginDependency
from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.config_objects.models import ConfigObject
from marketplaces.delivery.models import PluginRelease
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.plugins.models import LifecycleTransition, PermissionGrant, Plugin
from plexica.tenancy.models import ApiKey, Membership, Team
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user
from registry.models import PluginService, ServiceStatusTransition
from tests.adminsite.querycount import assert_flat

State = Plugin.LifecycleState
PANELS = ["catalog_actions", "deletion", "lifecycle_controls", "services", "gateway_calls", "tool_controls",
          "config_objects", "marketplaces_offering", "releases", "declared_dependencies", "dependents", "uninstall_check",
          "access_grants", "lifecycle_history", "change_history"]
TABS = ["overview", "lifecycle", "services", "gateway", "tools", "config-objects", "marketplaces", "releases",
        "dependencies", "capabilities", "permissions", "access", "history"]


def page_url(plugin):
    return reverse("admin:plugins_plugin_change", args=[quote(plugin.pk)])


def button_url(plugin, name):
    return reverse(f"admin:plugins_plugin_{name}", args=[quote(plugin.pk)])


def make_plugin(org, plugin_id, version="1.0.0", state=State.REGISTERED, name=None):
    return Plugin.objects.create(organization=org, plugin_id=plugin_id, name=name or plugin_id[7:].title(),
                                 version=version, lifecycle_state=state)


def depend(dependent, on, version="^1.0.0", required=True):
    return PluginDependency.objects.create(plugin=dependent, depends_on_plugin_id=on, version=version,
                                           required=required)


def panel(html, name):
    """The HTML of one panel section of the page."""
    match = re.search(rf'<section id="plugin-panel-{name}".*?</section>', html, re.DOTALL)
    assert match, f"no panel {name}"
    return match.group(0)


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def furnish(org, plugin, tag="crm", now=None):
    """One row of every kind the page shows, for `plugin` in `org`; returns the names to look for."""
    now = now or timezone.now()
    system = Principal.system(org)
    service = PluginService.objects.create(organization=org, plugin=plugin, service_name=f"{tag}.contacts",
                                           version="2.0.0", base_url="http://127.0.0.1:3100",
                                           last_seen_at=now - timedelta(minutes=3))
    ServiceStatusTransition.objects.create(organization=org, service=service, from_status="HEALTHY",
                                           to_status="DEGRADED", cause="sweep", at=now)
    obj = ConfigObject.objects.create(organization=org, type="skill", title=f"{tag} follow-up")
    PluginConfigObject.objects.create(organization=org, plugin=plugin, config_object=obj)
    marketplace = Marketplace.objects.create(organization=org, name=f"{tag} tools")
    MarketplacePlugin.objects.create(organization=org, marketplace=marketplace, plugin=plugin)
    access.grant(system, "marketplace", marketplace.pk, "viewer", org_wide=True)
    team = Team.objects.create(organization=org, slug=f"{tag}-team", name=f"{tag} team")
    access.grant(system, "plugin", plugin.pk, "editor", team_id=team.pk)
    PluginRelease.objects.create(organization=org, plugin=plugin, name=f"{tag}-2026.12", created_at=now)
    depend(plugin, f"plugin-{tag}-mail", "^2.0.0")
    sales = make_plugin(org, f"plugin-{tag}-sales", state=State.ACTIVE)
    depend(sales, plugin.plugin_id, "^1.0.0")
    PermissionGrant.objects.create(organization=org, plugin=plugin, permission=f"{tag}:contacts:read")
    LifecycleTransition.objects.create(organization=org, plugin=plugin, action="install", from_state="registered",
                                       to_state="installed", version="1.0.0", actor=f"{tag}-installer", via="api")
    return {"service": f"{tag}.contacts", "object": f"{tag} follow-up", "marketplace": f"{tag} tools",
            "team": f"{tag} team", "release": f"{tag}-2026.12", "dependency": f"plugin-{tag}-mail",
            "dependent": f"plugin-{tag}-sales", "permission": f"{tag}:contacts:read", "actor": f"{tag}-installer"}


@pytest.fixture
def foreign_staff(other_org):
    user, _ = ensure_user("gus", password="correct-horse-battery", is_staff=True)
    return add_member(other_org, user, Membership.Role.ADMIN)[0]


def test_the_page_shows_every_tab_and_panel_with_the_plugins_related_rows(client, org, org_admin, crm_plugin):
    names = furnish(org, crm_plugin)
    LogEntry.objects.log_actions(org_admin.user.pk, [crm_plugin], CHANGE, change_message="Renamed it",
                                 single_object=True)
    client.force_login(org_admin.user)
    response = client.get(page_url(crm_plugin))
    html = response.content.decode()

    assert [tab["key"] for tab in response.context["plugin_tabs"]] == TABS
    for key in TABS:
        assert f'id="plugin-tab-{key}"' in html and f'id="plugin-tabpanel-{key}"' in html
    assert "<title>CRM (plugin-crm)" in html or "CRM (plugin-crm)" in html
    services = panel(html, "services")
    assert names["service"] in services and "badge-green" in services and "3\xa0minutes ago" in services
    assert names["object"] in panel(html, "config_objects")
    marketplaces = panel(html, "marketplaces_offering")
    assert names["marketplace"] in marketplaces and "the whole organization" in marketplaces
    assert names["release"] in panel(html, "releases")
    assert names["dependency"] in panel(html, "declared_dependencies") and "Missing" in panel(
        html, "declared_dependencies")
    assert names["dependent"] in panel(html, "dependents")
    assert "Not applicable" in panel(html, "uninstall_check")  # it is registered
    access_panel = panel(html, "access_grants")
    assert "team crm team" in access_panel and "grant to the team" in access_panel
    assert "inherited through" in access_panel and names["marketplace"] in access_panel
    assert "No active grants" not in access_panel
    assert names["actor"] in panel(html, "lifecycle_history")
    assert "Renamed it" in panel(html, "change_history")
    permissions = response.context["plugin_tabs"][TABS.index("permissions")]["inlines"][0]
    assert [g.permission for g in permissions.formset.queryset] == [names["permission"]]


def test_a_plugin_everyone_sees_through_a_marketplace_is_not_said_to_be_for_admins_only(client, org, org_admin,
                                                                                        crm_plugin):
    client.force_login(org_admin.user)
    assert "No active grants: only org admins have access." in panel(client.get(page_url(crm_plugin)).content.decode(),
                                                                     "access_grants")
    marketplace = Marketplace.objects.create(organization=org, name="Sales tools")
    MarketplacePlugin.objects.create(organization=org, marketplace=marketplace, plugin=crm_plugin)
    access.grant(Principal.system(org), "marketplace", marketplace.pk, "viewer", org_wide=True)

    access_panel = panel(client.get(page_url(crm_plugin)).content.decode(), "access_grants")
    assert "No active grants" not in access_panel
    assert "the whole organization" in access_panel and "marketplace Sales tools" in access_panel


def test_another_organizations_rows_never_appear_on_the_page(client, org, other_org, org_admin, crm_plugin):
    theirs = make_plugin(other_org, "plugin-crm", name="Their CRM")  # the same plugin id, in another organization
    furnish(other_org, theirs, tag="globex")
    depend(make_plugin(other_org, "plugin-globex-erp", state=State.ACTIVE), "plugin-crm")
    client.force_login(org_admin.user)
    html = client.get(page_url(crm_plugin)).content.decode()
    assert "globex" not in html.lower() and "Their CRM" not in html
    assert client.get(page_url(theirs)).status_code in (302, 404)


def test_the_lifecycle_buttons_take_the_plugin_through_its_lifecycle_as_the_admin(client, org, org_admin,
                                                                                 crm_plugin):
    client.force_login(org_admin.user)
    url = button_url(crm_plugin, "lifecycle")
    for action, state, message in [("install", State.INSTALLED, "Installed plugin-crm 1.0.0."),
                                   ("enable", State.ACTIVE, "Enabled plugin-crm."),
                                   ("disable", State.DISABLED, "Disabled plugin-crm."),
                                   ("uninstall", State.UNINSTALLED, "Uninstalled plugin-crm.")]:
        response = client.post(url, {"action": action})
        assert response.status_code == 302 and response["Location"] == page_url(crm_plugin) + "#tab-lifecycle"
        assert messages_of(client.get(response["Location"])) == [message]
        crm_plugin.refresh_from_db()
        assert crm_plugin.lifecycle_state == state
    transitions = LifecycleTransition.objects.filter(plugin=crm_plugin)
    assert {t.via for t in transitions} == {"admin"} and {t.actor for t in transitions} == {"ada"}


def test_install_blocked_by_an_unmet_required_dependency_shows_why_and_refuses_as_the_api(client, api, org, org_key,
                                                                                          org_admin):
    analytics = make_plugin(org, "plugin-analytics")
    depend(analytics, "plugin-crm", "^2.0.0")
    make_plugin(org, "plugin-crm", "1.5.0", State.ACTIVE)
    client.force_login(org_admin.user)

    controls = panel(client.get(page_url(analytics)).content.decode(), "lifecycle_controls")
    install = re.search(r'<button[^>]*id="plugin-lifecycle-install"[^>]*>.*?</span>', controls, re.DOTALL).group(0)
    assert "disabled" in install and "Version mismatch: plugin-crm@1.5.0 does not satisfy ^2.0.0" in install

    response = client.post(button_url(analytics, "lifecycle"), {"action": "install"}, follow=True)
    api_error = api(org_key.token).post("/api/v1/plugins/plugin-analytics/install", {"version": "1.0.0"},
                                     format="json").json()["error"]
    assert messages_of(response) == [
        f"{api_error['message']} {'; '.join(api_error['details']['errors'])}"
    ] == [("Cannot install plugin-analytics: its required dependencies are not satisfied. "
           "Version mismatch: plugin-crm@1.5.0 does not satisfy ^2.0.0")]
    analytics.refresh_from_db()
    assert analytics.lifecycle_state == State.REGISTERED


def test_uninstall_blocked_by_an_installed_dependent_shows_why_and_refuses_as_the_api(client, org, org_admin):
    crm = make_plugin(org, "plugin-crm", state=State.ACTIVE)
    depend(make_plugin(org, "plugin-sales", state=State.ACTIVE), "plugin-crm")
    client.force_login(org_admin.user)

    html = client.get(page_url(crm)).content.decode()
    uninstall = re.search(r'<button[^>]*id="plugin-lifecycle-uninstall"[^>]*>.*?</span>',
                          panel(html, "lifecycle_controls"), re.DOTALL).group(0)
    assert "disabled" in uninstall and "plugin-sales (Required dependency)" in uninstall
    assert "badge-red\">No</span>" in panel(html, "uninstall_check") and "plugin-sales" in panel(html,
                                                                                                  "uninstall_check")
    enable = re.search(r'<button[^>]*id="plugin-lifecycle-enable"[^>]*>', html).group(0)
    assert "disabled" in enable  # it is active already
    disable = re.search(r'<button[^>]*id="plugin-lifecycle-disable"[^>]*>', html).group(0)
    assert "disabled" not in disable and 'formaction="' + button_url(crm, "lifecycle") + '"' in disable

    response = client.post(button_url(crm, "lifecycle"), {"action": "uninstall"}, follow=True)
    assert messages_of(response) == [
        "Cannot uninstall plugin-crm: installed plugins require it. Blocked by: plugin-sales (Required dependency)."
    ]
    crm.refresh_from_db()
    assert crm.lifecycle_state == State.ACTIVE


def test_the_buttons_are_refused_to_another_organizations_staff_and_to_get(client, org, crm_plugin, foreign_staff):
    client.force_login(foreign_staff.user)
    for name, data in [("lifecycle", {"action": "install"}), ("archive", {}), ("restore", {}),
                       ("release_pin", {"release": "rel_x"}), ("release_unpin", {}),
                       ("release_create", {"release_name": "x"})]:
        assert client.post(button_url(crm_plugin, name), data).status_code in (403, 404)
    crm_plugin.refresh_from_db()
    assert crm_plugin.lifecycle_state == State.REGISTERED and crm_plugin.catalog_status == "active"


def test_the_buttons_answer_only_post(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    assert client.get(button_url(crm_plugin, "lifecycle")).status_code == 405


def test_an_unknown_lifecycle_action_is_refused_with_a_message(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    response = client.post(button_url(crm_plugin, "lifecycle"), {"action": "explode"}, follow=True)
    assert messages_of(response) == ["Choose install, enable, disable or uninstall."]


def test_pin_and_unpin_a_release_from_the_page(client, org, org_admin, crm_plugin):
    old = PluginRelease.objects.create(organization=org, plugin=crm_plugin, name="2026.11",
                                       created_at=timezone.now() - timedelta(days=30))
    new = PluginRelease.objects.create(organization=org, plugin=crm_plugin, name="2026.12")
    client.force_login(org_admin.user)
    html = panel(client.get(page_url(crm_plugin)).content.decode(), "releases")
    assert f'id="release-pin-{new.pk}"' in html and "rolling latest" in html

    response = client.post(button_url(crm_plugin, "release_pin"), {"release": old.pk}, follow=True)
    assert messages_of(response) == ["Pinned 2026.11 for CRM (plugin-crm): delivery serves it."]
    response = client.post(button_url(crm_plugin, "release_pin"), {"release": new.pk}, follow=True)
    assert messages_of(response) == ["Pinned 2026.12 for CRM (plugin-crm) (unpinned 2026.11): delivery serves it."]
    assert list(PluginRelease.objects.filter(pinned_at__isnull=False)) == [new]
    html = panel(response.content.decode(), "releases")
    assert f'id="release-unpin-{new.pk}"' in html and "pinned release <strong>2026.12</strong>" in html

    response = client.post(button_url(crm_plugin, "release_unpin"), follow=True)
    assert messages_of(response) == ["Unpinned 2026.12: delivery serves the latest again."]
    assert not PluginRelease.objects.filter(pinned_at__isnull=False).exists()
    response = client.post(button_url(crm_plugin, "release_pin"), {"release": "rel_nope"}, follow=True)
    assert messages_of(response) == ["Plugin plugin-crm has no release rel_nope."]


def test_cut_a_release_from_the_page_snapshots_the_latest_versions_and_may_pin_it(client, org, org_admin,
                                                                                  crm_plugin):
    from marketplaces.catalog.services.bundles import create_config_object_in_plugins
    from marketplaces.config_objects.services import VersionInput

    obj, _ = create_config_object_in_plugins(Principal.system(org), "skill", "cloud", VersionInput(
        raw_source_text="---\nname: follow-up\n---\nCall back.\n"), plugin_ids=["plugin-crm"])
    client.force_login(org_admin.user)
    html = panel(client.get(page_url(crm_plugin)).content.decode(), "releases")
    assert 'id="release-create-button"' in html and 'name="release_name"' in html

    response = client.post(button_url(crm_plugin, "release_create"),
                           {"release_name": "2026.12", "release_notes": "December", "release_pin": "1"}, follow=True)
    assert messages_of(response) == ["Made release 2026.12 of CRM (plugin-crm) with 1 item, pinned: delivery serves it."]
    release = PluginRelease.objects.get(plugin=crm_plugin)
    assert (release.name, release.notes, release.created_by) == ("2026.12", "December", org_admin.user)
    assert release.pinned_at is not None
    assert [item.config_object_id for item in release.items.all()] == [obj.pk]

    response = client.post(button_url(crm_plugin, "release_create"), {"release_name": "x" * 101}, follow=True)
    assert messages_of(response) == ["A release name has at most 100 characters."]
    assert PluginRelease.objects.filter(plugin=crm_plugin).count() == 1


def test_archive_and_restore_from_the_page_through_the_catalog(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    response = client.post(button_url(crm_plugin, "archive"), follow=True)
    assert messages_of(response) == ["Archived CRM (plugin-crm)."]
    crm_plugin.refresh_from_db()
    assert crm_plugin.catalog_status == "archived"
    catalog = panel(response.content.decode(), "catalog_actions")
    assert re.search(r'<button[^>]*id="plugin-archive"[^>]*disabled|disabled[^>]*id="plugin-archive"', catalog)
    response = client.post(button_url(crm_plugin, "archive"), follow=True)
    assert messages_of(response)[0].startswith("Plugin plugin-crm")  # the service's own Conflict
    response = client.post(button_url(crm_plugin, "restore"), follow=True)
    assert messages_of(response) == ["Restored CRM (plugin-crm)."]
    crm_plugin.refresh_from_db()
    assert crm_plugin.catalog_status == "active"


def test_the_catalog_status_changes_only_through_archive_and_restore(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    form = {"plugin_id": "plugin-crm", "name": "CRM", "description": "", "version": "1.0.0", "manifest": "{}",
            "catalog_status": "archived",
            "permission_grants-TOTAL_FORMS": "0", "permission_grants-INITIAL_FORMS": "0",
            "permission_grants-MIN_NUM_FORMS": "0", "permission_grants-MAX_NUM_FORMS": "1000"}
    assert client.post(page_url(crm_plugin), form).status_code == 302
    crm_plugin.refresh_from_db()
    assert crm_plugin.catalog_status == "active"


def test_a_plugin_something_depends_on_is_not_deleted_and_the_page_says_why(client, org, org_admin, crm_plugin):
    furnish(org, crm_plugin)
    ApiKey.objects.create(organization=org, name="crm key", prefix="plx_abc", key_hash="0" * 64, plugin=crm_plugin)
    client.force_login(org_admin.user)
    response = client.get(page_url(crm_plugin))
    deletion = panel(response.content.decode(), "deletion")
    for reason in ["API keys act as it (crm key)", "other plugins depend on it (plugin-crm-sales)",
                   "registered services (crm.contacts)", "marketplaces offer it (crm tools)",
                   "it bundles 1 config object", "it has 1 release"]:
        assert reason in deletion
    assert 'id="plugin-delete"' in deletion and "disabled" in deletion
    assert not response.context["show_delete_link"] if "show_delete_link" in response.context else True

    response = client.post(reverse("admin:plugins_plugin_delete", args=[quote(crm_plugin.pk)]), {"post": "yes"},
                           follow=True)
    assert messages_of(response)[0].startswith("Cannot delete CRM (plugin-crm): ")
    assert Plugin.objects.filter(pk=crm_plugin.pk).exists()


def test_a_plugin_nothing_depends_on_is_deleted_with_its_history_and_grants(client, org, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    for action in ("install", "uninstall"):
        client.post(button_url(crm_plugin, "lifecycle"), {"action": action})
    access.grant(Principal.system(org), "plugin", crm_plugin.pk, "viewer", org_wide=True)
    deletion = panel(client.get(page_url(crm_plugin)).content.decode(), "deletion")
    assert "Nothing depends on this plugin" in deletion

    confirm = client.get(reverse("admin:plugins_plugin_delete", args=[quote(crm_plugin.pk)]))
    assert confirm.status_code == 200 and not confirm.context["perms_lacking"]
    response = client.post(reverse("admin:plugins_plugin_delete", args=[quote(crm_plugin.pk)]), {"post": "yes"})
    assert response.status_code == 302
    assert not Plugin.objects.filter(pk=crm_plugin.pk).exists()
    assert not LifecycleTransition.objects.exists()
    assert not AccessGrant.objects.filter(resource_id=crm_plugin.pk, revoked_at__isnull=True).exists()


def test_the_plugin_changelist_names_plugins_with_status_badges_and_no_bulk_delete(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    response = client.get(reverse("admin:plugins_plugin_changelist"))
    html = response.content.decode()
    assert "CRM (plugin-crm)" in html and 'class="badge badge-grey">Registered</span>' in html
    assert "delete_selected" not in response.context["action_form"].fields["action"].choices.__repr__()


@pytest.mark.parametrize("name", ["plugins_lifecycletransition", "registry_servicestatustransition"])
def test_audit_logs_offer_no_delete_nor_save(client, org, org_admin, crm_plugin, name):
    transition = LifecycleTransition.objects.create(organization=org, plugin=crm_plugin, action="install",
                                                    from_state="registered", to_state="installed", version="1.0.0",
                                                    actor="ada", via="api")
    if name.startswith("registry"):
        service = PluginService.objects.create(organization=org, plugin=crm_plugin, service_name="crm.contacts",
                                               version="1.0.0")
        transition = ServiceStatusTransition.objects.create(organization=org, service=service, from_status="HEALTHY",
                                                            to_status="DEGRADED", cause="sweep")
    client.force_login(org_admin.user)
    changelist = client.get(reverse(f"admin:{name}_changelist"))
    assert changelist.status_code == 200 and "delete_selected" not in changelist.content.decode()
    assert "badge-" in changelist.content.decode()
    change = client.get(reverse(f"admin:{name}_change", args=[quote(transition.pk)]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert client.post(reverse(f"admin:{name}_delete", args=[quote(transition.pk)]), {"post": "yes"}).status_code == 403


# Query counts: the page and the lists must not grow with their rows


def grow_one_plugin(org, plugin, n=1000):
    """`n` rows of every kind the plugin's page shows, all of `plugin`."""
    now = timezone.now()
    services = PluginService.objects.bulk_create(
        PluginService(organization=org, plugin=plugin, service_name=f"crm.svc{i:04d}", version="1.0.0",
                      last_seen_at=now - timedelta(seconds=i * 7)) for i in range(n))
    ServiceStatusTransition.objects.bulk_create(
        ServiceStatusTransition(organization=org, service=s, from_status="HEALTHY", to_status="DEGRADED",
                                cause="sweep") for s in services)
    objects = ConfigObject.objects.bulk_create(ConfigObject(organization=org, type="skill", title=f"Object {i:04d}")
                                               for i in range(n))
    PluginConfigObject.objects.bulk_create(PluginConfigObject(organization=org, plugin=plugin, config_object=o)
                                           for o in objects)
    marketplaces = Marketplace.objects.bulk_create(Marketplace(organization=org, name=f"Market {i:04d}")
                                                   for i in range(n))
    MarketplacePlugin.objects.bulk_create(MarketplacePlugin(organization=org, marketplace=m, plugin=plugin)
                                          for m in marketplaces)
    AccessGrant.objects.bulk_create(
        AccessGrant(organization=org, resource_type="marketplace", resource_id=m.pk, org_wide=True, role="viewer",
                    subject_key="org") for m in marketplaces)
    teams = Team.objects.bulk_create(Team(organization=org, slug=f"team-{i:04d}", name=f"Team {i:04d}")
                                     for i in range(n))
    AccessGrant.objects.bulk_create(
        AccessGrant(organization=org, resource_type="plugin", resource_id=plugin.pk, team=t, role="viewer",
                    subject_key=f"team:{t.pk}") for t in teams)
    PluginRelease.objects.bulk_create(PluginRelease(organization=org, plugin=plugin, name=f"r{i:04d}")
                                      for i in range(n))
    PluginDependency.objects.bulk_create(
        PluginDependency(organization=org, plugin=plugin, depends_on_plugin_id=f"plugin-need-{i:04d}", version="*",
                         required=False) for i in range(n))
    others = Plugin.objects.bulk_create(Plugin(organization=org, plugin_id=f"plugin-user-{i:04d}", name=f"User {i}",
                                               lifecycle_state=State.ACTIVE) for i in range(n))
    PluginDependency.objects.bulk_create(
        PluginDependency(organization=org, plugin=o, depends_on_plugin_id=plugin.plugin_id, version="*",
                         required=False) for o in others)
    PermissionGrant.objects.bulk_create(PermissionGrant(organization=org, plugin=plugin, permission=f"crm:{i}:read")
                                        for i in range(n))
    LifecycleTransition.objects.bulk_create(
        LifecycleTransition(organization=org, plugin=plugin, action="install", from_state="registered",
                            to_state="installed", version="1.0.0", actor="bulk", via="api") for i in range(n))
    ApiKey.objects.bulk_create(ApiKey(organization=org, name=f"key {i}", prefix=f"plx_{i:04d}",
                                      key_hash=f"{i:064d}", plugin=plugin) for i in range(n))
    content_type = ContentType.objects.get_for_model(Plugin)
    user_id = Membership.objects.filter(organization=org).values_list("user_id", flat=True).first()
    LogEntry.objects.bulk_create(LogEntry(content_type=content_type, object_id=plugin.pk, object_repr=str(plugin),
                                          action_flag=CHANGE, change_message="bulk", user_id=user_id)
                                 for _ in range(n))


def test_the_plugin_page_does_the_same_queries_with_1000_rows_of_each_kind(client, org, org_admin, crm_plugin):
    furnish(org, crm_plugin)
    client.force_login(org_admin.user)
    _count, response = assert_flat(client, page_url(crm_plugin), lambda: grow_one_plugin(org, crm_plugin),
                                   ceiling=90)
    html = response.content.decode()
    assert "Showing 25 of 1,001 services" in html and "Showing 25 of 1,001 releases" in html


@pytest.mark.parametrize("name", ["plugins_plugin", "registry_pluginservice", "dependencies_plugindependency",
                                  "marketplaces_pluginrelease", "plugins_lifecycletransition",
                                  "registry_servicestatustransition"])
def test_the_lists_do_the_same_queries_with_1000_rows(client, org, org_admin, crm_plugin, name):
    furnish(org, crm_plugin)
    client.force_login(org_admin.user)
    assert_flat(client, reverse(f"admin:{name}_changelist"), lambda: grow_one_plugin(org, crm_plugin))
