"""The gateway's dashboard widget: calls and errors per calling plugin over the last 24 hours, from the
counters the flush task copies into GatewayCallStat every minute."""

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from gateway.models import GatewayCallStat
from plexica.adminsite.charts import BLUE, RED, bar_options, chart_json, dataset
from plexica.adminsite.dashboard import register_widget
from plexica.tenancy.admin import admin_url

PLUGINS_SHOWN = 10


def calls_per_plugin(scope, now=None, hours=24):
    """[{plugin pk, plugin id, name, calls, errors, avg_ms}] of the last `hours` (the current hour included),
    most calls first."""
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    rows = (scope.filter(GatewayCallStat.objects.filter(hour__gte=since, hour__lte=now))
            .order_by().values("caller_id", "caller__plugin_id", "caller__name", "organization__name")
            .annotate(calls=Sum("calls"), errors=Sum("errors"), duration=Sum("duration_ms"))
            .order_by("-calls", "caller__plugin_id"))
    return [
        {"pk": row["caller_id"], "plugin_id": row["caller__plugin_id"], "name": row["caller__name"],
         "organization": row["organization__name"], "calls": row["calls"], "errors": row["errors"],
         "error_rate": 100 * row["errors"] / row["calls"] if row["calls"] else 0,
         "avg_ms": row["duration"] / row["calls"] if row["calls"] else 0}
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
        "options": bar_options(stacked=False),
        "show_organization": scope.organization is None,
    }


def register():
    register_widget("gateway_calls", "Gateway calls per plugin, last 24 hours", gateway_calls_chart,
                    "admin/dashboard/gateway_calls.html", order=50, width=2)
