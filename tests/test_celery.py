import time
from datetime import timedelta

import pytest
from django.utils import timezone

from plexica.celery import EmbeddedBeat, app
from registry.models import PluginService, ServiceStatus, ServiceStatusTransition
from registry.services import Registration, register_service


def _silent_service(org, seconds):
    service, _ = register_service(
        org, Registration(plugin_id="plugin-crm", service_name="crm.contacts", version="1.0.0"),
        now=timezone.now() - timedelta(seconds=seconds),
    )
    return service


def test_celery_app_is_configured_for_idempotent_json_tasks(settings):
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_acks_late is True
    sweep = settings.CELERY_BEAT_SCHEDULE["registry-sweep-service-health"]
    assert sweep["schedule"] == 15.0 and sweep["options"]["expires"] < 15
    app.loader.import_default_modules()
    assert "registry.sweep_service_health" in app.tasks


def test_embedded_beat_runs_due_periodic_tasks_in_process(org, settings):
    service = _silent_service(org, seconds=120)
    beat = EmbeddedBeat(settings.CELERY_BEAT_SCHEDULE)
    due_at = {}
    assert beat.run_due(due_at, now=1000.0) == ["registry-sweep-service-health", "shareddata-purge-expired",
                                                "connectors-run-due-sync-events", "connectors-reconcile-targets"]
    assert PluginService.objects.get(pk=service.pk).status == ServiceStatus.DEGRADED
    # Not due again until its interval has passed.
    assert beat.run_due(due_at, now=1010.0) == []
    assert beat.run_due(due_at, now=1015.0) == ["registry-sweep-service-health"]


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_health_sweep_from_the_redis_queue(org):
    from celery.contrib.testing.worker import start_worker

    service = _silent_service(org, seconds=400)
    assert app.conf.task_always_eager is False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        app.send_task("registry.sweep_service_health")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if ServiceStatusTransition.objects.filter(service_id=service.pk, cause="sweep").exists():
                break
            time.sleep(0.1)
    transition = ServiceStatusTransition.objects.get(service_id=service.pk)
    assert (transition.from_status, transition.to_status) == (ServiceStatus.HEALTHY, ServiceStatus.UNAVAILABLE)
