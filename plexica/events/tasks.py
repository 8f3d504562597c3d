"""The event log's periodic work (enqueued by name; nothing imports this module)."""

from celery import shared_task
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce

from plexica.events import consumers, services
from plexica.events.models import ConsumerCursor, EventSequence
from plexica.work.queue import enqueue


@shared_task(name="events.dispatch_pending")
def dispatch_pending():
    """Enqueue every consumer for each organization whose events it has not all read."""
    enqueued = 0
    for consumer in consumers.registered():
        read = ConsumerCursor.objects.filter(organization_id=OuterRef("organization_id"), consumer=consumer.name)
        lagging = (EventSequence.objects
                   .filter(last_position__gt=Coalesce(Subquery(read.values("position")[:1]), 0))
                   .values_list("organization_id", flat=True))
        for organization_pk in lagging:
            enqueue(consumer.task, (organization_pk,))
            enqueued += 1
    return enqueued


@shared_task(name="events.purge_expired")
def purge_expired():
    """Delete the events older than EVENTS_RETENTION_DAYS, in batches (see services.purge_expired)."""
    return services.purge_expired()
