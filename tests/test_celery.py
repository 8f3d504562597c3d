import ast
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import NotRegistered
from django.db import transaction
from django.utils import timezone

from plexica.celery import EmbeddedBeat, app
from plexica.tenancy.principal import Principal
from plexica.work import queue
from registry.models import PluginService, ServiceStatus, ServiceStatusTransition
from registry.services import Registration, register_service

ROOT = Path(__file__).resolve().parent.parent


def _silent_service(org, seconds):
    service, _ = register_service(
        Principal.system(org), Registration(plugin_id="plugin-crm", service_name="crm.contacts", version="1.0.0"),
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
    assert beat.run_due(due_at, now=1000.0) == ["registry-sweep-service-health", "registry-check-service-health",
                                                "shareddata-purge-expired",
                                                "connectors-run-due-sync-events", "connectors-reconcile-targets",
                                                "events-dispatch-pending", "events-purge-expired",
                                                "webhooks-deliver-due", "gateway-flush-call-stats"]
    assert PluginService.objects.get(pk=service.pk).status == ServiceStatus.DEGRADED
    # Not due again until its interval has passed (15 s for the sweep; the 2 s and 10 s jobs come sooner).
    assert beat.run_due(due_at, now=1010.0) == ["events-dispatch-pending", "webhooks-deliver-due"]
    assert beat.run_due(due_at, now=1015.0) == ["registry-sweep-service-health", "webhooks-deliver-due"]


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


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_work_enqueued_by_name_reaches_a_real_worker(org):
    from celery.contrib.testing.worker import start_worker

    service = _silent_service(org, seconds=400)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        queue.enqueue("registry.sweep_service_health")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if ServiceStatusTransition.objects.filter(service_id=service.pk, cause="sweep").exists():
                break
            time.sleep(0.1)
    assert ServiceStatusTransition.objects.filter(service_id=service.pk, cause="sweep").exists()


def test_in_embedded_serve_mode_enqueued_tasks_run_on_the_background_worker_not_the_caller(monkeypatch):
    ran_on, done = [], threading.Event()

    @app.task(name="tests.record_thread")
    def record_thread(marker):
        ran_on.append((marker, threading.current_thread().name))
        done.set()

    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)  # embedded mode: no broker
    worker = queue.start_embedded_worker()
    try:
        queue.enqueue("tests.record_thread", ("now",))
        assert done.wait(5)
        assert ran_on == [("now", ran_on[0][1])] and ran_on[0][1].startswith("embedded-worker")
        done.clear()
        queue.enqueue("tests.record_thread", ("later",), countdown=0.2)
        assert len(ran_on) == 1  # not yet: it waits for its countdown
        assert done.wait(5) and ran_on[1][0] == "later"
    finally:
        worker.shutdown(wait=True)


def test_without_a_broker_or_background_worker_enqueued_tasks_run_right_away(monkeypatch):
    ran = []

    @app.task(name="tests.record_call")
    def record_call(value):
        ran.append(value)

    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    queue.enqueue("tests.record_call", [7])
    assert ran == [7]


def test_an_unknown_task_name_is_refused_where_it_is_enqueued(monkeypatch):
    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with pytest.raises(NotRegistered):
        queue.enqueue("tests.no_such_task")


@pytest.mark.django_db(transaction=True)
def test_work_enqueued_on_commit_runs_only_once_the_transaction_commits(monkeypatch):
    ran = []

    @app.task(name="tests.record_commit")
    def record_commit(value):
        ran.append(value)

    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with transaction.atomic():
        queue.enqueue_on_commit("tests.record_commit", ("committed",))
        assert ran == []
    assert ran == ["committed"]
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.enqueue_on_commit("tests.record_commit", ("rolled back",))
        raise RuntimeError
    assert ran == ["committed"]


@pytest.mark.django_db(transaction=True)
def test_a_robust_enqueue_on_commit_logs_a_failure_instead_of_raising_it(monkeypatch, caplog):
    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    django_db_logger = logging.getLogger("django.db.backends.base")  # where Django logs robust callbacks
    django_db_logger.addHandler(caplog.handler)
    try:
        with transaction.atomic():
            queue.enqueue_on_commit("tests.no_such_task", robust=True)
    finally:
        django_db_logger.removeHandler(caplog.handler)
    assert "tests.no_such_task" in caplog.text


def test_no_module_outside_the_tests_imports_a_tasks_module_of_these_apps():
    """Work is enqueued by name: the tasks modules of these apps are leaves that nothing imports."""
    roots = [ROOT / name for name in ("plexica", "registry", "shareddata", "marketplaces", "gateway", "webhooks",
                                      "dependencies", "connectors")]
    importers = []
    for path in (p for root in roots if root.exists() for p in root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module else []
                modules = [node.module or "", *names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            if any(module == "tasks" or module.endswith(".tasks") for module in modules):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []
