"""Admin of plugins, their permission grants and lifecycle history.

PluginAdmin is the one Plugin admin. Its change page is a set of tabs (overview, lifecycle, services, config
objects, marketplaces, releases, dependencies, permissions, access, history), each showing panels; other apps
add tabs, panels, inlines, per-plugin POST views (the page's buttons), delete checks and the access a plugin
passes on through plexica.plugins.admin_extensions, from their AppConfig.ready().
"""

from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from plexica.access import services as access
from plexica.access.admin import grants_panel
from plexica.errors import DomainError
from plexica.adminsite.badges import badge, status_badge
from plexica.plugins import events as plugin_events
from plexica.plugins import capabilities, services
from plexica.plugins.admin_extensions import (
    InheritedAccess,
    plugin_admin_extensions,
    register_plugin_panel,
    register_plugin_tab,
    register_plugin_view,
)
from plexica.plugins.models import Capability, LifecycleTransition, PermissionGrant, Plugin
from plexica.plugins.sharing import PLUGIN
from plexica.tenancy.admin import (
    OrganizationScopedAdmin,
    OrganizationScopedInline,
    admin_principal,
    admin_url,
)
from plexica.tenancy.models import ApiKey

PANEL_ROWS = 25  # rows a panel lists; the rest are a link away (the changelist, filtered to the plugin)


def when(moment):
    return localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"


def plugin_page_url(plugin, tab=None):
    """The plugin's page, opened on `tab`."""
    url = admin_url("plugins_plugin_change", plugin.pk)
    return f"{url}#tab-{tab}" if tab else url


def more_link(shown, total, url, noun):
    """"Showing 25 of 1,000 <noun>: all of them" under a panel's table, or nothing when all are shown."""
    if total <= shown:
        return ""
    return format_html('<p class="plexica-subtle plexica-more">Showing {} of {} {}: <a href="{}">see all</a>.</p>',
                       shown, f"{total:,}", noun, url)


def table(headers, rows, empty, css_id=""):
    """A plexica-table of `rows` (tuples of cells, already escaped or safe), or the sentence `empty`."""
    if not rows:
        return format_html('<p class="plexica-subtle plexica-empty">{}</p>', empty)
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join("", "<tr>{}</tr>", (
        (format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows))
    return format_html('<div class="plexica-scroll"><table class="plexica-table"{}><thead><tr>{}</tr></thead>'
                       "<tbody>{}</tbody></table></div>",
                       format_html(' id="{}"', css_id) if css_id else "", head, body)


def post_button(url, label, *, name="", value="", tone="", disabled_reason="", css_id=""):
    """A button that POSTs the page's form (and its CSRF token) to `url`: `formaction`, since the panels are
    inside the change form and forms cannot nest. Disabled, with the reason under it, when it cannot apply."""
    classes = f"plexica-button {tone}".strip()
    attrs = format_html(' id="{}"', css_id) if css_id else ""
    if disabled_reason:
        return format_html('<span class="plexica-action"><button type="button" class="{}" disabled{} '
                           'title="{}">{}</button><span class="plexica-blocked">{}</span></span>',
                           classes, attrs, disabled_reason, label, disabled_reason)
    named = format_html(' name="{}" value="{}"', name, value) if name else ""
    return format_html('<span class="plexica-action"><button type="submit" class="{}" formaction="{}" '
                       'formmethod="post" formnovalidate{}{}>{}</button></span>', classes, url, named, attrs, label)


class PermissionGrantInline(OrganizationScopedInline):
    model = PermissionGrant
    fields = ["permission", "granted_by", "granted_at"]
    readonly_fields = ["granted_by", "granted_at"]
    extra = 0
    per_page = 50
    plugin_tab = "permissions"
    verbose_name_plural = "permissions granted to this plugin (checked by the gateway on every call)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("plugin", "granted_by")


# The core's panels


def _own_keys(plugin):
    keys = ApiKey.objects.filter(plugin=plugin, revoked_at__isnull=True).order_by("name")
    return [InheritedAccess(subject=f"API key {key.name} ({key.prefix}…)", through="the plugin's own key",
                            url=admin_url("tenancy_apikey_change", key.pk), kind="plugin key")
            for key in keys[:PANEL_ROWS]]


@admin.display(description="Who has access")
def access_grants(request, plugin):
    """Who may use the plugin: its grants, and who views it without one (through a marketplace, its own keys)."""
    inherited = _own_keys(plugin)
    for source in plugin_admin_extensions.access_sources():
        inherited.extend(source(plugin))
    return grants_panel(PLUGIN, plugin, inherited=inherited)


@admin.display(description="Lifecycle history")
def lifecycle_history(request, plugin):
    """The plugin's lifecycle transitions, newest first."""
    transitions = LifecycleTransition.objects.filter(plugin=plugin).order_by("-at", "-id")
    shown = list(transitions[:PANEL_ROWS])
    rows = [(when(t.at), t.get_action_display(),
             format_html("{} → {}", status_badge(t.from_state), status_badge(t.to_state)), t.version, t.actor,
             t.get_via_display()) for t in shown]
    total = transitions.count()
    return format_html("{}{}", table(["when", "action", "state", "version", "who", "via"], rows,
                                     "No lifecycle changes yet.", "plugin-lifecycle-history"),
                       more_link(len(shown), total, admin_url("plugins_lifecycletransition_changelist",
                                                              query={"plugin": plugin.pk}), "transitions"))


@admin.display(description="Changes made in the admin")
def change_history(request, plugin):
    """The admin's own log of changes to this plugin (Django's history), newest first."""
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Plugin),
                                      object_id=plugin.pk).select_related("user").order_by("-action_time")
    shown = list(entries[:PANEL_ROWS])
    rows = [(when(e.action_time), e.user.get_username() if e.user else "-",
             {1: "Added", 2: "Changed", 3: "Deleted"}.get(e.action_flag, ""), e.get_change_message() or "-")
            for e in shown]
    return format_html("{}<p><a href=\"{}\">The full admin history</a></p>",
                       table(["when", "who", "what", "details"], rows, "No changes made in the admin yet.",
                             "plugin-change-history"),
                       admin_url("plugins_plugin_history", plugin.pk))


def _core_delete_reasons(plugin):
    reasons = []
    if plugin.is_installed:
        reasons.append(f"it is {plugin.get_lifecycle_state_display().lower()}: uninstall it first")
    keys = list(ApiKey.objects.filter(plugin=plugin, revoked_at__isnull=True).values_list("name", flat=True)[:6])
    if keys:
        reasons.append(f"API keys act as it ({', '.join(keys[:5])}{', ...' if len(keys) > 5 else ''}): "
                       "revoke them first")
    return reasons


def delete_blockers(plugin):
    """Why `plugin` cannot be deleted now (the core's reasons, then every app's), or []."""
    reasons = _core_delete_reasons(plugin)
    for check in plugin_admin_extensions.delete_checks():
        reasons.extend(check(plugin))
    return reasons


@admin.display(description="Delete")
def deletion(request, plugin):
    """Delete, only when nothing depends on the plugin; otherwise why not (archiving is the way to retire it)."""
    reasons = request.__dict__.get("_plexica_delete_blockers", {}).get(plugin.pk)
    if reasons is None:
        reasons = delete_blockers(plugin)
    if reasons:
        items = format_html_join("", "<li>{}</li>", ((reason,) for reason in reasons))
        return format_html(
            '<div id="plugin-delete-blocked"><button type="button" class="plexica-button danger" disabled '
            'id="plugin-delete">Delete plugin</button><p class="plexica-blocked">It cannot be deleted: something '
            'depends on it.</p><ul class="plexica-blocked-reasons">{}</ul><p class="plexica-subtle">Archive it '
            "instead to take it out of the catalog while keeping its history.</p></div>", items)
    return format_html('<p class="plexica-subtle">Nothing depends on this plugin: it can be deleted with its history.'
                       '</p><a class="plexica-button danger" id="plugin-delete" href="{}">Delete plugin</a>',
                       admin_url("plugins_plugin_delete", plugin.pk))


@admin.display(description="Capabilities")
def capability_controls(request, plugin):
    """Each capability: requested by the manifest or not, held or not, and a grant or revoke button (the
    capability services as the admin user decide on the POST)."""
    requested = set(capabilities.requested_capabilities_or_none(plugin) or ())
    granted = set(capabilities.granted_capabilities(plugin))
    legacy = capabilities.is_legacy(plugin) and not plugin.capability_grants.exists()
    url = admin_url("plugins_plugin_capabilities", plugin.pk)
    rows = []
    for capability in Capability:
        held = capability.value in granted
        button = (post_button(url, "Revoke", name="revoke", value=capability.value, tone="danger",
                              css_id=f"plugin-capability-revoke-{capability.value}") if held else
                  post_button(url, "Grant", name="grant", value=capability.value, tone="primary",
                              css_id=f"plugin-capability-grant-{capability.value}"))
        rows.append((capability.value, capability.label.split(": ", 1)[-1],
                     "yes" if capability.value in requested else "-",
                     badge("granted (legacy default)" if held and legacy else "granted", "green") if held
                     else badge("not granted", "grey"), button))
    note = ("The manifest requests no capabilities (no <code>capabilities</code> key): the plugin holds the legacy "
            "default, ROUTES, EVENTS_PUB and EVENTS_SUB, until a grant or revoke writes it down."
            if capabilities.is_legacy(plugin) else
            "Installing grants what the manifest requests (or the subset the install names).")
    return format_html(
        '{}<p class="plexica-subtle">{}</p><p class="plexica-subtle">Checked when the plugin\'s own API keys act: '
        "registering services needs ROUTES, endpoints with an <code>inputSchema</code> (tools) TOOLS, emitting "
        "events EVENTS_PUB, reading or subscribing to them EVENTS_SUB. Organization admins acting on their own "
        "need none.</p>",
        table(["capability", "what", "requested", "granted", ""], rows, "", "plugin-capabilities"),
        mark_safe(note))  # a constant sentence of ours


def capabilities_view(model_admin, request, plugin):
    """POST grant=<CAPABILITY> or revoke=<CAPABILITY>: the capability services as the admin user."""
    principal = admin_principal(request, plugin.organization)
    name, capability = ("grant", request.POST["grant"]) if "grant" in request.POST else \
        ("revoke", request.POST.get("revoke", ""))
    try:
        if name == "grant":
            _grant, created = capabilities.grant_capability(principal, plugin.plugin_id, capability, via="admin")
            done = f"Granted {capability} to {plugin.plugin_id}." if created else \
                f"{plugin.plugin_id} already holds {capability}."
        else:
            capabilities.revoke_capability(principal, plugin.plugin_id, capability, via="admin")
            done = f"Revoked {capability} from {plugin.plugin_id}."
    except DomainError as error:
        model_admin.message_user(request, error.message or error.title, messages.ERROR)
    else:
        model_admin.message_user(request, done, messages.SUCCESS)
    return HttpResponseRedirect(plugin_page_url(plugin, "capabilities"))


def register_core_contributions():
    """The core's own tabs and panels (PluginsConfig.ready())."""
    for key, label, order in [("overview", "Overview", 0), ("lifecycle", "Lifecycle", 10),
                              ("capabilities", "Capabilities", 65), ("permissions", "Permissions", 70),
                              ("access", "Access", 80), ("history", "History", 90)]:
        register_plugin_tab(key, label, order=order)
    register_plugin_panel("capability_controls", capability_controls, order=100, tab="capabilities")
    register_plugin_view("capabilities", capabilities_view)
    register_plugin_panel("deletion", deletion, order=900, tab="overview")
    register_plugin_panel("access_grants", access_grants, order=200, tab="access")
    register_plugin_panel("lifecycle_history", lifecycle_history, order=100, tab="history")
    register_plugin_panel("change_history", change_history, order=200, tab="history")


@admin.register(Plugin)
class PluginAdmin(OrganizationScopedAdmin):
    """The plugins of each organization's catalog: one page per plugin with everything about it, in tabs.

    What other apps contribute (plugin_admin_extensions): tabs and panels on the page, inlines in a tab,
    per-plugin POST views behind the page's buttons, delete checks, inherited access, changelist actions.
    """

    change_form_template = "admin/plugins/plugin/change_form.html"
    extensions = plugin_admin_extensions
    add_fields = ["organization", "plugin_id", "name", "description", "version", "manifest"]
    fields = ["id", "organization", "plugin_id", "name", "description", "version", "lifecycle_badge",
              "catalog_badge", "manifest", "created_at", "updated_at"]
    readonly_fields = ["id", "lifecycle_badge", "catalog_badge", "created_at", "updated_at"]
    list_display = ["__str__", "organization", "version", "lifecycle_badge", "catalog_badge", "updated_at"]
    list_filter = ["lifecycle_state", "catalog_status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["plugin_id", "name"]
    ordering = ["organization__slug", "plugin_id"]

    @property
    def inlines(self):
        return [PermissionGrantInline, *self.extensions.inlines()]

    @property
    def actions(self):
        return self.extensions.actions()

    def get_actions(self, request):
        actions = super().get_actions(request)
        # A plugin is deleted from its page, where what depends on it is shown; never in bulk, blind.
        actions.pop("delete_selected", None)
        return actions

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        for rule in self.extensions.readonly_rules():
            readonly.extend(name for name in rule(request, obj) if name not in readonly)
        return readonly

    def save_model(self, request, obj, form, change):
        # A plugin added here is recorded like one added through the API: plugin.registered, in the same
        # transaction as the row.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                plugin_events.plugin_registered(admin_principal(request, obj.organization), obj, via="admin")

    @admin.display(description="lifecycle", ordering="lifecycle_state")
    def lifecycle_badge(self, plugin):
        return status_badge(plugin.lifecycle_state, plugin.get_lifecycle_state_display())

    @admin.display(description="catalog", ordering="catalog_status")
    def catalog_badge(self, plugin):
        return status_badge(plugin.catalog_status, plugin.get_catalog_status_display())

    # The page: tabs of panels

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            context["plugin_tabs"] = self._tabs(request, context, obj)
            context["show_delete"] = not self._blockers(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _tabs(self, request, context, plugin):
        inlines_by_tab = {}
        for formset in context.get("inline_admin_formsets", []):
            inlines_by_tab.setdefault(getattr(formset.opts, "plugin_tab", "permissions"), []).append(formset)
        fieldsets = list(context["adminform"])
        tabs = []
        for tab, panel_names in self.extensions.tabs():
            panels = []
            for name in panel_names:
                render = self.extensions.panel(name)
                panels.append({"name": name, "label": getattr(render, "short_description", name.replace("_", " ")),
                               "html": render(request, plugin)})
            entry = {"key": tab.key, "label": tab.label, "panels": panels,
                     "fieldsets": fieldsets if tab.key == "overview" else [],
                     "inlines": inlines_by_tab.pop(tab.key, [])}
            if entry["panels"] or entry["fieldsets"] or entry["inlines"]:
                tabs.append(entry)
        if inlines_by_tab and tabs:  # an inline naming a tab nobody declared is shown in the first one
            tabs[0]["inlines"].extend(f for formsets in inlines_by_tab.values() for f in formsets)
        return tabs

    def _blockers(self, request, plugin):
        cache = request.__dict__.setdefault("_plexica_delete_blockers", {})
        if plugin.pk not in cache:
            cache[plugin.pk] = delete_blockers(plugin)
        return cache[plugin.pk]

    # Per-plugin POST views: the page's buttons

    def get_urls(self):
        own = [path(f"<path:object_id>/{name}/", self._object_view(view), name=f"plugins_plugin_{name}")
               for name, view in self.extensions.views()]
        return [*own, *super().get_urls()]

    def _object_view(self, view):
        def run(request, object_id):
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            plugin = self.get_object(request, unquote(object_id))
            if plugin is None:
                raise Http404("No such plugin in your organizations.")
            if not self.has_change_permission(request, plugin):
                raise PermissionDenied
            return view(self, request, plugin)
        return self.admin_site.admin_view(run)

    # Deleting: only when nothing depends on the plugin; archiving is how a plugin is retired

    def delete_view(self, request, object_id, extra_context=None):
        plugin = self.get_object(request, unquote(object_id))
        if plugin is not None and self.has_delete_permission(request, plugin):
            reasons = self._blockers(request, plugin)
            if reasons:
                self.message_user(request, f"Cannot delete {plugin}: {'; '.join(reasons)}. Archive it instead.",
                                  messages.ERROR)
                return HttpResponseRedirect(plugin_page_url(plugin, "overview"))
        return super().delete_view(request, object_id, extra_context)

    def get_deleted_objects(self, objs, request):
        # The plugin's own records (history, grants, declared dependencies) go with it: allowed whoever may delete
        # the plugin, although nobody deletes those records on their own.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        principal = admin_principal(request, obj.organization)
        for grant in access.active_grants(obj.organization_id, PLUGIN, obj.pk):
            access.revoke(principal, PLUGIN, obj.pk, grant.pk)  # nobody keeps a grant on a plugin that is gone
        super().delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not PermissionGrant:
            return super().save_formset(request, form, formset, change)
        # Through the plugin services, as the API grants and revokes (the same rule and validation).
        plugin = form.instance
        principal = admin_principal(request, plugin.organization)
        for grant in formset.save(commit=False):
            if grant.pk is not None:  # a changed permission string: the old one is revoked
                old = PermissionGrant.objects.get(pk=grant.pk).permission
                if old == grant.permission:
                    continue
                services.revoke_permission(principal, plugin.plugin_id, old)
            services.grant_permission(principal, plugin.plugin_id, grant.permission)
        for grant in formset.deleted_objects:
            services.revoke_permission(principal, plugin.plugin_id, grant.permission)


@admin.register(PermissionGrant)
class PermissionGrantAdmin(OrganizationScopedAdmin):
    """Every permission string granted to a plugin, across the organization's plugins."""

    fields = ["plugin", "permission", "granted_by", "granted_at"]
    readonly_fields = ["granted_by", "granted_at"]
    list_display = ["permission", "plugin", "organization", "granted_by", "granted_at"]
    list_filter = ["organization"]
    list_select_related = ["plugin", "organization", "granted_by"]
    search_fields = ["permission", "plugin__plugin_id", "plugin__name"]
    autocomplete_fields = ["plugin"]

    def save_model(self, request, obj, form, change):
        # Through the plugin services, as the API grants and revokes (the same rule and validation).
        principal = admin_principal(request, obj.plugin.organization)
        if change:
            old = PermissionGrant.objects.get(pk=obj.pk)
            if (old.plugin_id, old.permission) == (obj.plugin_id, obj.permission):
                return
            services.revoke_permission(principal, old.plugin.plugin_id, old.permission)
        grant, _created = services.grant_permission(principal, obj.plugin.plugin_id, obj.permission)
        obj.pk = grant.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(LifecycleTransition)
class LifecycleTransitionAdmin(OrganizationScopedAdmin):
    """Every lifecycle change of every plugin: who, when, from which state to which. An audit log: read-only."""

    list_display = ["plugin", "action", "from_badge", "to_badge", "version", "actor", "via", "at", "organization"]
    list_filter = ["action", "to_state", "via", "organization"]
    list_select_related = ["plugin", "organization"]
    search_fields = ["plugin__plugin_id", "plugin__name", "actor"]
    date_hierarchy = "at"

    @admin.display(description="from", ordering="from_state")
    def from_badge(self, transition):
        return status_badge(transition.from_state)

    @admin.display(description="to", ordering="to_state")
    def to_badge(self, transition):
        return status_badge(transition.to_state)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


__all__ = ["PANEL_ROWS", "PluginAdmin", "badge", "delete_blockers", "more_link", "plugin_page_url", "post_button",
           "table", "when"]
