"""The gateway's dashboard widget (calls, errors and p95 latency per calling plugin over the last 24 hours) and
the plugin page's panel (the same for the calls it made and received, hour by hour), from the counters the
flush task copies into GatewayCallStat every minute."""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from gateway.callstats import BUCKET_FIELDS, percentile
from gateway.models import GatewayCallStat
from plexica.adminsite.charts import BLUE, RED, YELLOW, bar_options, chart_json, dataset
from plexica.adminsite.dashboard import register_widget
from plexica.plugins.admin import table
from plexica.tenancy.admin import admin_url

PLUGINS_SHOWN = 10


def calls_per_plugin(scope, now=None, hours=24):
    """[{plugin pk, plugin id, name, calls, errors, avg_ms, p95_ms}] of the last `hours` (the current hour
    included), most calls first; p95_ms is None for calls counted before durations had buckets."""
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    rows = (scope.filter(GatewayCallStat.objects.filter(hour__gte=since, hour__lte=now))
            .order_by().values("caller_id", "caller__plugin_id", "caller__name", "organization__name")
            .annotate(calls=Sum("calls"), errors=Sum("errors"), duration=Sum("duration_ms"),
                      **{field: Sum(field) for field in BUCKET_FIELDS})
            .order_by("-calls", "caller__plugin_id"))
    return [
        {"pk": row["caller_id"], "plugin_id": row["caller__plugin_id"], "name": row["caller__name"],
         "organization": row["organization__name"], "calls": row["calls"], "errors": row["errors"],
         "error_rate": 100 * row["errors"] / row["calls"] if row["calls"] else 0,
         "avg_ms": row["duration"] / row["calls"] if row["calls"] else 0,
         "p95_ms": percentile([row[field] for field in BUCKET_FIELDS])}
        for row in rows
    ]


def gateway_calls_chart(request, scope, now=None):
    plugins = calls_per_plugin(scope, now)
    shown = plugins[:PLUGINS_SHOWN]
    for plugin in shown:
        plugin["url"] = admin_url("plugins_plugin_change", plugin["pk"])
    return {
        "plugins": shown,
        "more": len(plugins) - len(shown),
        "calls": sum(plugin["calls"] for plugin in plugins),
        "errors": sum(plugin["errors"] for plugin in plugins),
        "chart": chart_json([plugin["name"] for plugin in shown], [
            dataset("Calls", [plugin["calls"] for plugin in shown], BLUE),
            dataset("Errors", [plugin["errors"] for plugin in shown], RED),
        ]),
        "latency_chart": chart_json([plugin["name"] for plugin in shown], [
            dataset("p95 latency, ms", [round(plugin["p95_ms"] or 0, 1) for plugin in shown], YELLOW),
        ]),
        "options": bar_options(stacked=False),
        "show_organization": scope.organization is None,
    }


def register():
    register_widget("gateway_calls", "Gateway calls per plugin, last 24 hours", gateway_calls_chart,
                    "admin/dashboard/gateway_calls.html", order=50, width=2)


# The plugin page's gateway tab


def _summary(rows):
    calls = sum(row["calls"] for row in rows)
    errors = sum(row["errors"] for row in rows)
    buckets = [sum(row[field] for row in rows) for field in BUCKET_FIELDS]
    return {"calls": calls, "errors": errors, "avg_ms": sum(row["duration"] for row in rows) / calls if calls else 0,
            "p95_ms": percentile(buckets)}


def plugin_call_stats(plugin, now=None, hours=24):
    """The calls `plugin` received through the gateway (as the target) and made (as the caller) over the last
    `hours`, hour by hour and in total: {"received": {...,"hours"}, "made": {...}}. Two grouped queries."""
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    sums = {"calls": Sum("calls"), "errors": Sum("errors"), "duration": Sum("duration_ms"),
            **{field: Sum(field) for field in BUCKET_FIELDS}}
    window = GatewayCallStat.objects.filter(hour__gte=since, hour__lte=now)
    received = list(window.filter(organization_id=plugin.organization_id, target_plugin_id=plugin.plugin_id)
                    .order_by().values("hour").annotate(**sums).order_by("hour"))
    made = list(window.filter(caller=plugin).order_by().values("hour").annotate(**sums))
    by_hour = {row["hour"]: row for row in received}
    starts = [since + timedelta(hours=n) for n in range(hours)]
    per_hour = [(start, by_hour.get(start)) for start in starts]
    return {
        "received": {**_summary(received), "hours": [
            {"hour": start, "calls": row["calls"] if row else 0, "errors": row["errors"] if row else 0,
             "p95_ms": percentile([row[field] for field in BUCKET_FIELDS]) if row else None}
            for start, row in per_hour]},
        "made": _summary(made),
    }


@admin.display(description="Gateway calls, last 24 hours")
def gateway_calls_panel(request, plugin):
    """Calls, errors, average and p95 latency of the calls the plugin received and made; a chart per hour."""
    stats = plugin_call_stats(plugin)

    def row(label, numbers):
        p95 = numbers["p95_ms"]
        return (label, numbers["calls"], numbers["errors"], f"{numbers['avg_ms']:.0f} ms" if numbers["calls"] else "–",
                f"{p95:.0f} ms" if p95 is not None else "–")

    summary = table(["calls", "count", "errors", "avg", "p95"],
                    [row("received (to its services)", stats["received"]), row("made (as the caller)", stats["made"])],
                    "", "plugin-gateway-calls")
    hours = stats["received"]["hours"]
    if not stats["received"]["calls"]:
        return format_html("{}<p class=\"plexica-subtle\">No calls to this plugin's services in the last 24 hours."
                           "</p>", summary)
    labels = [f"{entry['hour']:%H}:00" for entry in hours]
    calls_chart = chart_json(labels, [dataset("Calls", [e["calls"] for e in hours], BLUE),
                                      dataset("Errors", [e["errors"] for e in hours], RED)])
    latency_chart = chart_json(labels, [dataset("p95 latency, ms", [round(e["p95_ms"] or 0, 1) for e in hours],
                                                YELLOW)])
    options = bar_options(stacked=False)
    charts = render_to_string("admin/plugins/gateway_calls_charts.html",
                              {"calls_chart": calls_chart, "latency_chart": latency_chart, "options": options})
    return format_html("{}{}", summary, mark_safe(charts))  # noqa: S308 (a template of ours, autoescaped)


def contribute_to_plugin_admin():
    """What GatewayConfig.ready() adds to the Plugin admin: the gateway tab."""
    from plexica.plugins import admin_extensions as plugin_admin

    plugin_admin.register_plugin_tab("gateway", "Gateway calls", order=25)
    plugin_admin.register_plugin_panel("gateway_calls", gateway_calls_panel, order=100, tab="gateway")
