"""Admin of registered services and their health history, and the plugin page's services tab (contributed to
the core's Plugin admin from RegistryConfig.ready())."""

from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from plexica.adminsite.badges import status_badge
from plexica.plugins.admin import PANEL_ROWS, more_link, table, when
from plexica.tenancy.admin import OrganizationScopedAdmin, OrganizationScopedInline, admin_url
from registry.models import (
    CheckOutcome,
    PluginService,
    ServiceEndpoint,
    ServiceHealthCheck,
    ServiceStatus,
    ServiceStatusTransition,
)
from registry.services import derive_status, health_check_path, invalidate_discovery, status_q

CHECKS_SHOWN = 20  # the plugin page's newest health checks, over all its services
_OUTCOME_TONES = {CheckOutcome.PASS: "healthy", CheckOutcome.WARN: "degraded", CheckOutcome.FAIL: "unavailable"}


def health_badge(status):
    return status_badge(status, ServiceStatus(status).label)


def outcome_badge(outcome):
    if not outcome:
        return "-"
    return status_badge(_OUTCOME_TONES.get(outcome, outcome), CheckOutcome(outcome).label)


def service_status(service, now):
    """The service's status now: heartbeat age and its active checks combined."""
    return health_badge(derive_status(service.last_seen_at, now, service.check_status))


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


class ServiceHealthCheckInline(OrganizationScopedInline):
    """The service's newest active health checks (the last REGISTRY_HEALTH_CHECK_HISTORY are kept)."""

    model = ServiceHealthCheck
    fields = ["at", "outcome_shown", "http_status", "duration_ms", "reason", "url"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-at", "-id"]
    verbose_name_plural = "health checks"

    @admin.display(description="outcome")
    def outcome_shown(self, check):
        return outcome_badge(check.outcome)


@admin.register(PluginService)
class PluginServiceAdmin(OrganizationScopedAdmin):
    """Registered services. Plugins register and heartbeat them; admins look, and may remove one."""

    fields = ["id", "organization", "plugin", "service_name", "version", "base_url", "metadata",
              "current_status", "last_seen_at", "health_checks", "registered_at", "updated_at"]
    readonly_fields = fields
    list_display = ["service_name", "plugin", "organization", "version", "current_status", "last_heartbeat",
                    "last_check"]
    list_filter = ["status", "organization"]
    list_select_related = ["plugin", "organization"]
    search_fields = ["service_name", "plugin__plugin_id", "plugin__name", "base_url"]
    date_hierarchy = "last_seen_at"
    inlines = [ServiceEndpointInline, ServiceStatusTransitionInline, ServiceHealthCheckInline]

    @admin.display(description="status now")
    def current_status(self, service):
        return service_status(service, timezone.now())

    @admin.display(description="last check", ordering="last_check_at")
    def last_check(self, service):
        if service.last_check_at is None:
            return "-"
        return format_html("{} {}", outcome_badge(service.last_check_outcome), when(service.last_check_at))

    @admin.display(description="active health checks")
    def health_checks(self, service):
        path = health_check_path(service.metadata)
        if not service.base_url or path is None:
            return "Not checked: " + ("no base URL." if not service.base_url else "switched off in its registration.")
        return format_html(
            "GET {}{} &middot; the checks say {} &middot; {} failure(s), {} success(es) in a row &middot; last: {}",
            service.base_url, path, health_badge(service.check_status), service.check_failures,
            service.check_successes, self.last_check(service))

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
    """The plugin's registered services: health now (heartbeat age and active checks), the heartbeat's age, the
    last check, endpoints; then the newest health checks of its services (a flat number of queries)."""
    now = timezone.now()
    services = PluginService.objects.filter(plugin=plugin)
    counts = services.aggregate(**{status.value: Count("pk", filter=status_q(status, now)) for status in ServiceStatus})
    shown = list(services.annotate(endpoint_count=Count("endpoints")).order_by("service_name")[:PANEL_ROWS])
    rows = [(format_html('<a href="{}">{}</a>', admin_url("registry_pluginservice_change", s.pk), s.service_name),
             service_status(s, now), heartbeat(s.last_seen_at, now),
             format_html("{} {}", outcome_badge(s.last_check_outcome), when(s.last_check_at))
             if s.last_check_at else "-", s.version, s.base_url or "-", s.endpoint_count) for s in shown]
    total = sum(counts.values())
    summary = format_html_join_counts(counts) if total else ""
    return format_html("{}{}{}{}", summary,
                       table(["service", "health", "last heartbeat", "last check", "version", "base URL",
                              "endpoints"], rows,
                             "No services registered: the plugin registers them through the gateway.",
                             "plugin-services"),
                       more_link(len(shown), total, admin_url("registry_pluginservice_changelist",
                                                              query={"plugin": plugin.pk}), "services"),
                       plugin_health_checks(plugin) if total else "")


def plugin_health_checks(plugin):
    """The newest active health checks of the plugin's services, as a table (one query)."""
    recent = (ServiceHealthCheck.objects.filter(service__plugin=plugin).select_related("service")
              .order_by("-at", "-id")[:CHECKS_SHOWN])
    rows = [(check.service.service_name, when(check.at), outcome_badge(check.outcome), check.http_status or "-",
             f"{check.duration_ms} ms", check.reason or "-") for check in recent]
    return format_html("<h3>Health checks</h3>{}", table(
        ["service", "time", "outcome", "HTTP status", "duration", "reason"], rows,
        "No health checks yet: the platform checks each service with a base URL every "
        f"{settings.REGISTRY_HEALTH_CHECK_INTERVAL} seconds.", "plugin-health-checks"))


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

