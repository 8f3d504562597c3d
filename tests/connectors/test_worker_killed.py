"""A real Celery worker process, killed with SIGKILL in the middle of a sync, leaves the event re-runnable."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from connectors import queueing, sync
from connectors.models import SourceBinding, SyncEvent
from marketplaces.config_objects.models import ConfigObject
from plexica.celery import app

ROOT = Path(__file__).resolve().parents[2]
FILES = {"skills/a.md": "# A\n", "skills/b.md": "# B\n", "skills/c.md": "# C\n"}


def _wait_for(condition, seconds=30, what="the condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _worker_environment(github_app):
    """The worker runs this test's settings: the test database, this Redis, the stub GitHub App."""
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "GITHUB_API_URL": github_app.api_url,
        "GITHUB_APP_ID": github_app.app_id,
        "GITHUB_APP_PRIVATE_KEY": github_app.private_pem,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "PLEXICA_ENCRYPTION_KEYS": ",".join(settings.PLEXICA_ENCRYPTION_KEYS),
    }


@pytest.mark.requires_postgres
@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_killed_mid_sync_leaves_the_event_re_runnable(github, github_app, github_target):
    repo = github.repository("acme/config", installation_id=101)
    repo.commit(FILES)
    target = github_target(repo)
    app.control.purge()
    github.slow("blob", seconds=60)  # the worker will be stuck fetching its first file when it is killed
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "plexica", "worker", "--pool", "solo", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=_worker_environment(github_app), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        event, _ = queueing.queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC,
                                             trigger=SyncEvent.Trigger.MANUAL)
        _wait_for(lambda: github.requests["blob"] >= 1, what="the worker to start fetching blobs")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    connection.close()  # the worker's rows are committed; read them fresh

    orphan = SyncEvent.objects.get(pk=event.pk)
    assert orphan.status == SyncEvent.Status.RUNNING and orphan.attempts == 1
    assert orphan.lease_expires_at > timezone.now()
    # While its lease lives the event is the dead worker's: nobody else claims or sweeps it.
    assert sync.run_sync_event(event.pk) is None
    assert event.pk not in queueing.due_event_ids()

    with time_machine.travel(orphan.lease_expires_at + timedelta(seconds=1), tick=False):
        assert queueing.due_event_ids() == [event.pk]
        finished = sync.run_sync_event(event.pk)
    assert (finished.status, finished.attempts) == (SyncEvent.Status.COMPLETED, 2)
    paths = sorted(SourceBinding.objects.filter(target=target, closed_at__isnull=True).values_list("path", flat=True))
    assert paths == sorted(FILES)
    assert ConfigObject.objects.count() == 3  # nothing created twice
