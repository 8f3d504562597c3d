from django.conf import settings
from django.db import models
from django.utils import timezone

from plexica.models import OrganizationScoped

# The ms_* columns count the calls' durations in gateway.callstats' buckets (BUCKET_FIELDS: the bounds of
# /metrics' extension_request_duration_seconds, in milliseconds); the admin's p95 is interpolated from them.


class GatewayCallStat(OrganizationScoped):
    """How many calls one plugin made through the gateway to one target plugin in one hour, and how they went.

    Written only by the flush task (gateway.callstats.flush_call_stats) from the counters each call increments
    in Redis (or local memory without Redis), so a call itself never writes to the database. The numbers are
    totals for the hour, replaced (never added to) on each flush, so a flush that runs twice counts nothing
    twice.
    """

    hour = models.DateTimeField(help_text="The start of the hour (UTC).")
    caller = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="+")
    target_plugin_id = models.CharField(
        max_length=100, blank=True, help_text="The plugin whose service was called; empty when no such service."
    )
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(
        default=0, help_text="Calls the gateway refused or failed (any status it answered itself) or the "
        "upstream answered with a 5xx.",
    )
    duration_ms = models.PositiveBigIntegerField(default=0, help_text="The calls' total time, in milliseconds.")
    ms_upto_5 = models.PositiveIntegerField(default=0, help_text="Calls that took at most 5 ms.")
    ms_upto_10 = models.PositiveIntegerField(default=0, help_text="Calls that took over 5 ms, at most 10.")
    ms_upto_25 = models.PositiveIntegerField(default=0, help_text="Calls that took over 10 ms, at most 25.")
    ms_upto_50 = models.PositiveIntegerField(default=0, help_text="Calls that took over 25 ms, at most 50.")
    ms_upto_100 = models.PositiveIntegerField(default=0, help_text="Calls that took over 50 ms, at most 100.")
    ms_upto_250 = models.PositiveIntegerField(default=0, help_text="Calls that took over 100 ms, at most 250.")
    ms_upto_500 = models.PositiveIntegerField(default=0, help_text="Calls that took over 250 ms, at most 500.")
    ms_upto_1000 = models.PositiveIntegerField(default=0, help_text="Calls that took over 500 ms, at most 1 s.")
    ms_upto_2500 = models.PositiveIntegerField(default=0, help_text="Calls that took over 1 s, at most 2.5 s.")
    ms_upto_5000 = models.PositiveIntegerField(default=0, help_text="Calls that took over 2.5 s, at most 5 s.")
    ms_upto_10000 = models.PositiveIntegerField(default=0, help_text="Calls that took over 5 s, at most 10 s.")
    ms_over_10000 = models.PositiveIntegerField(default=0, help_text="Calls that took over 10 s.")

    class Meta:
        ordering = ["-hour", "caller_id", "target_plugin_id"]
        verbose_name = "gateway call statistic"
        constraints = [
            models.UniqueConstraint(fields=["hour", "caller", "target_plugin_id"], name="gateway_call_stat_unique"),
        ]
        indexes = [models.Index(fields=["organization", "-hour"], name="gateway_stat_org_hour_idx")]

    def __str__(self):
        return f"{self.caller_id} → {self.target_plugin_id or '?'} at {self.hour:%Y-%m-%d %H:00}: {self.calls} calls"


class ExposedTool(OrganizationScoped):
    """A plugin endpoint's tool that an org admin exposed to the organization's members (gateway/tools.py).

    The endpoint is named by its service, method and path template, not by a row of the registry: a service's
    endpoints are written anew on every registration, and an exposure outlives that (an endpoint that goes away
    and is registered again is exposed again). Org admins use every tool endpoint; members only exposed ones.
    """

    plugin = models.ForeignKey("plugins.Plugin", on_delete=models.CASCADE, related_name="exposed_tools")
    service_name = models.CharField(max_length=200)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500, help_text="The endpoint's registered path template, e.g. /contacts/:id.")
    exposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", help_text="Who exposed it (none for a key without a member).")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["service_name", "path", "method"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "service_name", "method", "path"],
                                    name="exposed_tool_unique_endpoint"),
        ]

    def __str__(self):
        return f"{self.service_name}: {self.method} {self.path}"
