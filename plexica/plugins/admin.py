from django.contrib import admin

from plexica.plugins.models import Plugin
from plexica.tenancy.admin import OrganizationScopedAdmin


@admin.register(Plugin)
class PluginAdmin(OrganizationScopedAdmin):
    """The plugins of each organization's catalog."""

    fields = [
        "id", "organization", "plugin_id", "name", "description", "version", "manifest",
        "lifecycle_state", "catalog_status", "created_at", "updated_at",
    ]
    readonly_fields = ["id", "created_at", "updated_at"]
    list_display = ["plugin_id", "name", "organization", "version", "lifecycle_state", "catalog_status"]
    list_filter = ["lifecycle_state", "catalog_status", "organization"]
    list_select_related = ["organization"]
    search_fields = ["plugin_id", "name"]
