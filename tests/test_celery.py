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


def test_in_embedded_serve_mode_sent_tasks_run_on_the_background_worker_not_the_caller(monkeypatch):
    import threading

    from plexica import celery as plexica_celery

    ran_on, done = [], threading.Event()

    @app.task(name="tests.record_thread")
    def record_thread(marker):
        ran_on.append((marker, threading.current_thread().name))
        done.set()

    monkeypatch.setattr(plexica_celery, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # embedded mode: no broker
    worker = plexica_celery.start_embedded_worker()
    try:
        plexica_celery.send_task_later(record_thread, ("now",))
        assert done.wait(5)
        assert ran_on == [("now", ran_on[0][1])] and ran_on[0][1].startswith("embedded-worker")
        done.clear()
        plexica_celery.send_task_later(record_thread, ("later",), countdown=0.2)
        assert len(ran_on) == 1  # not yet: it waits for its countdown
        assert done.wait(5) and ran_on[1][0] == "later"
    finally:
        worker.shutdown(wait=True)


def test_without_a_broker_or_background_worker_sent_tasks_run_right_away(monkeypatch):
    from plexica import celery as plexica_celery

    ran = []

    @app.task(name="tests.record_call")
    def record_call(value):
        ran.append(value)

    monkeypatch.setattr(plexica_celery, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    plexica_celery.send_task_later(record_call, (7,))
    assert ran == [7]
