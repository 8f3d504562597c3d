"""What a delivery carries: its body and its signed headers.

Body: `{"id": "evt_...", "type", "timestamp": ISO 8601 of occurredAt, "data"}` as compact JSON bytes, the
same on every attempt. Headers (Standard Webhooks):
- `webhook-id`: the message id (`msg_...`), the same on every attempt and redelivery: receivers dedupe by it;
- `webhook-timestamp`: the attempt's Unix time in seconds;
- `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with the secret, followed by
  a second `v1,...` with the previous secret while it is still valid after a rotation. A `whsec_` secret is
  the base64 of the key (as the standardwebhooks library reads it); any other secret is its UTF-8 bytes;
- `X-Plexica-Signature-256`: `sha256=<hex HMAC-SHA256 of the raw body>` keyed with the secret string's
  UTF-8 bytes (the check of the seed's verification snippet); during a rotation
  `X-Plexica-Signature-256-Previous` carries the same with the previous secret, so a receiver that still
  holds the old secret verifies that header until it switches.
"""

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC

from django.utils import timezone
from standardwebhooks.webhooks import Webhook

USER_AGENT = "Plexica-Webhooks/1"
SECRET_PREFIX = "whsec_"
PLEXICA_SIGNATURE = "X-Plexica-Signature-256"
PLEXICA_SIGNATURE_PREVIOUS = "X-Plexica-Signature-256-Previous"


def signing_key(secret):
    """The HMAC key of Standard Webhooks signatures: a `whsec_` secret's base64 payload, else UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX):] + "==")  # as the library decodes it
        except (binascii.Error, ValueError):
            key = b""
        if key:
            return key
    return secret.encode("utf-8")


def timestamp_text(moment):
    """ISO 8601 in UTC with a Z, as the API writes times."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def body_of(event):
    """The delivery body of `event`: compact JSON bytes, identical on every attempt."""
    payload = {"id": event.public_id, "type": event.type, "timestamp": timestamp_text(event.occurred_at),
               "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False).encode("utf-8")


def standard_signature(secret, message_id, moment, body):
    """`v1,<base64>` of Standard Webhooks for `body` sent as `message_id` at `moment` (a datetime)."""
    return Webhook(signing_key(secret)).sign(message_id, moment, body.decode("utf-8"))


def plexica_signature(secret, body):
    """`sha256=<hex HMAC-SHA256 of body>` keyed with the secret's UTF-8 bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def active_secrets(endpoint, now):
    """The endpoint's secret, then its previous one while that is still valid."""
    secrets = [endpoint.secret]
    if (endpoint.previous_secret and endpoint.previous_secret_expires_at
            and endpoint.previous_secret_expires_at > now):
        secrets.append(endpoint.previous_secret)
    return secrets


def headers_for(endpoint, message_id, body, now=None):
    """The headers of one attempt of `message_id` to `endpoint` at `now`."""
    now = now or timezone.now()
    now = now.replace(microsecond=0)
    secrets = active_secrets(endpoint, now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(standard_signature(secret, message_id, now, body) for secret in secrets),
        PLEXICA_SIGNATURE: plexica_signature(secrets[0], body),
    }
    if len(secrets) > 1:
        headers[PLEXICA_SIGNATURE_PREVIOUS] = plexica_signature(secrets[1], body)
    return headers
