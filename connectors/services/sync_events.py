"""Sync events: the history of every target's syncs, and retries of failed or partial ones.

The rules are the target's instance's: viewer reads, editor retries. The worker that runs events is
connectors.sync; the queue they wait in is connectors.queueing.
"""

from django.db import transaction
from django.utils import timezone

from connectors.models import SyncEvent
from connectors.queueing import enqueue_sync_event
from connectors.services.instances import require_instance_role
from connectors.services.targets import locked_target, refuse_unsyncable
from connectors.sharing import CONNECTOR_INSTANCE
from plexica.access import services as access
from plexica.errors import Conflict, NotFound

RETRYABLE_STATUSES = (SyncEvent.Status.FAILED, SyncEvent.Status.PARTIAL)


def _queryset(organization):
    return SyncEvent.objects.filter(organization=organization).select_related("target", "created_by")


def sync_event_queryset(principal):
    """The sync events of the targets of instances the caller can at least view."""
    events = _queryset(principal.organization)
    return access.restrict(events, principal, CONNECTOR_INSTANCE, field="target__instance_id")


def _found(principal, event_id):
    event = _queryset(principal.organization).filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"No sync event {event_id} in this organization.", title="Sync event not found")
    return event


def get_sync_event(principal, event_id):
    """One sync event (NotFound when the organization has none such); the viewer role on its instance."""
    event = _found(principal, event_id)
    require_instance_role(principal, event.target.instance_id, access.VIEWER)
    return event


def retry_sync_event(principal, event_id, now=None):
    """Run a failed or partial sync event again (the editor role on its instance): the same event goes back
    to the queue.

    The event is the unit of work (one push, one resync), so it is requeued rather than copied: status
    queued, trigger retry, attempts from zero, its task sent after commit. The previous outcome is kept in
    `summary.previousOutcome` until the new run writes its own. Conflict for any other status (a queued or
    running event is already on its way; a completed or ignored one has nothing to redo) and when the target
    does not sync.
    """
    now = now or timezone.now()
    found = _found(principal, event_id)
    with transaction.atomic():
        # The target first, as a worker's claim does, so the two never wait on each other in opposite order.
        target = locked_target(principal, found.target_id, access.EDITOR,
                               "Retrying a sync needs the editor role on its connector instance")
        event = SyncEvent.objects.get(pk=found.pk)
        if event.status not in RETRYABLE_STATUSES:
            raise Conflict(f"Sync event {event.pk} is {event.status}; only failed or partial events can be "
                           "retried.", title="Sync event not retryable", status=event.status)
        refuse_unsyncable(target)
        previous = {"status": event.status, "error": event.error, "attempts": event.attempts,
                    "finishedAt": event.finished_at.isoformat() if event.finished_at else None,
                    "summary": {k: v for k, v in (event.summary or {}).items() if k != "previousOutcome"}}
        # Compare-and-set on the status: two concurrent retries requeue (and enqueue) once.
        requeued = SyncEvent.objects.filter(pk=event.pk, status__in=RETRYABLE_STATUSES).update(
            status=SyncEvent.Status.QUEUED, trigger=SyncEvent.Trigger.RETRY, attempts=0,
            # No retry time: the task sent on commit runs it; the due-events sweep catches it if that is lost.
            next_attempt_at=None, lease_expires_at=None, started_at=None, finished_at=None, error="",
            summary={"previousOutcome": previous}, updated_at=now,
        )
        if requeued:
            enqueue_sync_event(event.pk)
    return _found(principal, event.pk)
