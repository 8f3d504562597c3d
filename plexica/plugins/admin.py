"""Admin of plugins, their permission grants and lifecycle history.

PluginAdmin is the one Plugin admin. Other apps add panels, inlines, actions and read-only fields to it
through plexica.plugins.admin_extensions, from their AppConfig.ready().
"""

from django.contrib import admin
from django.core import checks
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from plexica.access.admin import grants_panel
from plexica.plugins import services
from plexica.plugins.admin_extensions import plugin_admin_extensions
from plexica.plugins.models import LifecycleTransition, PermissionGrant, Plugin
from plexica.plugins.sharing import PLUGIN
from plexica.tenancy.admin import OrganizationScopedAdmin, OrganizationScopedInline, admin_principal


class PermissionGrantInline(OrganizationScopedInline):
    model = PermissionGrant
    fields = ["permission", "granted_by", "granted_at"]
    readonly_fields = ["granted_by", "granted_at"]
    extra = 0
    verbose_name_plural = "permissions granted to this plugin (checked by the gateway on every call)"


@admin.display(description="access grants")
def access_grants(plugin):
    """The plugin page's panel of who may use the plugin (PluginsConfig.ready() adds it, after other apps')."""
    return grants_panel(PLUGIN, plugin)


@admin.register(Plugin)
class PluginAdmin(OrganizationScopedAdmin):
    """The plugins of each organization's catalog, with the permissions the organization grants them, and
    what other apps contribute (plugin_admin_extensions): panels after the fields, inlines after the
    permissions, actions on the changelist."""

    extensions = plugin_admin_extensions
    fields = [
        "id", "organization", "plugin_id", "name", "description", "version", "manifest",
        "lifecycle_state", "catalog_status", "created_at", "updated_at", "lifecycle_history",
    ]
    readonly_fields = ["id", "created_at", "updated_at", "lifecycle_history"]
    change_only_fields = ["lifecycle_history"]
    list_display = ["plugin_id", "name", "organization", "version", "lifecycle_state", "catalog_status"]
    list_filter = ["lifecycle_state", "catalog_status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["plugin_id", "name"]

    @property
    def inlines(self):
        return [PermissionGrantInline, *self.extensions.inlines()]

    @property
    def actions(self):
        return self.extensions.actions()

    def __getattr__(self, name):
        # The admin finds a read-only field's value and label by name on the admin: a panel is found here.
        render = self.extensions.panel(name)
        if render is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return render

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        taken = {field.name for field in self.model._meta.get_fields()}
        for name in self.extensions.panel_names():
            if name in taken or hasattr(type(self), name):
                errors.append(checks.Error(f"The Plugin admin panel {name!r} has the name of a field or attribute, "
                                           "which would be shown instead.", obj=type(self), id="plugins.E001"))
        return errors

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None:
            return [f for f in fields if f not in self.change_only_fields]
        return [*fields, *self.extensions.panel_names()]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        for rule in self.extensions.readonly_rules():
            readonly.extend(name for name in rule(request, obj) if name not in readonly)
        return [*readonly, *self.extensions.panel_names()]

    # A rendered table rather than an inline: read-only history needs no formset (nor its management form).
    @admin.display(description="lifecycle history")
    def lifecycle_history(self, plugin):
        transitions = plugin.lifecycle_transitions.all()[:50]
        if not transitions:
            return "No lifecycle changes yet."
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (localtime(t.at).strftime("%Y-%m-%d %H:%M:%S"), t.get_action_display(), t.from_state, t.to_state,
                 t.version, t.actor, t.get_via_display())
                for t in transitions
            ),
        )
        return format_html(
            "<table><thead><tr><th>when</th><th>action</th><th>state</th><th>version</th><th>who</th>"
            "<th>via</th></tr></thead><tbody>{}</tbody></table>", rows,
        )

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
    search_fields = ["permission", "plugin__plugin_id"]

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
    """Every lifecycle change of every plugin: who, when, from which state to which."""

    list_display = ["plugin", "action", "from_state", "to_state", "version", "actor", "via", "at", "organization"]
    list_filter = ["action", "to_state", "via", "organization"]
    list_select_related = ["plugin", "organization"]
    search_fields = ["plugin__plugin_id", "actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
