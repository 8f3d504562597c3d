"""Admin of plugin dependencies, and what this app adds to the Plugin admin.

The Plugin admin belongs to the core (plexica.plugins.admin); the lifecycle actions need this app's checks,
so DependenciesConfig.ready() contributes them, the dependencies panel and the read-only lifecycle state
(it changes only through the actions) through plexica.plugins.admin_extensions.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize
from django.utils.html import format_html, format_html_join

from dependencies import lifecycle
from dependencies.models import PluginDependency
from plexica.errors import DomainError
from plexica.tenancy.admin import OrganizationScopedAdmin, admin_principal

_DONE = {
    lifecycle.Action.INSTALL: "Installed",
    lifecycle.Action.ENABLE: "Enabled",
    lifecycle.Action.DISABLE: "Disabled",
    lifecycle.Action.UNINSTALL: "Uninstalled",
}


@admin.register(PluginDependency)
class PluginDependencyAdmin(OrganizationScopedAdmin):
    """What each plugin needs: another plugin (by id, possibly not in the catalog) in an npm version range."""

    fields = ["plugin", "depends_on_plugin_id", "version", "required", "created_at"]
    readonly_fields = ["created_at"]
    list_display = ["plugin", "depends_on_plugin_id", "version", "required", "organization", "created_at"]
    list_filter = ["required", "organization"]
    list_select_related = ["plugin", "organization"]
    search_fields = ["plugin__plugin_id", "depends_on_plugin_id", "version"]
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        obj.organization_id = obj.plugin.organization_id
        super().save_model(request, obj, form, change)


@admin.display(description="dependencies")
def declared_dependencies(plugin):
    """The plugin page's panel of what the plugin depends on."""
    dependencies = plugin.dependencies.all()
    if not dependencies:
        return "None declared."
    rows = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((d.depends_on_plugin_id, d.version, "required" if d.required else "optional") for d in dependencies),
    )
    return format_html(
        "<table><thead><tr><th>plugin</th><th>version range</th><th></th></tr></thead><tbody>{}</tbody></table>"
        "<p class=\"help\">Declared by the plugin through the gateway; edit them under Plugin dependencies.</p>",
        rows,
    )


def lifecycle_readonly_fields(request, plugin):
    """The lifecycle state changes only through the actions; an installed version only by uninstalling and
    installing again."""
    return ["lifecycle_state", "version"] if plugin is not None and plugin.is_installed else ["lifecycle_state"]


def _change_lifecycle(model_admin, request, queryset, action):
    """Apply `action` to each selected plugin as the admin user, with the API's checks; report each refusal
    as the API does.

    Plugins are retried while any succeeds, so selecting a plugin together with its dependencies
    works whatever their order (each success may unblock another).
    """
    pending = list(queryset.select_related("organization").order_by("organization__slug", "plugin_id"))
    done, refusals = [], {}
    while pending:
        still_pending = []
        for plugin in pending:
            try:
                changed = lifecycle.change_lifecycle(
                    admin_principal(request, plugin.organization), plugin.plugin_id, action, via=lifecycle.Via.ADMIN
                )
            except (DomainError, ValidationError) as error:
                refusals[plugin.pk] = lifecycle.explain(error)
                still_pending.append(plugin)
            else:
                refusals.pop(plugin.pk, None)
                done.append(changed)
        if len(still_pending) == len(pending):
            break
        pending = still_pending
    if done:
        names = ", ".join(f"{p.plugin_id} {p.version}" if action == lifecycle.Action.INSTALL else p.plugin_id
                          for p in done)
        model_admin.message_user(
            request, f"{_DONE[action]} {len(done)} plugin{pluralize(len(done))}: {names}.", messages.SUCCESS
        )
    for message in refusals.values():
        model_admin.message_user(request, message, messages.ERROR)


@admin.action(description="Install selected plugins (at their current version)", permissions=["change"])
def install_selected(model_admin, request, queryset):
    _change_lifecycle(model_admin, request, queryset, lifecycle.Action.INSTALL)


@admin.action(description="Enable selected plugins", permissions=["change"])
def enable_selected(model_admin, request, queryset):
    _change_lifecycle(model_admin, request, queryset, lifecycle.Action.ENABLE)


@admin.action(description="Disable selected plugins", permissions=["change"])
def disable_selected(model_admin, request, queryset):
    _change_lifecycle(model_admin, request, queryset, lifecycle.Action.DISABLE)


@admin.action(description="Uninstall selected plugins (deregisters their services)", permissions=["change"])
def uninstall_selected(model_admin, request, queryset):
    _change_lifecycle(model_admin, request, queryset, lifecycle.Action.UNINSTALL)


LIFECYCLE_ACTIONS = [install_selected, enable_selected, disable_selected, uninstall_selected]
