from django.db import models

from plexica.models import OrganizationScoped


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

    class Meta:
        ordering = ["-hour", "caller_id", "target_plugin_id"]
        verbose_name = "gateway call statistic"
        constraints = [
            models.UniqueConstraint(fields=["hour", "caller", "target_plugin_id"], name="gateway_call_stat_unique"),
        ]
        indexes = [models.Index(fields=["organization", "-hour"], name="gateway_stat_org_hour_idx")]

    def __str__(self):
        return f"{self.caller_id} → {self.target_plugin_id or '?'} at {self.hour:%Y-%m-%d %H:00}: {self.calls} calls"
