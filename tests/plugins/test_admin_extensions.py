"""One Plugin admin, the core's: what other apps contribute reaches it whatever order they register in."""

from collections import defaultdict

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import RequestFactory
from django.urls import reverse

from dependencies.models import PluginDependency
from plexica.plugins.admin import PermissionGrantInline, PluginAdmin
from plexica.plugins.admin_extensions import (
    ACTION,
    INLINE,
    PANEL,
    TAB,
    Contribution,
    PluginAdminExtensions,
    plugin_admin_extensions,
)
from plexica.plugins.models import Plugin
from plexica.tenancy.admin import ReadOnlyOrganizationScopedInline

LIFECYCLE_ACTIONS = ["install_selected", "enable_selected", "disable_selected", "uninstall_selected"]


def _request(user):
    request = RequestFactory().get("/admin/plugins/plugin/")
    request.user = user
    return request


def _page(model_admin, request, plugin):
    """What the admin shows: add and change fields, read-only fields, inlines, actions (in their order)."""
    return {
        "add fields": list(model_admin.get_fields(request, None)),
        "change fields": list(model_admin.get_fields(request, plugin)),
        "read-only": list(model_admin.get_readonly_fields(request, plugin)),
        "inlines": list(model_admin.get_inlines(request, plugin)),
        "actions": list(model_admin.get_actions(request)),
        "list display": list(model_admin.get_list_display(request)),
        "tabs": [(tab.key, panels) for tab, panels in model_admin.extensions.tabs()],
        "views": [name for name, _view in model_admin.extensions.views()],
    }


def _rebuilt(contributions):
    fresh = PluginAdminExtensions()
    for contribution in contributions:
        fresh.add(contribution)
    model_admin = PluginAdmin(Plugin, admin.site)
    model_admin.extensions = fresh
    return model_admin


def test_the_registered_plugin_admin_is_the_cores_own_class():
    assert type(admin.site._registry[Plugin]) is PluginAdmin


def test_the_plugin_admin_has_every_apps_contribution(org_admin, crm_plugin):
    page = _page(admin.site._registry[Plugin], _request(org_admin.user), crm_plugin)

    assert page["tabs"] == [
        ("overview", ["catalog_actions", "deletion"]),
        ("lifecycle", ["lifecycle_controls"]),
        ("services", ["status", "services"]),
        ("gateway", ["gateway_calls"]),
        ("tools", ["tool_controls"]),
        ("config-objects", ["config_objects"]),
        ("marketplaces", ["marketplaces_offering"]),
        ("releases", ["releases"]),
        ("dependencies", ["declared_dependencies", "dependents", "uninstall_check"]),
        ("capabilities", ["capability_controls"]),
        ("permissions", []),
        ("access", ["access_grants"]),
        ("history", ["lifecycle_history", "change_history"]),
    ]
    assert set(page["views"]) == {"capabilities", "lifecycle", "archive", "restore", "release_create", "release_pin",
                                  "release_unpin", "tools"}
    assert "lifecycle_badge" in page["change fields"] and "lifecycle_badge" not in page["add fields"]
    assert {"lifecycle_badge", "catalog_badge"} <= set(page["read-only"])
    assert page["inlines"] == [PermissionGrantInline]
    # A plugin is deleted from its page, where what depends on it is shown, never in bulk.
    assert page["actions"] == LIFECYCLE_ACTIONS


@pytest.mark.parametrize("app_order", ["as installed", "reversed"])
def test_contributions_reach_the_admin_the_same_whatever_order_their_apps_register_in(org_admin, crm_plugin,
                                                                                     app_order):
    by_app = defaultdict(list)
    for contribution in plugin_admin_extensions.contributions():
        module = contribution.value.__module__ if contribution.kind != TAB else "tabs"  # a tab's value is its label
        config = apps.get_containing_app_config(module)
        by_app[config.label if config else module].append(contribution)
    assert len(by_app) >= 2  # otherwise there would be no order between apps to speak of
    labels = [config.label for config in apps.get_app_configs() if config.label in by_app] + ["tabs"]
    if app_order == "reversed":
        labels = labels[::-1]
        by_app = {label: contributions[::-1] for label, contributions in by_app.items()}
    rebuilt = _rebuilt(contribution for label in labels for contribution in by_app[label])

    request = _request(org_admin.user)
    assert _page(rebuilt, request, crm_plugin) == _page(admin.site._registry[Plugin], request, crm_plugin)


def test_a_contributed_inline_comes_after_the_permissions_on_the_change_page(client, org_admin, crm_plugin,
                                                                           monkeypatch):
    class DependencyInline(ReadOnlyOrganizationScopedInline):
        model = PluginDependency
        fields = ["depends_on_plugin_id", "version"]
        readonly_fields = fields
        plugin_tab = "dependencies"

    PluginDependency.objects.create(plugin=crm_plugin, depends_on_plugin_id="plugin-mail", version="^2.1.0")
    extensions = PluginAdminExtensions()
    for contribution in plugin_admin_extensions.contributions():
        extensions.add(contribution)
    extensions.add(Contribution(INLINE, "dependency-inline", DependencyInline, 100))
    monkeypatch.setattr(admin.site._registry[Plugin], "extensions", extensions)
    client.force_login(org_admin.user)

    page = client.get(reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)]))
    formsets = page.context["inline_admin_formsets"]
    assert [formset.opts.__class__ for formset in formsets] == [PermissionGrantInline, DependencyInline]
    tabs = {tab["key"]: [formset.opts.__class__ for formset in tab["inlines"]] for tab in page.context["plugin_tabs"]}
    assert tabs["permissions"] == [PermissionGrantInline] and tabs["dependencies"] == [DependencyInline]
    assert "^2.1.0" in page.content.decode()


def test_two_apps_cannot_contribute_under_one_name():
    extensions = PluginAdminExtensions()

    def first(model_admin, request, queryset):
        pass

    extensions.add(Contribution(ACTION, "archive_selected", first, 10))
    extensions.add(Contribution(ACTION, "archive_selected", first, 10))  # the same again: a no-op
    with pytest.raises(ValueError, match="archive_selected"):
        extensions.add(Contribution(ACTION, "archive_selected", lambda *args: None, 20))
    assert extensions.actions() == [first]


def test_a_panel_in_a_tab_nobody_declared_gets_a_tab_of_its_own_at_its_place():
    model_admin = _rebuilt([Contribution(TAB, "overview", "Overview", 0), Contribution(TAB, "history", "History", 90),
                            Contribution(PANEL, "usage", lambda request, plugin: "", 50, "usage-stats")])
    assert [(tab.key, tab.label, panels) for tab, panels in model_admin.extensions.tabs()] == [
        ("overview", "Overview", []), ("usage-stats", "Usage stats", ["usage"]), ("history", "History", [])]
