"""Outbound webhooks' background work (enqueued by name; nothing imports this module)."""

from celery import shared_task

from plexica.work.queue import enqueue
from webhooks.outbound import delivery, fanout


@shared_task(name="webhooks.fan_out_events")
def fan_out_events(organization_pk):
    """Turn the organization's new events into messages and make their first attempts (the log's consumer)."""
    return fanout.fan_out_and_deliver(organization_pk)


@shared_task(name="webhooks.deliver_message")
def deliver_message(message_id, trigger="scheduled"):
    """One attempt of the message if it is claimable now (idempotent: a second run finds it claimed)."""
    attempt = delivery.deliver(message_id, trigger)
    return attempt.outcome if attempt is not None else None


@shared_task(name="webhooks.deliver_due")
def deliver_due():
    """Beat: enqueue due retries, abandoned messages (their worker died) and fresh ones nobody reached."""
    ids = delivery.not_recently_enqueued(delivery.due_messages())
    for message_id in ids:
        enqueue("webhooks.deliver_message", (message_id,))
    return len(ids)
