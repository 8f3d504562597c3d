import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connectors import sync
from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget, SyncEvent
from connectors.queueing import queue_sync_event
from plexica.work.queue import registered_task


@pytest.fixture
def repo(github):
    repo = github.repository("acme/config", installation_id=101)
    repo.commit({"skills/a.md": "# A\n"})
    return repo


def synced_target(github_target, repo, **kwargs):
    """A target whose last completed sync is the branch head."""
    target = github_target(repo, **kwargs)
    event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL)
    assert sync.run_sync_event(event.pk).status == SyncEvent.Status.COMPLETED
    target.refresh_from_db()
    return target


def resyncs(target):
    return SyncEvent.objects.filter(target=target, event_type=SyncEvent.Type.MANUAL_RESYNC,
                                    trigger=SyncEvent.Trigger.RECONCILE)


def test_a_target_in_step_with_its_branch_queues_nothing(repo, github, github_target):
    target = synced_target(github_target, repo)
    assert sync.reconcile_targets() == {"checked": 1, "queued": 0, "errors": 0}
    assert not resyncs(target).exists()


def test_a_push_whose_webhook_was_lost_is_caught_by_the_reconcile(repo, github, github_target,
                                                                   django_capture_on_commit_callbacks):
    target = synced_target(github_target, repo)
    missed = repo.update({"skills/b.md": "# B\n"})  # no webhook ever arrives
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sync.reconcile_targets() == {"checked": 1, "queued": 1, "errors": 0}
    [event] = resyncs(target)
    assert (event.status, event.head_sha) == (SyncEvent.Status.QUEUED, missed)
    assert len(callbacks) == 1  # the worker task is enqueued on commit

    # The queued resync makes the target busy: the next beat neither reads its head nor queues again.
    refs = github.requests["ref"]
    assert sync.reconcile_targets() == {"checked": 0, "queued": 0, "errors": 0}
    assert github.requests["ref"] == refs

    finished = sync.run_sync_event(event.pk)
    assert finished.status == SyncEvent.Status.COMPLETED and finished.summary["created"] == 1
    assert sync.reconcile_targets()["queued"] == 0


def test_a_running_event_also_makes_the_target_busy(repo, github, github_target):
    target = synced_target(github_target, repo)
    repo.update({"skills/b.md": "# B\n"})
    SyncEvent.objects.create(organization=target.organization, target=target, event_type=SyncEvent.Type.PUSH,
                             head_sha=repo.head(), status=SyncEvent.Status.RUNNING)
    assert sync.reconcile_targets()["checked"] == 0
    assert not resyncs(target).exists()


def test_inactive_targets_instances_and_accounts_are_not_reconciled(repo, github, github_target):
    targets = [github_target(repo, instance_name=f"instance {n}") for n in range(3)]
    ConnectorTarget.objects.filter(pk=targets[0].pk).update(status=ConnectorTarget.Status.DISABLED)
    ConnectorInstance.objects.filter(pk=targets[1].instance_id).update(
        status=ConnectorInstance.Status.DISABLED)
    other = github.repository("acme/other", repository_id=77, installation_id=202)
    other.commit({"skills/x.md": "# X\n"})
    disconnected = github_target(other)
    ConnectorAccount.objects.filter(pk=disconnected.instance.account_id).update(
        status=ConnectorAccount.Status.DISCONNECTED)
    assert sync.reconcile_targets() == {"checked": 1, "queued": 1, "errors": 0}
    assert list(SyncEvent.objects.values_list("target_id", flat=True)) == [targets[2].pk]


def test_reconcile_works_in_bounded_batches_and_continues_where_it_stopped(repo, github, github_target):
    targets = [github_target(repo, instance_name=f"instance {n}") for n in range(5)]
    first = sync.reconcile_targets(limit=2)
    second = sync.reconcile_targets(limit=2)
    third = sync.reconcile_targets(limit=2)
    assert [first["checked"], second["checked"], third["checked"]] == [2, 2, 1]
    assert SyncEvent.objects.filter(trigger=SyncEvent.Trigger.RECONCILE).count() == 5
    assert set(SyncEvent.objects.values_list("target_id", flat=True)) == {t.pk for t in targets}


def test_one_failing_repository_does_not_stop_the_others(repo, github, github_target):
    github_target(repo, instance_name="first")
    github_target(repo, instance_name="second")
    github.fail("ref", 500)
    assert sync.reconcile_targets() == {"checked": 1, "queued": 1, "errors": 1}


def test_checking_targets_in_step_costs_one_query_however_many_there_are(repo, github, github_target):
    for n in range(4):
        synced_target(github_target, repo, instance_name=f"instance {n}")
    with CaptureQueriesContext(connection) as queries:
        assert sync.reconcile_targets()["checked"] == 4
    assert len(queries) == 1


def test_the_beat_task_runs_the_reconcile(repo, github, github_target):
    target = github_target(repo)
    assert registered_task("connectors.reconcile_targets").apply().get() == {"checked": 1, "queued": 1, "errors": 0}
    assert resyncs(target).count() == 1
