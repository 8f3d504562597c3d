"""Receiving an inbound webhook: check, read, verify, store once, hand to the provider, record the result.

The order is the contract (issue 6): secret configured (503), body within the cap (413), signature over the
raw body (401), event and delivery headers present and the event handled (200, not accepted), JSON (400),
a payload meant for us (200, not accepted, otherwise: GitHub's without an installation), then accepted
(202). Nothing is parsed before the signature is verified. The JSON is the body, or the provider's field of
a form-encoded body (GitHub's `payload=` when a hook's content type is form); the signature covers the raw
body either way.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from plexica.errors import DomainError, Invalid, NotFound, PayloadTooLarge, ServiceUnavailable
from webhooks.inbound.models import WebhookDelivery
from webhooks.inbound.providers import get_provider

logger = logging.getLogger("plexica.webhooks")

INVALID_SIGNATURE = {"ok": False, "error": "invalid signature"}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_ALWAYS_RECORDED_HEADERS = ("User-Agent", "Content-Type")
_MAX_DELIVERY_ID = WebhookDelivery._meta.get_field("delivery_id").max_length
_MAX_EVENT = WebhookDelivery._meta.get_field("event").max_length
_MAX_ACTION = WebhookDelivery._meta.get_field("action").max_length


@dataclass
class Receipt:
    """The answer to a delivery: a status code and the contract's body."""

    status: int
    body: dict
    delivery: WebhookDelivery | None = None


class HandlerFailed(DomainError):
    """The provider's handler broke on a stored delivery: it is marked failed, and a redelivery retries it."""

    status, title, code = 500, "Internal server error", "webhook_handler_failed"

    def __init__(self, delivery):
        super().__init__(f"Handling delivery {delivery.delivery_id} failed; a redelivery will retry it.")
        self.delivery = delivery


def read_capped_body(stream, declared_length, limit):
    """Read at most `limit` bytes of a request body; PayloadTooLarge if it declares or turns out to be longer."""
    message = f"Request body is larger than {limit} bytes."
    if declared_length not in (None, ""):
        try:
            declared = int(declared_length)
        except (TypeError, ValueError):
            raise Invalid("Content-Length is not a number.") from None
        if declared > limit:
            raise PayloadTooLarge(message)
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(message)
    return body


def receive_delivery(provider_name, headers, stream, *, content_length=None, max_body_bytes=None):
    """Take one inbound delivery for `provider_name` from its headers and body stream; return the Receipt.

    Raises NotFound (unknown provider), ServiceUnavailable (no secret), PayloadTooLarge, Invalid (malformed
    JSON, or a payload its handler cannot use: nothing is stored then) and HandlerFailed (stored as failed).
    """
    provider = get_provider(provider_name)
    if provider is None:
        raise NotFound(f"No webhook provider named {provider_name!r}.")
    secret = provider.get_secret()
    if not secret:
        raise ServiceUnavailable(
            f"{provider.name} webhooks are not configured: set {provider.secret_setting}.",
            code="webhook_secret_missing",
        )
    limit = max_body_bytes or settings.WEBHOOK_MAX_BODY_BYTES
    body = read_capped_body(stream, content_length, limit)
    if not provider.verify_signature(body, headers, secret):
        return Receipt(401, dict(INVALID_SIGNATURE))

    event = (headers.get(provider.event_header) or "").strip()
    delivery_id = (headers.get(provider.delivery_header) or "").strip()
    required = ((provider.event_header, event), (provider.delivery_header, delivery_id))
    missing = [name for name, value in required if not value]
    if missing:
        return _not_accepted(f"missing header {' and '.join(missing)}")
    if len(delivery_id) > _MAX_DELIVERY_ID:
        raise Invalid(f"{provider.delivery_header} is longer than {_MAX_DELIVERY_ID} characters.")
    if len(event) > _MAX_EVENT:
        raise Invalid(f"{provider.event_header} is longer than {_MAX_EVENT} characters.")
    recorded = _recorded_headers(provider, headers)

    if event not in provider.handled_events:
        reason = f"event {event} is not handled"
        delivery, _ = _store_ignored(provider, delivery_id, event, recorded, body, reason)
        return _not_accepted(reason, delivery)

    payload = parse_payload(body, headers.get("Content-Type") or "", form_field=provider.form_payload_field)
    action = _action(payload)
    reason = provider.unhandled_reason(event, payload) if provider.unhandled_reason else ""
    if reason:
        delivery, _ = _store_ignored(provider, delivery_id, event, recorded, body, reason, action=action)
        return _not_accepted(reason, delivery)
    return _accept(provider, delivery_id, event, action, recorded, body, payload)


def parse_payload(body, content_type="", *, form_field=""):
    """The JSON object of a verified body; Invalid (400) for anything else.

    With a `form_field` and a form-encoded `content_type`, the JSON is that field's one value.
    """
    where = ""
    if form_field and content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
        body, where = _form_value(body, form_field), f" in the {form_field} field"
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise Invalid(f"Malformed JSON{where}: nested too deeply.", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"Malformed JSON{where}: {exc}", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise Invalid("The payload must be a JSON object.", code="invalid_json")
    return payload


def _form_value(body, name):
    """The one value of field `name` in a URL-encoded form body; Invalid saying what is wrong otherwise."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"Malformed form body: {exc}", code="invalid_form") from None
    values = fields.get(name, [])
    if len(values) != 1:
        problem = f"needs a {name} field" if not values else f"has more than one {name} field"
        raise Invalid(f"A form-encoded delivery {problem}.", code="invalid_form", field=name)
    return values[0]


def _action(payload):
    """The payload's `action` as stored (cut to the column); Invalid when no row could hold it at all (a NUL
    or a lone surrogate: PostgreSQL refuses both, which would be a 500)."""
    action = payload.get("action")
    if not isinstance(action, str):
        return ""
    if "\x00" in action or any("\ud800" <= char <= "\udfff" for char in action):
        raise Invalid("Invalid field: action (a NUL character or an invalid one)", field="action")
    return action[:_MAX_ACTION]


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _not_accepted(reason, delivery=None):
    return Receipt(200, {"ok": True, "accepted": False, "reason": reason}, delivery)


def _recorded_headers(provider, headers):
    return {name: headers[name] for name in (*provider.recorded_headers, *_ALWAYS_RECORDED_HEADERS)
            if headers.get(name)}


def _new_delivery(provider, delivery_id, event, action, headers, body):
    return WebhookDelivery(
        provider=provider.name, delivery_id=delivery_id, event=event, action=action, signature_valid=True,
        headers=headers, body=body, body_sha256=hashlib.sha256(body).hexdigest(),
    )


def _insert_once(delivery):
    """Insert the delivery unless (provider, delivery id) exists: (row, created). Safe against a race."""
    try:
        with transaction.atomic():
            delivery.save(force_insert=True)
        return delivery, True
    except IntegrityError:
        # The unique constraint decides: a concurrent insert waits for the first to commit, then fails here.
        existing = WebhookDelivery.objects.get(provider=delivery.provider, delivery_id=delivery.delivery_id)
        return existing, False


def _store_ignored(provider, delivery_id, event, headers, body, reason, action=""):
    delivery = _new_delivery(provider, delivery_id, event, action, headers, body)
    delivery.status, delivery.result = WebhookDelivery.Status.IGNORED, {"reason": reason}
    delivery.processed_at = timezone.now()
    return _insert_once(delivery)


def _claim_failed_redelivery(stored, incoming):
    """A failed delivery is handled again when it is redelivered; exactly one redelivery wins the claim.

    The stored row takes the redelivery's body, so it always holds what was last handled.
    """
    if stored.status != WebhookDelivery.Status.FAILED:
        return None
    fresh = {"status": WebhookDelivery.Status.RECEIVED, "error": "", "result": {}, "processed_at": None,
             "received_at": timezone.now(), "action": incoming.action, "headers": incoming.headers,
             "body": incoming.body, "body_sha256": incoming.body_sha256}
    if not WebhookDelivery.objects.filter(pk=stored.pk, status=WebhookDelivery.Status.FAILED).update(**fresh):
        return None
    for name, value in fresh.items():
        setattr(stored, name, value)
    return stored


def _accept(provider, delivery_id, event, action, headers, body, payload):
    with transaction.atomic():
        incoming = _new_delivery(provider, delivery_id, event, action, headers, body)
        delivery, created = _insert_once(incoming)
        if not created:
            retried = _claim_failed_redelivery(delivery, incoming)
            if retried is None:
                return Receipt(202, {"ok": True, "accepted": True, "deliveryId": delivery_id, "event": event,
                                     "queued": 0, "duplicate": True}, delivery)
            delivery = retried
        try:
            # A savepoint: on failure the handler's rows and on_commit callbacks go, the delivery row stays.
            with transaction.atomic():
                result = provider.handle(delivery, payload)
        except DomainError:
            raise  # the payload cannot be used: roll everything back, nothing is stored (400)
        except Exception as exc:
            logger.exception("Webhook %s %s %s failed", provider.name, event, delivery_id)
            _record(delivery, WebhookDelivery.Status.FAILED, {}, error=f"{type(exc).__name__}: {exc}")
            failure = HandlerFailed(delivery)
        else:
            _record(delivery, result.status, result.as_json())
            failure = None
    if failure is not None:
        raise failure
    return Receipt(202, {"ok": True, "accepted": True, "deliveryId": delivery_id, "event": event,
                         "queued": result.queued}, delivery)


def _record(delivery, status, result, error=""):
    delivery.status, delivery.result, delivery.error = status, result, error
    delivery.processed_at = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status, result=result, error=error, processed_at=delivery.processed_at
    )
