"""What reads the event log after commit, registered by the apps from their `AppConfig.ready()`.

- A consumer (`register`) is a Celery task, enqueued with the organization's pk after every commit that
  emitted there. The task calls `consume(name, organization_pk, handle)`, which hands it the events its
  cursor has not passed, in position order, inside one transaction with the cursor's advance: a batch is
  handled exactly once even when two workers run the task at the same time (the cursor row is locked),
  and a worker that dies mid-batch leaves the cursor where it was. The `events.dispatch_pending` beat job
  enqueues consumers that lag, so an enqueue lost between commit and broker costs latency, not events.
  A consumer waiting in the queue for an organization is not enqueued again (a flag in the cache, cleared
  when its task starts reading), so a burst of commits makes a few tasks that read batches, not one each.
- A listener (`listen`) is called in-process right after the commit with the committed events (the live
  stream's publisher). It must be quick and must not raise; readers fill anything it missed from the log.
"""

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from plexica.events.models import ConsumerCursor, Event
from plexica.tenancy.models import Organization
from plexica.work.queue import enqueue

logger = logging.getLogger("plexica.events")

# Long enough for a queued task to start; a lost one only delays the next enqueue until then (or until
# events.dispatch_pending, which ignores the flag).
QUEUED_FLAG_SECONDS = 30
_CONSUMERS = {}
_LISTENERS = []


@dataclass(frozen=True)
class Consumer:
    name: str  # the cursor's name
    task: str  # the Celery task enqueued with (organization_pk,)


def register(name, task):
    if name in _CONSUMERS:
        raise ValueError(f"event consumer {name!r} is registered twice")
    _CONSUMERS[name] = Consumer(name, task)
    return _CONSUMERS[name]


def registered():
    return list(_CONSUMERS.values())


def listen(callback):
    """Call `callback(organization_pk, events)` after every commit that emitted events."""
    if callback not in _LISTENERS:
        _LISTENERS.append(callback)


def notify(organization_pk, events):
    """After a commit: tell the listeners, enqueue every consumer once for the organization."""
    for callback in _LISTENERS:
        try:
            callback(organization_pk, events)
        except Exception:
            logger.exception("Event listener %r failed; readers fill the gap from the log", callback)
    for consumer in _CONSUMERS.values():
        flag = _queued_flag(consumer.name, organization_pk)
        try:
            if cache.add(flag, 1, timeout=QUEUED_FLAG_SECONDS):
                enqueue(consumer.task, (organization_pk,))
        except Exception:
            try:
                cache.delete(flag)
            except Exception:
                pass  # the cache is what failed: the flag expires by itself
            logger.exception("Could not enqueue %s for organization %s; events.dispatch_pending will",
                             consumer.task, organization_pk)


def _queued_flag(name, organization_pk):
    return f"events:consumer-queued:{name}:{organization_pk}"


def consume(name, organization_pk, handle, *, batch=500):
    """Hand the organization's events that consumer `name` has not seen to `handle(events)`, a batch at a
    time in position order, each batch in one transaction with the cursor's advance. Returns how many."""
    cache.delete(_queued_flag(name, organization_pk))  # before reading: a commit from now on enqueues again
    if not ConsumerCursor.objects.filter(organization_id=organization_pk, consumer=name).exists():
        if not Organization.objects.filter(pk=organization_pk).exists():
            return 0  # deleted since the task was queued: its events went with it
        ConsumerCursor.objects.bulk_create([ConsumerCursor(organization_id=organization_pk, consumer=name)],
                                           ignore_conflicts=True)
    total = 0
    while True:
        with transaction.atomic():
            cursor = ConsumerCursor.objects.select_for_update().get(organization_id=organization_pk, consumer=name)
            events = list(Event.objects.filter(organization_id=organization_pk, position__gt=cursor.position)
                          .select_related("organization").order_by("position")[:batch])
            if not events:
                return total
            handle(events)
            ConsumerCursor.objects.filter(pk=cursor.pk).update(position=events[-1].position, updated_at=timezone.now())
        total += len(events)
