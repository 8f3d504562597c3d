from django.contrib import admin
from django.utils import timezone

from plexica.tenancy.admin import OrganizationScopedAdmin, OrganizationScopedInline
from registry.models import PluginService, ServiceEndpoint, ServiceStatusTransition
from registry.services import derive_status, invalidate_discovery


class ServiceEndpointInline(OrganizationScopedInline):
    model = ServiceEndpoint
    fields = ["method", "path", "description", "permissions", "metadata"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj):
        return False  # endpoints come from the plugin's registration


class ServiceStatusTransitionInline(OrganizationScopedInline):
    model = ServiceStatusTransition
    fields = ["at", "from_status", "to_status", "cause"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-at"]
    verbose_name_plural = "health history"


@admin.register(PluginService)
class PluginServiceAdmin(OrganizationScopedAdmin):
    """Registered services. Plugins register and heartbeat them; admins look, and may remove one."""

    fields = ["id", "organization", "plugin", "service_name", "version", "base_url", "metadata",
              "current_status", "last_seen_at", "registered_at", "updated_at"]
    readonly_fields = fields
    list_display = ["service_name", "plugin", "organization", "version", "current_status", "last_seen_at"]
    list_filter = ["status", "organization"]
    list_select_related = ["plugin", "organization"]
    search_fields = ["service_name", "plugin__plugin_id", "base_url"]
    date_hierarchy = "last_seen_at"
    inlines = [ServiceEndpointInline, ServiceStatusTransitionInline]

    @admin.display(description="status now")
    def current_status(self, service):
        return derive_status(service.last_seen_at, timezone.now())

    def has_add_permission(self, request):
        return False  # services are registered through the plugin gateway

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        invalidate_discovery(obj.organization_id, obj.service_name)

    def delete_queryset(self, request, queryset):
        removed = list(queryset.values_list("organization_id", "service_name"))
        super().delete_queryset(request, queryset)
        for organization_id, service_name in removed:
            invalidate_discovery(organization_id, service_name)


@admin.register(ServiceStatusTransition)
class ServiceStatusTransitionAdmin(OrganizationScopedAdmin):
    """Every persisted health change of every service."""

    list_display = ["service", "from_status", "to_status", "cause", "at", "organization"]
    list_filter = ["to_status", "cause", "organization"]
    list_select_related = ["service", "organization"]
    search_fields = ["service__service_name"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
