"""Delivering messages: claim, sign, POST, record the attempt, release with the next state.

Messages are a LeasedQueue (plexica.work.leases): a pending message is claimable once due
(`next_attempt_at`), a sending one whose lease expired (its worker died) is taken over. A claim counts the
attempt. The delivery is at least once: a worker killed after its POST but before its release leaves the
message to be sent again, with the same `webhook-id`, which receivers dedupe by.

Outcomes:
- 2xx: succeeded.
- anything else (a 3xx too: redirects are never followed), a timeout, a refused connection or address:
  retried on WEBHOOK_RETRY_SCHEDULE (Standard Webhooks': 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h,
  24 h), each delay jittered by ±20%; a 429 or 503 with `Retry-After` (seconds or an HTTP date) waits at
  least that long, at most an hour. After the last retry the message is failed.
- 410 Gone disables the endpoint at once (reason `gone`).
- An endpoint whose attempts have all failed for WEBHOOK_DISABLE_AFTER_SECONDS (5 days; `failing_since` is
  set by the first failure after a success and cleared by a success) is disabled (reason `failing`).
  Disabling emits `webhook.endpoint.disabled` in the same transaction and fails the endpoint's pending
  messages (error "endpoint disabled"): after re-enabling it, `recover` sends them again.
- A message of a disabled endpoint is failed without an attempt; one of a deleted endpoint is cancelled.

Ordered endpoints get their messages strictly in event position order: a message is not claimed while an
earlier one of its endpoint is pending or sending, and when one finishes (succeeded, or failed after its
retries) the next is enqueued.
"""

import random
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from plexica.observability.metrics import count_webhook_attempt
from plexica.work.leases import LeasedQueue
from plexica.work.queue import enqueue_on_commit
from webhooks.outbound import client, endpoints, signing
from webhooks.outbound.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

Status = WebhookMessage.Status
MESSAGES = LeasedQueue(WebhookMessage, ready=[Status.PENDING], held=Status.SENDING, due_field="next_attempt_at",
                       claimed_at_field="claimed_at", attempts_field="attempts")
DELIVER_TASK = "webhooks.deliver_message"
JITTER = 0.2
RETRY_AFTER_CAP_SECONDS = 3600
RETRY_AFTER_STATUSES = (429, 503)
# A fresh message is enqueued by the fan-out; the beat job sends it too only once it waited this long.
FRESH_GRACE = timedelta(seconds=30)
# The beat job enqueues a message again only after this long: under a backlog a due message waits in the
# broker's queue, and enqueuing it at every run would flood the queue with no-op claims.
REENQUEUE_AFTER_SECONDS = 30


def lease():
    """How long a claim holds a message: the whole request's timeout twice, plus a margin."""
    return timedelta(seconds=2 * float(settings.WEBHOOK_TIMEOUT_SECONDS) + 5)


def _clean(text):
    return (text or "").replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL


def waits_for_earlier_q():
    """Messages of an ordered endpoint that an earlier (lower position) pending or sending one holds back."""
    earlier = WebhookMessage.objects.filter(endpoint_id=OuterRef("endpoint_id"), position__lt=OuterRef("position"),
                                            status__in=WebhookMessage.OPEN_STATUSES)
    return Q(endpoint__ordered=True) & Q(Exists(earlier))


def claim(message_id, now):
    """Claim `message_id` for an attempt at `now` (one UPDATE); False when it is not claimable (not due,
    finished, held by a live worker, or behind an earlier message of an ordered endpoint)."""
    candidates = MESSAGES.claimable(now).filter(pk=message_id).exclude(waits_for_earlier_q())
    return bool(candidates.update(status=Status.SENDING, lease_expires_at=now + lease(), claimed_at=now,
                                  attempts=F("attempts") + 1))


def retry_after_seconds(value, now):
    """Seconds a `Retry-After` header asks to wait (a number of seconds or an HTTP date), or None."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(attempts, answer, now, rng=None):
    """Seconds before the next attempt of a message that failed its attempt number `attempts`, or None
    when it has no retry left."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    base = float(schedule[attempts - 1])
    wait = base * (1 - JITTER + 2 * JITTER * (rng or random.random)())
    if answer.status_code in RETRY_AFTER_STATUSES:
        asked = retry_after_seconds(answer.headers.get("retry-after"), now)
        if asked is not None:
            wait = max(wait, min(asked, RETRY_AFTER_CAP_SECONDS))
    return wait


def disable_endpoint(endpoint, reason, now):
    """Disable `endpoint` for `reason` (gone or failing) unless it already is: emit
    webhook.endpoint.disabled and fail its pending messages, in the caller's transaction. True when it
    was disabled here."""
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
    if not changed:
        return False
    endpoint.enabled, endpoint.disabled_reason, endpoint.disabled_at = False, reason, now
    endpoints.emit_disabled(None, endpoint)
    endpoints.fail_pending_messages(endpoint.pk, reason, now)
    return True


def _release_without_attempt(message, now):
    endpoint = message.endpoint
    if endpoint.deleted_at is not None:
        MESSAGES.release(message, status=Status.CANCELLED, finished_at=now, next_attempt_at=None,
                         attempts=F("attempts") - 1, last_error="The endpoint was deleted.")
    else:
        MESSAGES.release(message, status=Status.FAILED, finished_at=now, next_attempt_at=None,
                         attempts=F("attempts") - 1,
                         last_error=endpoints.DISABLED_ERROR.format(reason=endpoint.disabled_reason or "manual"))


def _enqueue_next_of_ordered(message):
    next_id = (WebhookMessage.objects.filter(endpoint_id=message.endpoint_id, status=Status.PENDING,
                                             position__gt=message.position)
               .order_by("position").values_list("pk", flat=True).first())
    if next_id:
        enqueue_on_commit(DELIVER_TASK, (next_id,), robust=True)


def deliver(message_id, trigger=WebhookAttempt.Trigger.SCHEDULED, *, now=None, rng=None):
    """One attempt of `message_id` if it can be claimed now; returns the recorded WebhookAttempt, or None
    when there was nothing to do (not claimable, or the endpoint is disabled or deleted)."""
    now = now or timezone.now()
    if not claim(message_id, now):
        return None
    message = (WebhookMessage.objects.select_related("endpoint__organization", "event")
               .get(pk=message_id))
    endpoint = message.endpoint
    if endpoint.deleted_at is not None or not endpoint.enabled:
        with transaction.atomic():
            _release_without_attempt(message, now)
            if endpoint.ordered:
                _enqueue_next_of_ordered(message)
        return None

    body = signing.body_of(message.event)
    answer = client.post(endpoint.url, body, signing.headers_for(endpoint, message.pk, body, now))
    finished = timezone.now()
    attempt = WebhookAttempt(
        organization_id=message.organization_id, message=message, endpoint=endpoint, number=message.attempts,
        trigger=trigger, url=endpoint.url[:2000], started_at=now, duration_ms=answer.duration_ms,
        status_code=answer.status_code, response_body=_clean(answer.body)[:client.RESPONSE_KEEP_BYTES],
        error=_clean(answer.error),
        outcome=WebhookAttempt.Outcome.SUCCEEDED if answer.ok else WebhookAttempt.Outcome.FAILED,
    )
    common = {"last_status_code": answer.status_code, "last_error": attempt.error[:2000]}
    with transaction.atomic():
        attempt.save()
        if answer.ok:
            changes = {"status": Status.SUCCEEDED, "finished_at": finished, "next_attempt_at": None, **common}
        elif answer.status_code == 410:
            changes = {"status": Status.FAILED, "finished_at": finished, "next_attempt_at": None, **common}
        else:
            wait = retry_delay(message.attempts, answer, finished, rng)
            if wait is None:
                changes = {"status": Status.FAILED, "finished_at": finished, "next_attempt_at": None, **common}
            else:
                changes = {"status": Status.PENDING, "next_attempt_at": finished + timedelta(seconds=wait),
                           "finished_at": None, **common}
        count_webhook_attempt("succeeded" if answer.ok else "failed")  # plexica_webhook_delivery_attempts_total
        if not MESSAGES.release(message, **changes):
            return attempt  # taken over after the lease expired: the new holder decides
        _record_endpoint_health(endpoint, message, answer, finished)
        if endpoint.ordered and changes["status"] != Status.PENDING:
            _enqueue_next_of_ordered(message)
    return attempt


def _record_endpoint_health(endpoint, message, answer, now):
    """A success clears the endpoint's failing run; a failure starts it, or disables an endpoint failing for
    too long; a 410 disables it at once."""
    if answer.ok:
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        return
    if answer.status_code == 410:
        disable_endpoint(endpoint, WebhookEndpoint.DisabledReason.GONE, now)
        return
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    elif (now - endpoint.failing_since).total_seconds() >= settings.WEBHOOK_DISABLE_AFTER_SECONDS:
        disable_endpoint(endpoint, WebhookEndpoint.DisabledReason.FAILING, now)  # fails this message too


def due_messages(now=None, limit=500):
    """(id, attempts) of the messages the beat job sends: retries that are due, abandoned ones (their
    worker's lease expired), and fresh ones the fan-out's enqueue did not reach within FRESH_GRACE; not
    those an ordered endpoint holds back. Oldest due first, at most `limit`, in one query."""
    now = now or timezone.now()
    due = Q(status=Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    retry_or_stale = Q(attempts__gt=0) | Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - FRESH_GRACE)
    abandoned = Q(status=Status.SENDING, lease_expires_at__lte=now)
    return list(WebhookMessage.objects.filter((due & retry_or_stale) | abandoned)
                .exclude(waits_for_earlier_q()).order_by("next_attempt_at")
                .values_list("pk", "attempts")[:limit])


def due_message_ids(now=None, limit=500):
    return [pk for pk, _attempts in due_messages(now, limit)]


def not_recently_enqueued(due):
    """The ids of `due` ((id, attempts) pairs) the beat job did not enqueue for that attempt within
    REENQUEUE_AFTER_SECONDS, now marked (two cache round trips whatever their number)."""
    keys = {f"webhooks:enqueued:{pk}:{attempts}": pk for pk, attempts in due}
    seen = cache.get_many(list(keys))
    fresh = {key: 1 for key in keys if key not in seen}
    if fresh:
        cache.set_many(fresh, timeout=REENQUEUE_AFTER_SECONDS)
    return [keys[key] for key in fresh]
