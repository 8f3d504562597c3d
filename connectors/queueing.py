"""Sync events as a work queue: create (deduplicated), enqueue after commit, claim with a compare-and-set.

A target has at most one running event at a time. A running event carries a lease (plexica.work.leases);
a worker renews it while it works, so an event still `running` after its lease expired belongs to a worker
that died and may be claimed again (acks_late redelivery or the due-events sweep brings it back). The worker
task is enqueued by its registered name (plexica.work.queue): nothing here imports connectors.tasks.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connectors.models import ConnectorTarget, SyncEvent
from plexica.work.leases import LeasedQueue
from plexica.work.queue import enqueue_on_commit

RUN_SYNC_EVENT = "connectors.run_sync_event"  # the task's registered name (connectors/tasks.py)
SYNC_LEASE = timedelta(minutes=5)
SYNC_QUEUE = LeasedQueue(SyncEvent, ready=[SyncEvent.Status.QUEUED], held=SyncEvent.Status.RUNNING,
                         due_field="next_attempt_at", claimed_at_field="started_at", attempts_field="attempts")
# A queued event without a retry time is normally picked up by the task enqueued on commit; the sweep
# leaves it alone for this long so it does not enqueue the same event twice in the common case.
DISPATCH_GRACE = timedelta(seconds=60)


def enqueue_sync_event(event_id, countdown=None):
    """Send the worker task for `event_id` once the current transaction commits (now, outside one)."""
    # robust: with the broker down the request still succeeds; the due-events sweep sends the event later.
    enqueue_on_commit(RUN_SYNC_EVENT, (event_id,), countdown=countdown, robust=True)


def queue_sync_event(target, event_type, *, trigger, head_sha="", delivery_id="", created_by=None):
    """Create a queued sync event for `target` and enqueue its task after commit; (event, created).

    A push is deduplicated on (target, head SHA): a second delivery of the same push, or a race of two,
    answers the existing event with created=False and enqueues nothing.
    """
    fields = {
        "organization_id": target.organization_id, "target": target, "event_type": event_type,
        "trigger": trigger, "head_sha": head_sha or "", "delivery_id": delivery_id or "",
        "created_by": created_by,
    }
    if event_type == SyncEvent.Type.PUSH:
        same_push = SyncEvent.objects.filter(target=target, event_type=event_type,
                                             head_sha=fields["head_sha"])
        existing = same_push.first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():  # a savepoint: the caller's transaction survives the conflict
                event = SyncEvent.objects.create(**fields)
        except IntegrityError:
            # Another delivery of the same push won the race on sync_event_push_sha_unique.
            return same_push.get(), False
    else:
        event = SyncEvent.objects.create(**fields)
    enqueue_sync_event(event.pk)
    return event, True


def claimable_events(now):
    """Events a worker may claim now: queued and due, or running with an expired lease (its worker died)."""
    return SYNC_QUEUE.claimable(now)


def claim_sync_event(event_id, now=None, lease=SYNC_LEASE):
    """Claim `event_id` for this worker: the claimed event, or None when it is not claimable now or another
    event of its target is running.

    The target row is locked first, so two workers claiming two events of one target serialize and the
    second sees the first's claim (a bare UPDATE ... WHERE NOT EXISTS would let both through on PostgreSQL).
    """
    now = now or timezone.now()
    target_id = SyncEvent.objects.filter(pk=event_id).values_list("target_id", flat=True).first()
    if target_id is None:
        return None
    with transaction.atomic():
        list(ConnectorTarget.objects.select_for_update().filter(pk=target_id).values_list("pk", flat=True))
        busy = (SyncEvent.objects
                .filter(target_id=target_id, status=SyncEvent.Status.RUNNING, lease_expires_at__gt=now)
                .exclude(pk=event_id).exists())
        if busy:
            return None
        claimed = SYNC_QUEUE.claim(event_id, lease=lease, now=now, finished_at=None, updated_at=now)
    if not claimed:
        return None
    return (SyncEvent.objects.select_related("target__organization", "target__instance__account")
            .get(pk=event_id))


def renew_lease(event, now=None, lease=SYNC_LEASE):
    """Extend a running event's lease; False when this worker no longer holds it (it was reclaimed)."""
    return SYNC_QUEUE.renew(event, lease=lease, now=now)


def release_sync_event(event, **changes):
    """Write the outcome `changes` of a running event and end its lease, unless another worker reclaimed it
    meanwhile; True when written."""
    return SYNC_QUEUE.release(event, **changes)


def next_queued_event_id(target_id, now=None):
    """The oldest due queued event of a target (to start when the running one finishes), or None."""
    now = now or timezone.now()
    return (SyncEvent.objects.filter(target_id=target_id, status=SyncEvent.Status.QUEUED)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("created_at", "id").values_list("pk", flat=True).first())


def due_event_ids(now=None, limit=100):
    """Events the sweep should (re)enqueue: retries whose time came, queued events nobody picked up within
    DISPATCH_GRACE, and running events whose lease expired. Oldest first, at most `limit`."""
    now = now or timezone.now()
    return list(
        SyncEvent.objects.filter(
            Q(status=SyncEvent.Status.QUEUED, next_attempt_at__lte=now)
            | Q(status=SyncEvent.Status.QUEUED, next_attempt_at__isnull=True,
                updated_at__lte=now - DISPATCH_GRACE)
            | Q(status=SyncEvent.Status.RUNNING, lease_expires_at__lte=now)
        ).order_by("created_at", "id").values_list("pk", flat=True)[:limit]
    )
