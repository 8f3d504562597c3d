"""10,000 events to an endpoint whose receiver fails 30% of deliveries at random, delivered by a real
Celery worker process (with its beat) that is killed with SIGKILL mid-run and started again: no event is
lost, none is delivered under two webhook-ids, every signature verifies."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from plexica.celery import app
from plexica.events.log import emit
from plexica.tenancy.principal import Principal
from tests.webhooks.receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)
from webhooks.outbound.endpoints import create_endpoint
from webhooks.outbound.models import WebhookMessage

ROOT = Path(__file__).resolve().parents[2]
# A loaded machine may run fewer (PLEXICA_WEBHOOK_LOAD_EVENTS); CI runs the 10,000.
EVENTS = int(os.environ.get("PLEXICA_WEBHOOK_LOAD_EVENTS", "10000"))
BATCH = 500
SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="
# Twenty quick retries: at 30% failures, a message failing all 21 attempts has odds of 1 in 10^11.
RETRIES = ",".join(["0.2"] + ["1"] * 19)


def _worker_environment(schedule_file):
    """The worker runs this test's settings: the test database, this Redis, loopback opened, quick retries."""
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "PLEXICA_ENCRYPTION_KEYS": ",".join(settings.PLEXICA_ENCRYPTION_KEYS),
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WEBHOOK_RETRY_SCHEDULE": RETRIES,
        "WEBHOOK_TIMEOUT_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }


def _start_worker(schedule_file):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "plexica", "worker", "--pool", "prefork", "--concurrency", "3",
         "--beat", "--schedule", schedule_file, "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT, env=_worker_environment(schedule_file), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill(worker):
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def _wait_for(condition, seconds, what, state=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}" + (f": {state()}" if state else ""))


@pytest.mark.timeout(800)
@pytest.mark.requires_postgres
@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_ten_thousand_events_survive_a_killed_worker_with_none_lost_or_duplicated(org, receiver):
    receiver.secrets = [SECRET]
    receiver.fail_randomly(0.3)
    endpoint, _ = create_endpoint(Principal.system(org), url=receiver.url, events=["load.*"], secret=SECRET)
    app.control.purge()
    schedule_file = os.path.join(tempfile.mkdtemp(prefix="webhooks-beat-"), "schedule")
    worker = _start_worker(schedule_file)
    try:
        for start in range(0, EVENTS, BATCH):
            with transaction.atomic():
                for n in range(start, start + BATCH):
                    emit(None, "load.tick", data={"n": n}, organization=org)
        _wait_for(lambda: len(receiver.deliveries) >= EVENTS * 3 // 10, 240, "the worker to deliver 30% of the messages")
        _kill(worker)  # mid-run: attempts in flight, tasks prefetched, retries pending
        worker = _start_worker(schedule_file)

        def all_succeeded():
            return WebhookMessage.objects.filter(endpoint=endpoint, status="succeeded").count() == EVENTS

        def by_status():
            return dict(WebhookMessage.objects.filter(endpoint=endpoint).values_list("status")
                        .annotate(count=Count("pk")).order_by()) | {"deliveries received": len(receiver.deliveries)}

        _wait_for(all_succeeded, 480, "every message to succeed", by_status)
    finally:
        _kill(worker)
    connection.close()

    assert WebhookMessage.objects.filter(endpoint=endpoint).count() == EVENTS
    deliveries = receiver.deliveries
    assert all(delivery.valid for delivery in deliveries), "a delivery failed verification"
    ids_of_event = defaultdict(set)
    for delivery in deliveries:
        ids_of_event[delivery.payload["id"]].add(delivery.webhook_id)
    assert len(ids_of_event) == EVENTS  # none lost
    assert all(len(ids) == 1 for ids in ids_of_event.values())  # a repeat is only ever a retry of one webhook-id
    succeeded = {d.webhook_id for d in deliveries if d.answered == 200}
    assert len(succeeded) == EVENTS  # every message got a 2xx answer
    assert set(WebhookMessage.objects.filter(endpoint=endpoint).values_list("pk", flat=True)) == succeeded
    failures = sum(1 for d in deliveries if d.answered != 200)
    assert failures > 0.2 * EVENTS  # the receiver really did fail about 30% of them
