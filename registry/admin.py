"""Admin of registered services and their health history, and the plugin page's services tab (contributed to
the core's Plugin admin from RegistryConfig.ready())."""

from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from plexica.adminsite.badges import status_badge
from plexica.plugins.admin import PANEL_ROWS, more_link, table, when
from plexica.tenancy.admin import OrganizationScopedAdmin, OrganizationScopedInline, admin_url
from registry.models import PluginService, ServiceEndpoint, ServiceStatus, ServiceStatusTransition
from registry.services import derive_status, invalidate_discovery, status_q


def health_badge(status):
    return status_badge(status, ServiceStatus(status).label)


def heartbeat(last_seen_at, now):
    """"3 minutes ago (2026-12-02 10:04)": the last heartbeat, as a person reads it."""
    return format_html('<span title="{}">{} ago</span>', when(last_seen_at), timesince(last_seen_at, now))


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
    per_page = 50
    ordering = ["-at"]
    verbose_name_plural = "health history"


@admin.register(PluginService)
class PluginServiceAdmin(OrganizationScopedAdmin):
    """Registered services. Plugins register and heartbeat them; admins look, and may remove one."""

    fields = ["id", "organization", "plugin", "service_name", "version", "base_url", "metadata",
              "current_status", "last_seen_at", "registered_at", "updated_at"]
    readonly_fields = fields
    list_display = ["service_name", "plugin", "organization", "version", "current_status", "last_heartbeat"]
    list_filter = ["status", "organization"]
    list_select_related = ["plugin", "organization"]
    search_fields = ["service_name", "plugin__plugin_id", "plugin__name", "base_url"]
    date_hierarchy = "last_seen_at"
    inlines = [ServiceEndpointInline, ServiceStatusTransitionInline]

    @admin.display(description="status now")
    def current_status(self, service):
        return health_badge(derive_status(service.last_seen_at, timezone.now()))

    @admin.display(description="last heartbeat", ordering="last_seen_at")
    def last_heartbeat(self, service):
        return heartbeat(service.last_seen_at, timezone.now())

    def has_add_permission(self, request):
        return False  # services are registered through the plugin gateway

    def get_deleted_objects(self, objs, request):
        # The service's endpoints and health history go with it (nobody deletes those on their own).
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

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
    """Every persisted health change of every service. An audit log: read-only."""

    list_display = ["service", "from_badge", "to_badge", "cause", "at", "organization"]
    list_filter = ["to_status", "cause", "organization"]
    list_select_related = ["service", "organization"]
    search_fields = ["service__service_name"]
    date_hierarchy = "at"

    @admin.display(description="from", ordering="from_status")
    def from_badge(self, transition):
        return health_badge(transition.from_status)

    @admin.display(description="to", ordering="to_status")
    def to_badge(self, transition):
        return health_badge(transition.to_status)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The plugin page's services tab


@admin.display(description="Services")
def plugin_services(request, plugin):
    """The plugin's registered services: health now (from the last heartbeat), the heartbeat's age, endpoints."""
    now = timezone.now()
    services = PluginService.objects.filter(plugin=plugin)
    counts = services.aggregate(**{status.value: Count("pk", filter=status_q(status, now)) for status in ServiceStatus})
    shown = list(services.annotate(endpoint_count=Count("endpoints")).order_by("service_name")[:PANEL_ROWS])
    rows = [(format_html('<a href="{}">{}</a>', admin_url("registry_pluginservice_change", s.pk), s.service_name),
             health_badge(derive_status(s.last_seen_at, now)), heartbeat(s.last_seen_at, now), s.version,
             s.base_url or "-", s.endpoint_count) for s in shown]
    total = sum(counts.values())
    summary = format_html_join_counts(counts) if total else ""
    return format_html("{}{}{}", summary,
                       table(["service", "health", "last heartbeat", "version", "base URL", "endpoints"], rows,
                             "No services registered: the plugin registers them through the gateway.",
                             "plugin-services"),
                       more_link(len(shown), total, admin_url("registry_pluginservice_changelist",
                                                              query={"plugin": plugin.pk}), "services"))


def format_html_join_counts(counts):
    parts = [format_html("{} {}", status_badge(status, ServiceStatus(status).label), counts[status])
             for status in ServiceStatus.values]
    return format_html('<p class="plexica-buttons" id="plugin-services-health">{}</p>',
                       format_html("&nbsp;".join(["{}"] * len(parts)), *parts))


def service_delete_check(plugin):
    names = list(PluginService.objects.filter(plugin=plugin).order_by("service_name")
                 .values_list("service_name", flat=True)[:6])
    if not names:
        return []
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return [f"it has registered services ({shown}): uninstalling deregisters them, or remove them under Services"]


def contribute_to_plugin_admin():
    """What RegistryConfig.ready() adds to the Plugin admin: the services tab and the delete check."""
    from plexica.plugins import admin_extensions as plugin_admin

    plugin_admin.register_plugin_tab("services", "Services", order=20)
    plugin_admin.register_plugin_panel("services", plugin_services, order=100, tab="services")
    plugin_admin.register_plugin_delete_check(service_delete_check, order=50)

