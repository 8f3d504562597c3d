"""The lease helpers on real rows (the GitHub connector's sync events, a model with a status, a due time,
a lease, a claim stamp and an attempt count)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget, SyncEvent
from plexica.work.leases import LeasedQueue
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db

QUEUED, RUNNING, COMPLETED = SyncEvent.Status.QUEUED, SyncEvent.Status.RUNNING, SyncEvent.Status.COMPLETED
QUEUE = LeasedQueue(SyncEvent, ready=[QUEUED], held=RUNNING, due_field="next_attempt_at",
                    claimed_at_field="started_at", attempts_field="attempts")
LEASE = timedelta(minutes=5)
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def target(org):
    account = ConnectorAccount.objects.create(organization=org, installation_id=4242)
    instance = ConnectorInstance.objects.create(organization=org, account=account, name="GitHub")
    return ConnectorTarget.objects.create(organization=org, instance=instance, repository_id=1,
                                          repository_full_name="acme/skills", branch="main", ref="refs/heads/main")


@pytest.fixture
def event(target):
    def make(**fields):
        return SyncEvent.objects.create(organization_id=target.organization_id, target=target,
                                        event_type=SyncEvent.Type.MANUAL_RESYNC, **fields)

    return make


def test_a_claim_holds_the_row_stamps_it_and_counts_the_attempt(event):
    row = event()

    assert QUEUE.claim(row.pk, lease=LEASE, now=NOW, finished_at=None) is True

    row.refresh_from_db()
    assert (row.status, row.attempts, row.started_at, row.lease_expires_at) == (RUNNING, 1, NOW, NOW + LEASE)


def test_a_held_row_cannot_be_claimed_again_until_its_lease_expires(event):
    row = event()
    assert QUEUE.claim(row.pk, lease=LEASE, now=NOW)

    assert QUEUE.claim(row.pk, lease=LEASE, now=NOW + LEASE - timedelta(seconds=1)) is False
    assert QUEUE.claim(row.pk, lease=LEASE, now=NOW + LEASE) is True  # its worker died: taken over

    row.refresh_from_db()
    assert (row.attempts, row.started_at) == (2, NOW + LEASE)


def test_a_ready_row_is_claimable_only_once_due(event):
    later = event(next_attempt_at=NOW + timedelta(seconds=30))
    undated = event()

    assert set(QUEUE.claimable(NOW).values_list("pk", flat=True)) == {undated.pk}
    assert QUEUE.claim(later.pk, lease=LEASE, now=NOW) is False
    assert QUEUE.claim(later.pk, lease=LEASE, now=NOW + timedelta(seconds=30)) is True


def test_finished_rows_are_never_claimable(event):
    done = event(status=COMPLETED)

    assert not QUEUE.claimable(NOW).filter(pk=done.pk).exists()
    assert QUEUE.claim(done.pk, lease=LEASE, now=NOW) is False
    done.refresh_from_db()
    assert (done.status, done.attempts) == (COMPLETED, 0)


def test_the_holder_renews_its_lease_but_a_worker_whose_row_was_taken_over_cannot(event):
    row = event()
    QUEUE.claim(row.pk, lease=LEASE, now=NOW)
    first_holder = SyncEvent.objects.get(pk=row.pk)

    assert QUEUE.renew(first_holder, lease=LEASE, now=NOW + timedelta(minutes=4)) is True
    assert SyncEvent.objects.get(pk=row.pk).lease_expires_at == NOW + timedelta(minutes=9)

    QUEUE.claim(row.pk, lease=LEASE, now=NOW + timedelta(minutes=9))  # the first holder went silent
    assert QUEUE.renew(first_holder, lease=LEASE, now=NOW + timedelta(minutes=10)) is False
    assert SyncEvent.objects.get(pk=row.pk).lease_expires_at == NOW + timedelta(minutes=14)


def test_release_writes_the_outcome_only_for_the_current_holder_and_clears_the_lease(event):
    row = event()
    QUEUE.claim(row.pk, lease=LEASE, now=NOW)
    first_holder = SyncEvent.objects.get(pk=row.pk)
    QUEUE.claim(row.pk, lease=LEASE, now=NOW + LEASE)
    second_holder = SyncEvent.objects.get(pk=row.pk)

    assert QUEUE.release(first_holder, status=COMPLETED, finished_at=NOW + LEASE) is False
    assert QUEUE.release(second_holder, status=COMPLETED, finished_at=NOW + LEASE) is True

    row.refresh_from_db()
    assert (row.status, row.lease_expires_at, row.finished_at) == (COMPLETED, None, NOW + LEASE)
    assert QUEUE.renew(second_holder, lease=LEASE, now=NOW + LEASE) is False  # released: nothing to renew


def test_a_released_row_put_back_with_a_due_time_is_claimable_again_when_due(event):
    row = event()
    QUEUE.claim(row.pk, lease=LEASE, now=NOW)
    holder = SyncEvent.objects.get(pk=row.pk)

    QUEUE.release(holder, status=QUEUED, next_attempt_at=NOW + timedelta(seconds=15))

    assert QUEUE.claim(row.pk, lease=LEASE, now=NOW + timedelta(seconds=14)) is False
    assert QUEUE.claim(row.pk, lease=LEASE, now=NOW + timedelta(seconds=15)) is True
    assert SyncEvent.objects.get(pk=row.pk).attempts == 2


def test_claimable_q_combines_with_other_filters(event, target):
    row = event()

    assert list(SyncEvent.objects.filter(QUEUE.claimable_q(NOW), target=target).values_list("pk", flat=True)) == [
        row.pk
    ]
    assert not SyncEvent.objects.filter(QUEUE.claimable_q(NOW), target__branch="other").exists()


def test_a_queue_without_optional_columns_claims_by_status_and_lease_only(event):
    bare = LeasedQueue(SyncEvent, ready=[QUEUED], held=RUNNING)
    row = event(next_attempt_at=NOW + timedelta(hours=1))  # no due column configured: ignored

    assert bare.claim(row.pk, lease=LEASE, now=NOW) is True
    row.refresh_from_db()
    assert (row.status, row.attempts, row.started_at) == (RUNNING, 0, None)
    assert bare.release(row, status=COMPLETED) is True


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_of_workers_racing_for_one_row_exactly_one_claims_it(event):
    row = event()

    results = run_together(*[lambda: QUEUE.claim(row.pk, lease=LEASE, now=NOW)] * 8)

    assert sorted(results) == [False] * 7 + [True]
    assert SyncEvent.objects.get(pk=row.pk).attempts == 1
