"""Reading an endpoint's messages and attempts, redelivering one message, recovering failed ones.

Who: whoever may manage the endpoint (webhooks.outbound.endpoints: organization admins and org keys every
endpoint of the organization, a plugin's key only those its plugin created); another organization's
endpoint or message is unknown (404).

- `redeliver`: a new attempt now (trigger `manual`) of a pending, failed or succeeded message, with its
  `webhook-id`; a failed one is pending again. It is not retried past the schedule's last attempt: a
  redelivery of a message that used its retries gets this one attempt. A cancelled message (its endpoint was
  deleted) and one in flight cannot be redelivered (409), nor one of a disabled endpoint (enable it first).
- `recover`: every failed message of the endpoint created since a time is pending again and sent at once
  (trigger `recover`), the same way.
"""

from django.db import transaction
from django.utils import timezone

from plexica.errors import Conflict, Invalid, NotFound
from plexica.events.patterns import filter_error, type_q
from plexica.work.queue import enqueue_on_commit
from webhooks.outbound import endpoints
from webhooks.outbound.models import WebhookAttempt, WebhookMessage

Status = WebhookMessage.Status
DELIVER_TASK = "webhooks.deliver_message"
REDELIVERABLE = (Status.PENDING, Status.FAILED, Status.SUCCEEDED)
# A recovery enqueues this many at once; the beat job sends the rest within seconds.
RECOVER_ENQUEUE_LIMIT = 1000


def _message_not_found(message_id):
    return NotFound(f"No message {message_id} of this webhook endpoint.", title="Webhook message not found")


def list_messages(principal, endpoint_id, *, status=None, event_type=None, since=None):
    """The endpoint's messages, newest first (a queryset). `event_type` is a type filter (wildcards allowed);
    `since` keeps those created at or after it."""
    endpoint = endpoints.get_endpoint(principal, endpoint_id)
    queryset = WebhookMessage.objects.filter(organization=principal.organization, endpoint=endpoint)
    if status:
        if status not in Status.values:
            raise Invalid(f"status: Must be one of: {', '.join(Status.values)}.", field="status")
        queryset = queryset.filter(status=status)
    if event_type:
        problem = filter_error(event_type)
        if problem:
            raise Invalid(f"eventType: {problem}", field="eventType")
        queryset = queryset.filter(type_q(event_type, "event_type"))
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    return queryset.select_related("event")


def get_message(principal, endpoint_id, message_id):
    """One message of the endpoint, or NotFound."""
    message = list_messages(principal, endpoint_id).filter(pk=message_id).first()
    if message is None:
        raise _message_not_found(message_id)
    return message


def list_attempts(principal, endpoint_id, message_id):
    """The message's attempts, newest first (a queryset)."""
    message = get_message(principal, endpoint_id, message_id)
    return WebhookAttempt.objects.filter(organization=principal.organization, message=message)


def _require_enabled(endpoint, doing):
    if not endpoint.enabled:
        reason = endpoint.disabled_reason or "manual"
        raise Conflict(f"Webhook endpoint {endpoint.pk} is disabled (reason: {reason}); enable it to {doing}.",
                       disabledReason=reason)


def redeliver(principal, endpoint_id, message_id, now=None):
    """Send the message again now (see the module docstring); returns it, pending."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = endpoints.get_endpoint(principal, endpoint_id)
        message = get_message(principal, endpoint_id, message_id)
        if message.status == Status.CANCELLED:
            raise Conflict(f"Message {message.pk} was cancelled (its endpoint was deleted); it cannot be sent again.",
                           status=message.status)
        if message.status == Status.SENDING:
            raise Conflict(f"Message {message.pk} is being delivered right now; redeliver it once this attempt "
                           "has finished.", status=message.status)
        _require_enabled(endpoint, "redeliver its messages")
        changed = WebhookMessage.objects.filter(pk=message.pk, status__in=REDELIVERABLE).update(
            status=Status.PENDING, next_attempt_at=now, finished_at=None, lease_expires_at=None)
        if not changed:
            raise Conflict(f"Message {message.pk} changed meanwhile; read it again.")
        enqueue_on_commit(DELIVER_TASK, (message.pk, WebhookAttempt.Trigger.MANUAL), robust=True)
    message.refresh_from_db()
    return message


def recover(principal, endpoint_id, since, now=None):
    """Every failed message of the endpoint created at or after `since` is pending again and sent now;
    returns how many."""
    now = now or timezone.now()
    if since is None:
        raise Invalid("Missing required field: since", field="since")
    if since > now:
        raise Invalid("since: Must not be in the future.", field="since")
    with transaction.atomic():
        endpoint = endpoints.get_endpoint(principal, endpoint_id)
        _require_enabled(endpoint, "recover its messages")
        failed = WebhookMessage.objects.filter(endpoint=endpoint, status=Status.FAILED, created_at__gte=since)
        # An ordered endpoint sends them one after the other; the first's end enqueues the next.
        first = list(failed.order_by("position").values_list("pk", flat=True)
                     [:1 if endpoint.ordered else RECOVER_ENQUEUE_LIMIT])
        count = failed.update(status=Status.PENDING, next_attempt_at=now, finished_at=None, lease_expires_at=None)
        for message_id in first:
            enqueue_on_commit(DELIVER_TASK, (message_id, WebhookAttempt.Trigger.RECOVER), robust=True)
    return count
