"""Admin of plugin dependencies, and what this app adds to the Plugin admin.

The Plugin admin belongs to the core (plexica.plugins.admin); the lifecycle needs this app's checks, so
DependenciesConfig.ready() contributes, through plexica.plugins.admin_extensions: the lifecycle tab (the
install / enable / disable / uninstall buttons, disabled with the reason when they cannot apply, and the view
they POST to), the dependencies tab (what the plugin needs, what needs it, whether it can be uninstalled), the
delete check (nothing may depend on a deleted plugin), the bulk lifecycle actions of the changelist, and the
read-only lifecycle state (it changes only through the lifecycle).
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.template.defaultfilters import pluralize
from django.utils.html import format_html, format_html_join

from dependencies import lifecycle, services
from dependencies.models import PluginDependency
from dependencies.ranges import satisfies
from plexica.adminsite.badges import badge, status_badge
from plexica.errors import DomainError
from plexica.plugins.admin import PANEL_ROWS, more_link, plugin_page_url, post_button, table
from plexica.plugins.lifecycle import target_state
from plexica.plugins.models import Plugin
from plexica.tenancy.admin import OrganizationScopedAdmin, admin_principal, admin_url

_DONE = {
    lifecycle.Action.INSTALL: "Installed",
    lifecycle.Action.ENABLE: "Enabled",
    lifecycle.Action.DISABLE: "Disabled",
    lifecycle.Action.UNINSTALL: "Uninstalled",
}


def _installed_version():
    """The installed version of the depended-on plugin in the dependency's organization (None: not installed)."""
    return Subquery(Plugin.objects.filter(organization=OuterRef("organization"),
                                          plugin_id=OuterRef("depends_on_plugin_id"),
                                          lifecycle_state__in=Plugin.INSTALLED_STATES).values("version")[:1])


def dependency_status(dependency, installed_version):
    """The badge of one edge against what is installed: satisfied, missing, or a version mismatch."""
    if installed_version is None:
        return badge("Missing", "red" if dependency.required else "yellow")
    if not satisfies(installed_version, dependency.version or "*"):
        return badge(f"Mismatch: {installed_version}", "red" if dependency.required else "yellow")
    return badge(f"Satisfied: {installed_version}", "green")


@admin.register(PluginDependency)
class PluginDependencyAdmin(OrganizationScopedAdmin):
    """What each plugin needs: another plugin (by id, possibly not in the catalog) in an npm version range."""

    fields = ["plugin", "depends_on_plugin_id", "version", "required", "created_at"]
    readonly_fields = ["created_at"]
    list_display = ["plugin", "depends_on_plugin_id", "version", "required_badge", "status", "organization",
                    "created_at"]
    list_filter = ["required", "organization"]
    list_select_related = ["plugin", "organization"]
    search_fields = ["plugin__plugin_id", "plugin__name", "depends_on_plugin_id", "version"]
    autocomplete_fields = ["plugin"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(installed_version=_installed_version())

    @admin.display(description="required", ordering="required")
    def required_badge(self, dependency):
        return badge("Required", "blue") if dependency.required else badge("Optional", "grey")

    @admin.display(description="now")
    def status(self, dependency):
        return dependency_status(dependency, getattr(dependency, "installed_version", None))

    def save_model(self, request, obj, form, change):
        obj.organization_id = obj.plugin.organization_id
        super().save_model(request, obj, form, change)


# The plugin page: what this app asks once per page (the graph questions, as the admin user)


def _answers(request, plugin):
    """The resolution, dependents and uninstall blockers of `plugin`, asked once per request."""
    cache = request.__dict__.setdefault("_plexica_dependency_answers", {})
    if plugin.pk not in cache:
        principal = admin_principal(request, plugin.organization)
        cache[plugin.pk] = {
            "resolution": services.resolve_dependencies(principal, plugin.plugin_id),
            "dependents": services.get_dependents(principal, plugin.plugin_id),
            "blockers": services.uninstall_blockers(principal, plugin.plugin_id),
        }
    return cache[plugin.pk]


def lifecycle_blocked_reason(request, plugin, action):
    """Why `action` cannot apply to `plugin` now ("" when it can): its state, unmet required dependencies,
    or installed plugins that require it. The service decides on the POST; this only explains the buttons."""
    try:
        target_state(plugin, action)
    except DomainError as error:
        return error.message
    answers = _answers(request, plugin)
    if action in (lifecycle.Action.INSTALL, lifecycle.Action.ENABLE) and not answers["resolution"].valid:
        return f"Its required dependencies are not satisfied: {'; '.join(answers['resolution'].errors)}."
    if action == lifecycle.Action.UNINSTALL and answers["blockers"]:
        names = "; ".join(f"{b.plugin_id} ({b.reason})" for b in answers["blockers"])
        return f"Installed plugins require it: {names}."
    return ""


_BUTTONS = [
    (lifecycle.Action.INSTALL, "Install", "primary"),
    (lifecycle.Action.ENABLE, "Enable", "primary"),
    (lifecycle.Action.DISABLE, "Disable", ""),
    (lifecycle.Action.UNINSTALL, "Uninstall", "danger"),
]


@admin.display(description="Lifecycle")
def lifecycle_controls(request, plugin):
    """The plugin's state and the four lifecycle buttons, each disabled with its reason when it cannot apply."""
    url = admin_url("plugins_plugin_lifecycle", plugin.pk)
    buttons = format_html_join("", "{}", (
        (post_button(url, label, name="action", value=action.value, tone=tone, css_id=f"plugin-lifecycle-{action.value}",
                     disabled_reason=lifecycle_blocked_reason(request, plugin, action)),)
        for action, label, tone in _BUTTONS
    ))
    resolution = _answers(request, plugin)["resolution"]
    warnings = format_html('<p class="plexica-subtle">Warnings: {}</p>', "; ".join(resolution.warnings)) \
        if resolution.warnings else ""
    order = format_html('<p class="plexica-subtle">Install order: {}</p>', " → ".join(resolution.install_order)) \
        if resolution.valid and resolution.install_order and len(resolution.install_order) > 1 else ""
    return format_html(
        '<p id="plugin-lifecycle-state">{} at version {}</p><div class="plexica-buttons plexica-lifecycle" '
        'id="plugin-lifecycle-buttons">{}</div>{}{}<p class="plexica-subtle">The same checks as the API: install '
        "and enable need the required dependencies installed; uninstall needs no installed plugin requiring it, "
        "and deregisters the plugin's services.</p>",
        status_badge(plugin.lifecycle_state, plugin.get_lifecycle_state_display()), plugin.version, buttons,
        warnings, order)


def lifecycle_view(model_admin, request, plugin):
    """POST action=install|enable|disable|uninstall: the lifecycle service as the admin user, its message shown."""
    try:
        action = lifecycle.Action(request.POST.get("action", ""))
    except ValueError:
        model_admin.message_user(request, "Choose install, enable, disable or uninstall.", messages.ERROR)
        return HttpResponseRedirect(plugin_page_url(plugin, "lifecycle"))
    try:
        changed = lifecycle.change_lifecycle(admin_principal(request, plugin.organization), plugin.plugin_id, action,
                                             via=lifecycle.Via.ADMIN)
    except (DomainError, ValidationError) as error:
        model_admin.message_user(request, lifecycle.explain(error), messages.ERROR)
    else:
        version = f" {changed.version}" if action == lifecycle.Action.INSTALL else ""
        model_admin.message_user(request, f"{_DONE[action]} {changed.plugin_id}{version}.", messages.SUCCESS)
    return HttpResponseRedirect(plugin_page_url(plugin, "lifecycle"))


@admin.display(description="What it depends on")
def declared_dependencies(request, plugin):
    """The plugin page's panel of what the plugin depends on, each against what is installed now."""
    dependencies = PluginDependency.objects.filter(plugin=plugin).annotate(installed_version=_installed_version())
    shown = list(dependencies.order_by("depends_on_plugin_id")[:PANEL_ROWS])
    total = dependencies.count()
    rows = [(d.depends_on_plugin_id, d.version or "*", badge("Required", "blue") if d.required else
             badge("Optional", "grey"), dependency_status(d, d.installed_version)) for d in shown]
    return format_html(
        "{}{}<p class=\"plexica-subtle\">Declared by the plugin through the gateway; edit them under "
        "<a href=\"{}\">Plugin dependencies</a>.</p>",
        table(["plugin", "version range", "", "now"], rows, "None declared.", "plugin-dependencies"),
        more_link(len(shown), total, admin_url("dependencies_plugindependency_changelist", query={"plugin": plugin.pk}),
                  "dependencies"),
        admin_url("dependencies_plugindependency_changelist", query={"plugin": plugin.pk}))


@admin.display(description="What depends on it")
def dependents(request, plugin):
    """The plugins that declare a dependency on this one, with their state and the range they need."""
    edges = (PluginDependency.objects.filter(organization=plugin.organization_id, depends_on_plugin_id=plugin.plugin_id)
             .select_related("plugin").order_by("plugin__plugin_id"))
    shown = list(edges[:PANEL_ROWS])
    total = edges.count()
    rows = [(format_html('<a href="{}">{}</a>', plugin_page_url(edge.plugin, "dependencies"), edge.plugin),
             status_badge(edge.plugin.lifecycle_state, edge.plugin.get_lifecycle_state_display()),
             edge.version or "*", badge("Required", "blue") if edge.required else badge("Optional", "grey"))
            for edge in shown]
    return format_html("{}{}", table(["plugin", "state", "needs", ""], rows, "No plugin depends on it.",
                                     "plugin-dependents"),
                       more_link(len(shown), total, admin_url("dependencies_plugindependency_changelist",
                                                              query={"depends_on_plugin_id": plugin.plugin_id}), "dependents"))


@admin.display(description="Can it be uninstalled?")
def uninstall_check(request, plugin):
    """Whether uninstalling is possible now, and which installed plugins (and through what) block it."""
    blockers = _answers(request, plugin)["blockers"]
    if not plugin.is_installed:
        return format_html('<p id="plugin-uninstall-check">{} It is not installed.</p>', badge("Not applicable", "grey"))
    if not blockers:
        return format_html('<p id="plugin-uninstall-check">{} No installed plugin requires it.</p>',
                           badge("Yes", "green"))
    items = format_html_join("", "<li>{} ({})</li>", ((b.plugin_id, b.reason) for b in blockers))
    return format_html('<p id="plugin-uninstall-check">{} Installed plugins require it:</p><ul>{}</ul>',
                       badge("No", "red"), items)


def delete_check(plugin):
    """A plugin that others declare a dependency on is not deleted (they would name a plugin that is gone)."""
    names = list(PluginDependency.objects.filter(organization=plugin.organization_id,
                                                 depends_on_plugin_id=plugin.plugin_id)
                 .order_by("plugin__plugin_id").values_list("plugin__plugin_id", flat=True)[:6])
    if not names:
        return []
    more = ", ..." if len(names) > 5 else ""
    return [f"other plugins depend on it ({', '.join(names[:5])}{more})"]


def lifecycle_readonly_fields(request, plugin):
    """The lifecycle state changes only through the lifecycle; an installed version only by uninstalling and
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


def contribute_to_plugin_admin():
    """What DependenciesConfig.ready() adds to the Plugin admin."""
    from plexica.plugins import admin_extensions as plugin_admin

    plugin_admin.register_plugin_tab("dependencies", "Dependencies", order=60)
    plugin_admin.register_plugin_panel("lifecycle_controls", lifecycle_controls, order=100, tab="lifecycle")
    plugin_admin.register_plugin_panel("declared_dependencies", declared_dependencies, order=100, tab="dependencies")
    plugin_admin.register_plugin_panel("dependents", dependents, order=110, tab="dependencies")
    plugin_admin.register_plugin_panel("uninstall_check", uninstall_check, order=120, tab="dependencies")
    plugin_admin.register_plugin_view("lifecycle", lifecycle_view)
    plugin_admin.register_plugin_delete_check(delete_check, order=100)
    plugin_admin.register_plugin_readonly_fields(lifecycle_readonly_fields)
    for order, action in enumerate(LIFECYCLE_ACTIONS, start=100):
        plugin_admin.register_plugin_action(action, order=order)
