"""Celery tasks of the registry, enqueued by name (the beat schedule names them); nothing imports this module.
Explicit names; idempotent (at-least-once delivery is the rule)."""

from celery import shared_task

from registry.services import sweep_service_health


@shared_task(name="registry.sweep_service_health", ignore_result=True)
def sweep_service_health_task():
    """Persist derived health transitions (idempotent: compare-and-set per service)."""
    changed = sweep_service_health()
    return {str(status): count for status, count in changed.items()}
