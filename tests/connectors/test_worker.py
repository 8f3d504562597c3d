import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from connectors import queueing, sync
from connectors.github import client
from connectors.models import SourceBinding, SyncEvent
from connectors.queueing import claim_sync_event, queue_sync_event
from marketplaces.config_objects.models import ConfigObject
from plexica.celery import app
from plexica.work.queue import registered_task
from tests.concurrency import run_together

FILES = {"skills/a.md": "# A\n", "skills/b.md": "# B\n", "skills/c.md": "# C\n"}


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, no except Exception catches it."""


@pytest.fixture
def repo(github):
    repo = github.repository("acme/config", installation_id=101)
    repo.commit(FILES)
    return repo


def resync(target):
    return queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)[0]


def synced_paths(target):
    open_bindings = SourceBinding.objects.filter(target=target, closed_at__isnull=True)
    return sorted(open_bindings.values_list("path", flat=True))


# Queueing


def test_a_push_is_queued_once_per_target_and_sha(repo, github_target, django_capture_on_commit_callbacks):
    target = github_target(repo)
    def push(delivery_id):
        return queue_sync_event(target, SyncEvent.Type.PUSH, trigger=SyncEvent.Trigger.WEBHOOK,
                                head_sha=repo.head(), delivery_id=delivery_id)

    with django_capture_on_commit_callbacks() as callbacks:
        event, created = push("d-1")
        again, created_again = push("d-2")
    assert created and not created_again and again.pk == event.pk
    assert (event.status, event.delivery_id) == ("queued", "d-1")
    assert event.organization_id == target.organization_id
    assert len(callbacks) == 1  # one task for one event, sent only after commit
    other, created = queue_sync_event(target, SyncEvent.Type.PUSH, trigger=SyncEvent.Trigger.WEBHOOK,
                                      head_sha=repo.update({"skills/d.md": "# D\n"}))
    assert created and other.pk != event.pk


def test_resyncs_are_not_deduplicated(repo, github_target):
    target = github_target(repo)
    assert resync(target).pk != resync(target).pk


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_push_racing_create_one_event(repo, github_target):
    target = github_target(repo)
    for round_ in range(5):
        sha = repo.update({"skills/n.md": f"# {round_}\n"})
        results = run_together(*[
            lambda: queue_sync_event(target, SyncEvent.Type.PUSH, trigger=SyncEvent.Trigger.WEBHOOK,
                                     head_sha=sha)
        ] * 2)
        assert sorted(created for _, created in results) == [False, True]
        assert results[0][0].pk == results[1][0].pk
        assert SyncEvent.objects.filter(target=target, head_sha=sha).count() == 1


# Claiming


def test_an_event_is_claimed_once(repo, github_target):
    event = resync(github_target(repo))
    now = timezone.now()
    claimed = claim_sync_event(event.pk, now=now)
    assert (claimed.status, claimed.attempts) == ("running", 1)
    assert claimed.lease_expires_at == now + queueing.SYNC_LEASE
    assert claim_sync_event(event.pk, now=now) is None
    assert claim_sync_event("sev_doesnotexist") is None


def test_only_one_event_of_a_target_runs_at_a_time(repo, github_target, monkeypatch, eager_tasks,
                                                   django_capture_on_commit_callbacks):
    target = github_target(repo)
    first, second = resync(target), resync(target)
    fetch = client.blob_bytes
    tried_meanwhile = []

    def fetch_while_another_worker_tries(*args):
        if not tried_meanwhile:
            tried_meanwhile.append(sync.run_sync_event(second.pk))  # a second worker, same target
        return fetch(*args)

    monkeypatch.setattr(client, "blob_bytes", fetch_while_another_worker_tries)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync.run_sync_event(first.pk).status == SyncEvent.Status.COMPLETED
        assert tried_meanwhile == [None]
        assert SyncEvent.objects.get(pk=second.pk).status == SyncEvent.Status.QUEUED
    # When the first finished it enqueued the target's next event, which then ran.
    finished = SyncEvent.objects.get(pk=second.pk)
    assert finished.status == SyncEvent.Status.COMPLETED and finished.summary["skipped"] == 3


def test_events_of_different_targets_run_side_by_side(repo, github, github_target):
    one = resync(github_target(repo, instance_name="one"))
    two = resync(github_target(repo, instance_name="two"))
    assert claim_sync_event(one.pk) is not None
    assert claim_sync_event(two.pk) is not None


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_two_events_of_one_target_claim_one(repo, github_target):
    target = github_target(repo)
    for _ in range(5):
        first, second = resync(target), resync(target)
        claims = run_together(lambda: claim_sync_event(first.pk), lambda: claim_sync_event(second.pk))
        assert sum(claim is not None for claim in claims) == 1
        SyncEvent.objects.filter(target=target).update(status=SyncEvent.Status.COMPLETED)


# A worker that dies


def test_a_worker_killed_mid_sync_leaves_the_event_re_runnable(repo, github, github_target, monkeypatch):
    target = github_target(repo)
    event = resync(target)
    fetch = client.blob_bytes
    fetched = []

    def killed_on_the_second_file(*args):
        fetched.append(args)
        if len(fetched) == 2:
            raise WorkerKilled()
        return fetch(*args)

    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        monkeypatch.setattr(client, "blob_bytes", killed_on_the_second_file)
        with pytest.raises(WorkerKilled):
            sync.run_sync_event(event.pk)
        monkeypatch.setattr(client, "blob_bytes", fetch)
        orphan = SyncEvent.objects.get(pk=event.pk)
        assert orphan.status == SyncEvent.Status.RUNNING and synced_paths(target) == ["skills/a.md"]

        # While its lease lives it is someone's: not claimable, not swept.
        clock.shift(queueing.SYNC_LEASE - timedelta(seconds=1))
        assert sync.run_sync_event(event.pk) is None
        assert event.pk not in queueing.due_event_ids()

        # Lease expired: the worker is presumed dead; the event is swept, claimed again and finishes the job.
        clock.shift(timedelta(seconds=2))
        assert queueing.due_event_ids() == [event.pk]
        finished = sync.run_sync_event(event.pk)
    assert (finished.status, finished.attempts) == (SyncEvent.Status.COMPLETED, 2)
    assert (finished.summary["created"], finished.summary["skipped"]) == (2, 1)
    assert synced_paths(target) == sorted(FILES)
    assert ConfigObject.objects.count() == 3  # nothing created twice


def test_a_worker_whose_lease_was_taken_over_stops_without_writing(repo, github, github_target, monkeypatch):
    target = github_target(repo)
    event = resync(target)
    monkeypatch.setattr(sync, "LEASE_RENEW_SECONDS", 0)  # renew before every file
    fetch = client.blob_bytes

    def another_worker_reclaims(*args):
        SyncEvent.objects.filter(pk=event.pk).update(started_at=timezone.now() + timedelta(seconds=1))
        return fetch(*args)

    monkeypatch.setattr(client, "blob_bytes", another_worker_reclaims)
    outcome = sync.run_sync_event(event.pk)
    assert outcome.status == SyncEvent.Status.RUNNING  # left to the worker that holds it now
    assert outcome.summary == {}


# The due-events sweep


def test_the_sweep_enqueues_due_retries_stale_queued_events_and_orphans(repo, github, github_target,
                                                                         eager_tasks):
    targets = [github_target(repo, instance_name=f"t{n}") for n in range(4)]
    now = timezone.now()
    retry_due, retry_later, fresh, stale = (resync(target) for target in targets)
    SyncEvent.objects.filter(pk=retry_due.pk).update(next_attempt_at=now - timedelta(seconds=1), attempts=1)
    SyncEvent.objects.filter(pk=retry_later.pk).update(next_attempt_at=now + timedelta(minutes=5), attempts=1)
    SyncEvent.objects.filter(pk=stale.pk).update(
        updated_at=now - queueing.DISPATCH_GRACE - timedelta(seconds=1))
    assert set(queueing.due_event_ids(now=now)) == {retry_due.pk, stale.pk}

    assert registered_task("connectors.run_due_sync_events").apply().get() == 2
    statuses = dict(SyncEvent.objects.values_list("pk", "status"))
    assert statuses == {retry_due.pk: "completed", stale.pk: "completed", retry_later.pk: "queued",
                        fresh.pk: "queued"}


# A real worker


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_syncs_a_queued_push_from_the_redis_queue(repo, github, github_target):
    from celery.contrib.testing.worker import start_worker

    assert app.conf.task_always_eager is False
    target = github_target(repo)
    app.control.purge()  # tasks other tests sent for rows that no longer exist
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        event, created = queue_sync_event(target, SyncEvent.Type.PUSH, trigger=SyncEvent.Trigger.WEBHOOK,
                                          head_sha=repo.head(), delivery_id="real-worker")
        assert created
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            event.refresh_from_db()
            if event.status not in SyncEvent.OPEN_STATUSES:
                break
            time.sleep(0.1)
    assert event.status == SyncEvent.Status.COMPLETED, event.error
    assert event.summary["created"] == 3 and synced_paths(target) == sorted(FILES)
    target.refresh_from_db()
    assert target.last_synced_sha == repo.head()


def test_an_event_whose_workers_keep_dying_is_given_up(repo, github, github_target, settings):
    settings.GITHUB_SYNC_MAX_ATTEMPTS = 2
    event = resync(github_target(repo))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(2):  # two workers claim it and die
            assert claim_sync_event(event.pk) is not None
            clock.shift(queueing.SYNC_LEASE + timedelta(seconds=1))
        outcome = sync.run_sync_event(event.pk)
    assert (outcome.status, outcome.attempts) == (SyncEvent.Status.FAILED, 3)
    assert "Gave up after 2 attempts" in outcome.error
    assert github.requests["ref"] == 0
