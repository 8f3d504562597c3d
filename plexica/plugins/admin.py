from django.contrib import admin

from plexica.plugins.models import PermissionGrant, Plugin
from plexica.tenancy.admin import OrganizationScopedAdmin, OrganizationScopedInline


class PermissionGrantInline(OrganizationScopedInline):
    model = PermissionGrant
    fields = ["permission", "granted_by", "granted_at"]
    readonly_fields = ["granted_by", "granted_at"]
    extra = 0
    verbose_name_plural = "permissions granted to this plugin (checked by the gateway on every call)"


@admin.register(Plugin)
class PluginAdmin(OrganizationScopedAdmin):
    """The plugins of each organization's catalog, with the permissions the organization grants them."""

    fields = [
        "id", "organization", "plugin_id", "name", "description", "version", "manifest",
        "lifecycle_state", "catalog_status", "created_at", "updated_at",
    ]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_display = ["plugin_id", "name", "organization", "version", "lifecycle_state", "catalog_status"]
    list_filter = ["lifecycle_state", "catalog_status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["plugin_id", "name"]
    inlines = [PermissionGrantInline]

    def save_formset(self, request, form, formset, change):
        for grant in formset.save(commit=False):
            grant.organization_id = form.instance.organization_id
            grant.granted_by = grant.granted_by or request.user
            grant.save()
        for grant in formset.deleted_objects:
            grant.delete()


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
        obj.organization_id = obj.plugin.organization_id
        if not change:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)
