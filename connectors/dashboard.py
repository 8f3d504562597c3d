"""The connectors' dashboard widgets: targets whose last sync failed (with its error), and sync outcomes
per day over the last 14 days. Both are left out for an organization with no connector target."""

from datetime import timedelta

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from connectors.models import ConnectorTarget, SyncEvent
from plexica.adminsite.badges import status_badge
from plexica.adminsite.charts import GREEN, RED, YELLOW, bar_options, chart_json, dataset
from plexica.adminsite.dashboard import ago, register_widget
from plexica.tenancy.admin import admin_url

FAILING_SHOWN = 8
DAYS = 14
FINISHED = (SyncEvent.Status.COMPLETED, SyncEvent.Status.PARTIAL, SyncEvent.Status.FAILED)
FAILING = (SyncEvent.Status.FAILED, SyncEvent.Status.PARTIAL)


def failing_syncs(request, scope):
    """The targets whose latest finished sync failed or was partial, newest failure first; a retrying sync
    (queued again after a transient failure) is counted apart."""
    targets = scope.filter(ConnectorTarget.objects.all())
    if not targets.exists():
        return None
    latest = (SyncEvent.objects.filter(target=OuterRef("pk"), status__in=FINISHED)
              .order_by("-finished_at", "-pk").values("pk")[:1])
    failing = SyncEvent.objects.filter(pk__in=targets.annotate(latest=Subquery(latest)).values("latest"),
                                       status__in=FAILING)
    rows = list(failing.select_related("target__instance", "organization").order_by("-finished_at", "-pk")
                .only("pk", "status", "error", "summary", "finished_at", "attempts", "event_type",
                      "target__repository_full_name", "target__branch", "target__instance__name",
                      "organization__name")[:FAILING_SHOWN + 1])
    retrying = scope.filter(SyncEvent.objects.filter(status=SyncEvent.Status.QUEUED).exclude(error="")).count()
    return {
        "rows": [
            {"event": event, "badge": status_badge(event.status, event.get_status_display()),
             "error": event.error or _partial_error(event), "ago": ago(event.finished_at),
             "url": admin_url("connectors_syncevent_change", event.pk),
             "target_url": admin_url("connectors_connectortarget_change", event.target_id)}
            for event in rows[:FAILING_SHOWN]
        ],
        "more": len(rows) > FAILING_SHOWN,
        "retrying": retrying,
        "show_organization": scope.organization is None,
        "all_url": admin_url("connectors_syncevent_changelist", query={"status__exact": SyncEvent.Status.FAILED}),
    }


def _partial_error(event):
    errors = (event.summary or {}).get("errors") or []
    if errors and isinstance(errors, list):
        first = errors[0] if isinstance(errors[0], dict) else {"error": str(errors[0])}
        text, path = first.get("error") or "could not be synced", first.get("path")
        count = f" ({len(errors)} files)" if len(errors) > 1 else ""
        return f"{path}: {text}{count}" if path else f"{text}{count}"
    return "Some files could not be synced."


def sync_outcomes(scope, now=None, days=DAYS):
    """Per day of the last `days` (today last): syncs completed, partial and failed, by when they finished."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    dates = [today - timedelta(days=days - 1 - i) for i in range(days)]
    start = timezone.make_aware(timezone.datetime.combine(dates[0], timezone.datetime.min.time()))
    rows = (scope.filter(SyncEvent.objects.filter(status__in=FINISHED, finished_at__gte=start, finished_at__lte=now))
            .annotate(day=TruncDate("finished_at", tzinfo=timezone.get_current_timezone()))
            .order_by().values_list("day", "status").annotate(count=Count("pk")))
    counts = {status: dict.fromkeys(dates, 0) for status in FINISHED}
    for day, status, count in rows:
        if day in counts[status]:
            counts[status][day] += count
    return {"labels": [date.strftime("%b %d") for date in dates],
            "counts": {status: list(by_day.values()) for status, by_day in counts.items()}}


def sync_outcomes_chart(request, scope, now=None):
    if not scope.filter(ConnectorTarget.objects.all()).exists():
        return None
    outcomes = sync_outcomes(scope, now)
    labels = {SyncEvent.Status.COMPLETED: "Succeeded", SyncEvent.Status.PARTIAL: "Partial",
              SyncEvent.Status.FAILED: "Failed"}
    colours = {SyncEvent.Status.COMPLETED: GREEN, SyncEvent.Status.PARTIAL: YELLOW, SyncEvent.Status.FAILED: RED}
    return {
        "empty": not any(any(values) for values in outcomes["counts"].values()),
        "chart": chart_json(outcomes["labels"], [
            dataset(labels[status], outcomes["counts"][status], colours[status]) for status in FINISHED
        ]),
        "options": bar_options(stacked=True, max_ticks=7),
        "all_url": admin_url("connectors_syncevent_changelist"),
    }


def register():
    register_widget("failing_syncs", "Failing syncs", failing_syncs, "admin/dashboard/failing_syncs.html",
                    order=60, width=2)
    register_widget("sync_outcomes_chart", "Sync outcomes, last 14 days", sync_outcomes_chart,
                    "admin/dashboard/sync_outcomes_chart.html", order=40, width=2)
