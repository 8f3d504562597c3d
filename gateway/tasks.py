"""Celery tasks of the gateway, enqueued by name (the beat schedule names them); nothing imports this module.
Explicit names; idempotent (at-least-once delivery is the rule)."""

from celery import shared_task

from gateway.callstats import flush_call_stats


@shared_task(name="gateway.flush_call_stats", ignore_result=True)
def flush_call_stats_task():
    """Copy the gateway's call counters into GatewayCallStat (idempotent: rows take the counters' totals)."""
    return flush_call_stats()
