"""The providers whose webhooks the ingress accepts: how each signs, names its events, and handles them.

A provider app (connectors for GitHub) registers itself once, from its AppConfig.ready(); the ingress
knows nothing provider-specific beyond what is registered here.
"""

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings

from webhooks.inbound.models import WebhookDelivery


@dataclass
class HandlerResult:
    """What handling one delivery did: sync events queued, other rows changed, and why when nothing was."""

    queued: int = 0
    changed: int = 0
    reason: str = ""
    details: dict = field(default_factory=dict)

    @property
    def status(self):
        if self.queued:
            return WebhookDelivery.Status.QUEUED  # work continues in the sync worker
        return WebhookDelivery.Status.PROCESSED if self.changed else WebhookDelivery.Status.IGNORED

    def as_json(self):
        result = {"queued": self.queued, "changed": self.changed, **self.details}
        if self.reason:
            result["reason"] = self.reason
        return result


@dataclass(frozen=True)
class WebhookProvider:
    """One provider's webhook conventions.

    `verify_signature(body, headers, secret)` sees the raw body only; `handle(delivery, payload)` runs
    inside the request's transaction, does database work only (no provider API calls) and enqueues
    anything slow with transaction.on_commit. It may raise plexica.errors.Invalid for a payload that
    lacks what its event needs: the delivery is then not stored and the sender gets a 400.
    `unhandled_reason(event, payload)` says why a handled event's payload is still not ours (kept as
    ignored, answered 200 not accepted), or "". `form_payload_field` names the field of a form-encoded
    body that holds the JSON; without one, a body is JSON only.
    """

    name: str
    secret_setting: str
    verify_signature: Callable[[bytes, Mapping, str], bool]
    event_header: str
    delivery_header: str
    handled_events: frozenset
    handle: Callable[[WebhookDelivery, dict], HandlerResult]
    recorded_headers: tuple = ()  # kept with the delivery for the admin; never secrets or cookies
    unhandled_reason: Callable[[str, dict], str] | None = None
    form_payload_field: str = ""

    def get_secret(self):
        """The signing secret, read at call time so a changed setting applies at once ("" if unset)."""
        return getattr(settings, self.secret_setting, "") or ""


_providers: dict[str, WebhookProvider] = {}


def register_provider(provider):
    """Register (or replace, for reloads and tests) the provider under its name."""
    _providers[provider.name] = provider
    return provider


def get_provider(name):
    return _providers.get(name)


def hmac_sha256_signature_valid(body, signature, secret, *, prefix="sha256="):
    """Whether `signature` is `prefix` + hex HMAC-SHA256 of the raw `body` under `secret` (constant time)."""
    if not signature or not secret or not signature.startswith(prefix):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a header may carry any byte.
    given = signature[len(prefix):].strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)
