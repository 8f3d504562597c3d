from celery import shared_task

from registry.services import sweep_service_health


@shared_task(name="registry.sweep_service_health", ignore_result=True)
def sweep_service_health_task():
    """Persist derived health transitions (idempotent: compare-and-set per service)."""
    changed = sweep_service_health()
    return {str(status): count for status, count in changed.items()}
