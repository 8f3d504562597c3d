"""The registry's dashboard widgets: services by health now, and health over the last 24 hours.

Health is derived from heartbeat age (services.derive_status), so "unhealthy since" is exact without any
sweep: a service became DEGRADED REGISTRY_DEGRADED_AFTER seconds after its last heartbeat. The 24-hour chart
combines the persisted transitions (what the sweep and heartbeats recorded before the last heartbeat) with
that derivation (after it), so it is right even when the sweep is late.
"""

from bisect import bisect_right
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from plexica.adminsite.badges import status_badge
from plexica.adminsite.charts import GREEN, RED, YELLOW, bar_options, chart_json, dataset
from plexica.adminsite.dashboard import lasting, register_widget
from plexica.tenancy.admin import admin_url
from registry.models import PluginService, ServiceStatus, ServiceStatusTransition
from registry.services import status_q

UNHEALTHY_SHOWN = 8
HOURS = 24
_SEVERITY = {ServiceStatus.HEALTHY: 0, ServiceStatus.DEGRADED: 1, ServiceStatus.UNAVAILABLE: 2}
_STATUSES = (ServiceStatus.HEALTHY, ServiceStatus.DEGRADED, ServiceStatus.UNAVAILABLE)


def services_by_health(request, scope, now=None):
    """Counts per derived status, and the unhealthy services, longest unhealthy first."""
    now = now or timezone.now()
    services = scope.filter(PluginService.objects.all())
    counts = services.aggregate(**{
        status.lower(): Count("pk", filter=status_q(status, now)) for status in _STATUSES
    })
    total = sum(counts.values())
    degraded_after = timedelta(seconds=settings.REGISTRY_DEGRADED_AFTER)
    unavailable_after = timedelta(seconds=settings.REGISTRY_UNAVAILABLE_AFTER)
    unhealthy = []
    for service in (services.filter(last_seen_at__lt=now - degraded_after).select_related("plugin", "organization")
                    .order_by("last_seen_at", "pk")[:UNHEALTHY_SHOWN]):
        unavailable = service.last_seen_at + unavailable_after <= now
        since = service.last_seen_at + degraded_after
        unhealthy.append({
            "service": service,
            "url": admin_url("registry_pluginservice_change", service.pk),
            "badge": status_badge("unavailable" if unavailable else "degraded"),
            "since": since,
            "lasting": lasting(since, now),
        })
    return {
        "total": total,
        "stats": [
            {"badge": status_badge(status.lower()), "count": counts[status.lower()],
             "url": admin_url("registry_pluginservice_changelist", query={"status__exact": status})}
            for status in _STATUSES
        ],
        "unhealthy": unhealthy,
        "more_unhealthy": counts["degraded"] + counts["unavailable"] - len(unhealthy),
        "show_organization": scope.organization is None,
        "all_url": admin_url("registry_pluginservice_changelist"),
    }


def _timeline(service, transitions, degraded_after, unavailable_after):
    """(times, statuses) of a service's status changes: the status at t is statuses[bisect_right(times, t)].

    Before the last heartbeat the persisted transitions tell; from it on, the heartbeat's age does.
    """
    last_seen = service["last_seen_at"]
    # The status at the window's start: what the first transition in it changed from, else the stored one.
    points = [(None, transitions[0][1] if transitions else service["status"])]
    points += [(at, to_status) for at, _, to_status in transitions if at < last_seen]
    points += [(last_seen, ServiceStatus.HEALTHY), (last_seen + degraded_after, ServiceStatus.DEGRADED),
               (last_seen + unavailable_after, ServiceStatus.UNAVAILABLE)]
    times = [at for at, _ in points[1:]]
    return times, [status for _, status in points]


def health_history(scope, now=None, hours=HOURS):
    """Per hour of the last `hours` (the current one last): how many services were healthy, degraded and
    unavailable, each service counted once, at the worst status it had in that hour."""
    now = now or timezone.now()
    local_now = timezone.localtime(now)
    current_hour = local_now.replace(minute=0, second=0, microsecond=0)
    starts = [current_hour - timedelta(hours=hours - 1 - i) for i in range(hours)]
    window_start = starts[0]
    services = list(scope.filter(PluginService.objects.all()).values("pk", "status", "last_seen_at", "registered_at"))
    transitions = {}
    rows = (scope.filter(ServiceStatusTransition.objects.filter(at__gte=window_start, at__lte=now))
            .order_by("at", "pk").values_list("service_id", "at", "from_status", "to_status"))
    for service_id, at, from_status, to_status in rows:
        transitions.setdefault(service_id, []).append((at, from_status, to_status))
    degraded_after = timedelta(seconds=settings.REGISTRY_DEGRADED_AFTER)
    unavailable_after = timedelta(seconds=settings.REGISTRY_UNAVAILABLE_AFTER)
    # Seconds since the epoch and severities as ints: this loop runs for every service and hour.
    bounds = [start.timestamp() for start in starts] + [now.timestamp()]
    window_begin = bounds[0]
    by_severity = [[0] * hours for _ in _STATUSES]
    steady = [0] * len(_STATUSES)  # services in one status the whole window (most of them): counted once
    for service in services:
        times, statuses = _timeline(service, transitions.get(service["pk"], []), degraded_after, unavailable_after)
        changes = [moment.timestamp() for moment in times]
        severities = [_SEVERITY.get(status) or _SEVERITY.get(str(status).upper(), 0) for status in statuses]
        registered = service["registered_at"].timestamp()
        first = bisect_right(changes, window_begin)
        if registered <= window_begin and (first == len(changes) or changes[first] > bounds[-1]):
            steady[severities[first]] += 1
            continue
        position = 0  # severities[position] is the status at the current moment
        for index in range(hours):
            end = bounds[index + 1]
            if registered >= end:
                continue  # not registered yet
            begin = max(bounds[index], registered)
            while position < len(changes) and changes[position] <= begin:
                position += 1
            worst = severities[position]
            while position < len(changes) and changes[position] < end:
                position += 1
                worst = max(worst, severities[position])
            by_severity[worst][index] += 1
    counts = {status: [count + steady[severity] for count in by_severity[severity]]
              for status, severity in _SEVERITY.items()}
    return {"labels": [start.strftime("%H:00") for start in starts], "counts": counts}


def health_chart(request, scope, now=None):
    history = health_history(scope, now)
    if not any(any(values) for values in history["counts"].values()):
        return None  # no services in the last 24 hours: the health card says so already
    colours = {ServiceStatus.HEALTHY: GREEN, ServiceStatus.DEGRADED: YELLOW, ServiceStatus.UNAVAILABLE: RED}
    return {
        "chart": chart_json(history["labels"], [
            dataset(status.label, history["counts"][status], colours[status]) for status in _STATUSES
        ]),
        "options": bar_options(stacked=True),
        "all_url": admin_url("registry_servicestatustransition_changelist"),
    }


def register():
    register_widget("services_health", "Services by health", services_by_health,
                    "admin/dashboard/services_health.html", order=10, width=2)
    register_widget("service_health_chart", "Service health, last 24 hours", health_chart,
                    "admin/dashboard/service_health_chart.html", order=30, width=4)
