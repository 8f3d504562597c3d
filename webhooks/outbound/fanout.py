"""Fan-out: the event log's `webhooks` consumer turns committed events into messages, one per endpoint.

`fan_out(organization_pk)` reads the events the consumer's cursor has not passed (plexica.events.consumers:
each batch exactly once, in one transaction with the cursor) and creates a WebhookMessage for every
enabled, live endpoint of the organization whose filters select the event's type and which existed when
the event occurred (a plugin's endpoint only while the plugin holds EVENTS_SUB). `webhook.test` events go
only to the endpoint they name (whatever its filters, if it is enabled). The messages are created in bulk (a retry of the batch creates nothing twice: one message per
endpoint and event), and their delivery is enqueued once the batch commits: every message of an unordered
endpoint, the first of an ordered one (its next is enqueued when the previous finishes).
"""

import time

from plexica.events import consumers, patterns
from plexica.events import services as event_services
from plexica.plugins.capabilities import Capability, plugins_lacking
from plexica.work.queue import enqueue, enqueue_on_commit
from webhooks.outbound import delivery
from webhooks.outbound import events as webhook_events
from webhooks.outbound.models import WebhookEndpoint, WebhookMessage

CONSUMER = "webhooks"
TASK = "webhooks.fan_out_events"
DELIVER_TASK = "webhooks.deliver_message"
# How long the consumer task itself sends the messages it made before it hands the rest to other tasks.
INLINE_BUDGET_SECONDS = 2.0


def register():
    """Register the consumer, and keep the events of open messages past retention (from WebhooksConfig.ready())."""
    consumers.register(CONSUMER, TASK)
    event_services.hold_from_retention(events_still_delivering)


def events_still_delivering():
    """The events of pending and sending messages: a purge must not take a message's body away."""
    return WebhookMessage.objects.filter(status__in=WebhookMessage.OPEN_STATUSES).values("event_id")


def fan_out(organization_pk, collect=None):
    """Create the messages of the organization's events not yet fanned out; returns how many events were
    read. Their deliveries are enqueued once each batch commits, or, given a list `collect`, appended to it
    for the caller to send (see `fan_out_and_deliver`)."""
    return consumers.consume(CONSUMER, organization_pk, lambda events: handle_batch(events, collect))


def fan_out_and_deliver(organization_pk, budget_seconds=INLINE_BUDGET_SECONDS):
    """The consumer task's work: fan out, then make the first attempt of the new messages right here, one
    after the other, for up to `budget_seconds`; the rest are enqueued. Sending in the task that made the
    messages saves a broker round trip and a task per message: the first attempt follows the emit by
    milliseconds. A worker that dies in between leaves fresh messages, which the beat job sends."""
    ready = []
    read = fan_out(organization_pk, collect=ready)
    started = time.monotonic()
    for index, message_id in enumerate(ready):
        if time.monotonic() - started > budget_seconds:
            for rest in ready[index:]:
                enqueue(DELIVER_TASK, (rest,))
            break
        delivery.deliver(message_id)
    return read


def live_endpoints(organization_pk):
    """The enabled, live endpoints, except those of a plugin that no longer holds EVENTS_SUB (a revoked
    capability stops deliveries at once; one more query, only when plugins own endpoints)."""
    endpoints = list(WebhookEndpoint.objects.filter(organization_id=organization_pk, enabled=True,
                                                    deleted_at__isnull=True)
                     .only("id", "organization_id", "plugin_id", "event_types", "ordered", "created_at"))
    lacking = plugins_lacking({e.plugin_id for e in endpoints if e.plugin_id}, Capability.EVENTS_SUB)
    return [endpoint for endpoint in endpoints if endpoint.plugin_id not in lacking] if lacking else endpoints


def messages_for(events, endpoints):
    """The messages `events` (one organization's, in position order) make for `endpoints`."""
    by_id = {endpoint.pk: endpoint for endpoint in endpoints}
    messages = []
    for event in events:
        if event.type == webhook_events.TEST:
            target = by_id.get(event.subject_id) if event.subject_type == webhook_events.SUBJECT_TYPE else None
            targets = [target] if target is not None else []
        else:
            targets = [endpoint for endpoint in endpoints
                       if endpoint.created_at <= event.occurred_at
                       and patterns.matches_any(endpoint.event_types or (), event.type)]
        messages.extend(
            WebhookMessage(organization_id=event.organization_id, endpoint_id=endpoint.pk, event_id=event.pk,
                           position=event.position, event_type=event.type)
            for endpoint in targets)
    return messages


def handle_batch(events, collect=None):
    """The consumer's handler: two queries per batch (endpoints, insert), whatever its size."""
    if not events:
        return
    endpoints = live_endpoints(events[0].organization_id)
    if not endpoints:
        return
    messages = messages_for(events, endpoints)
    if not messages:
        return
    WebhookMessage.objects.bulk_create(messages, ignore_conflicts=True)
    ordered = {endpoint.pk for endpoint in endpoints if endpoint.ordered}
    first_of_ordered = set()
    for message in messages:
        if message.endpoint_id in ordered:
            if message.endpoint_id in first_of_ordered:
                continue  # waits for the one before it
            first_of_ordered.add(message.endpoint_id)
        # A message the batch did not insert (it existed) is claimed by nobody twice: claims compare-and-set.
        if collect is not None:
            collect.append(message.pk)
        else:
            enqueue_on_commit(DELIVER_TASK, (message.pk,), robust=True)
