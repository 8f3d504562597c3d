"""Celery tasks of the registry, enqueued by name (the beat schedule names them); nothing imports this module.
Explicit names; idempotent (at-least-once delivery is the rule)."""

from celery import shared_task

from registry.health_checks import run_health_checks
from registry.services import sweep_service_health


@shared_task(name="registry.sweep_service_health", ignore_result=True)
def sweep_service_health_task():
    """Persist derived health transitions (idempotent: compare-and-set per service)."""
    changed = sweep_service_health()
    return {str(status): count for status, count in changed.items()}


@shared_task(name="registry.check_service_health", ignore_result=True)
def check_service_health_task():
    """Call the health path of every service that is due and record the answers (idempotent: each service is
    claimed with a compare-and-set before it is called, so two runs never check it twice in one period)."""
    return run_health_checks()
