"""Webhook endpoint rules: subscribe a URL, change it, rotate its secret, send it a test event, enable,
disable and delete it. No HTTP: the API and the admin call these with the acting principal first.

Who: organization admins (owners and admins, organization keys, superusers, the system) manage every
endpoint of the organization; a plugin's key manages, and sees, only the endpoints it created (their
`plugin` is its plugin); members may not (403). Another organization's endpoint, another plugin's (for a
plugin key) and a deleted one are answered as unknown (404).

What: the URL is absolute http(s) and passes the webhook network policy (plexica.network.WEBHOOK_POLICY:
public addresses, private ones only inside WEBHOOK_ALLOWED_NETWORKS, link-local and metadata never) when
it is set and whenever it changes; the event filters are 1 to 50 type filters (plexica.events.patterns,
duplicates dropped); the secret follows webhooks.outbound.secrets and is returned only by create and
rotate. Every broken rule is an Invalid naming its field, and changes nothing.
"""

from datetime import timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from plexica.errors import Conflict, Forbidden, Invalid, NotFound
from plexica.events.log import emit
from plexica.events.patterns import filter_error, matches_any, type_error
from plexica.network import WEBHOOK_POLICY, NetworkPolicyError, check_url
from plexica.plugins.capabilities import Capability, require_plugin_capability
from webhooks.outbound import events as event_types
from webhooks.outbound import secrets
from webhooks.outbound.models import WebhookEndpoint, WebhookMessage

MAX_URL_LENGTH = WebhookEndpoint._meta.get_field("url").max_length
MAX_DESCRIPTION_LENGTH = WebhookEndpoint._meta.get_field("description").max_length
MAX_FILTERS = 50
# How long the secret before a rotation still signs deliveries (and verifies, on the receiver's side).
PREVIOUS_SECRET_VALID_FOR = timedelta(hours=24)
_UNSET = object()
DISABLED_ERROR = "The endpoint is disabled ({reason}); recover its messages after enabling it."


# Checking input (also used by the admin's forms, so a form names the field the rule refuses)


def url_error(url):
    """Why `url` cannot be an endpoint's URL, or None when it can (resolving its host: the policy checks
    every address the name has now)."""
    if not isinstance(url, str) or not url:
        return "A URL is required."
    if len(url) > MAX_URL_LENGTH:
        return f"A URL is at most {MAX_URL_LENGTH} characters."
    if any(char <= " " or char == "\x7f" for char in url):
        return "A URL holds no spaces or control characters (percent-encode them)."
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:  # an unclosed "[", a port that is no number or out of range
        return "Must be an absolute http:// or https:// URL with a valid host and port."
    if parts.scheme not in ("http", "https") or not host:
        return "Must be an absolute http:// or https:// URL."
    if parts.username is not None or parts.password is not None:
        return "Must not carry credentials (user:password@): receivers verify the signature instead."
    try:
        check_url(url, WEBHOOK_POLICY)
    except NetworkPolicyError as exc:
        if str(exc).startswith("host "):
            return f"The {exc}."  # the name does not resolve: no address to judge
        return f"Not allowed by the webhook network policy: {exc}."
    except (UnicodeError, ValueError):  # the resolver refuses the name itself (an empty or 64+ letter label)
        return f"The host '{host}' is not a valid host name."
    return None


def clean_url(url):
    problem = url_error(url)
    if problem:
        raise Invalid(f"url: {problem}", field="url")
    return url


def event_filters_error(filters):
    """(cleaned filters, None), or (None, why they are refused): 1 to 50 type filters, duplicates dropped in
    the order given."""
    if not isinstance(filters, (list, tuple)):
        return None, "A list of event type filters is required (e.g. [\"config_object.*\"], or [\"*\"])."
    if not filters:
        return None, "Give at least one event type filter ('*' for every event)."
    if len(filters) > MAX_FILTERS:
        return None, f"At most {MAX_FILTERS} event type filters; this list has {len(filters)}."
    for index, value in enumerate(filters):
        problem = filter_error(value)
        if problem is None and value != "".join(value.split()):
            problem = "A type filter holds no whitespace."
        if problem:
            return None, f"[{index}] {value!r}: {problem}" if isinstance(value, str) else f"[{index}]: {problem}"
    return list(dict.fromkeys(filters)), None


def clean_event_filters(filters):
    cleaned, problem = event_filters_error(filters)
    if problem:
        raise Invalid(f"events{'' if problem.startswith('[') else ': '}{problem}", field="events")
    return cleaned


def clean_secret(secret):
    problem = secrets.secret_error(secret)
    if problem:
        raise Invalid(f"secret: {problem}", field="secret")
    return secret


def clean_description(description):
    if not isinstance(description, str):
        raise Invalid("description: Must be a string.", field="description")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise Invalid(f"description: At most {MAX_DESCRIPTION_LENGTH} characters.", field="description")
    return description


# Who


def _require_manager(principal):
    if principal.is_org_admin or principal.plugin is not None:
        return
    raise Forbidden(
        "Managing webhook endpoints needs an organization admin (an owner or admin member, or an org API key) "
        "or a plugin's API key; a member cannot.",
        code="org_capability_required", capability="org_admin",
    )


def _visible(principal):
    """The endpoints the caller may see and manage (not deleted); checks the caller may manage any."""
    _require_manager(principal)
    queryset = WebhookEndpoint.objects.filter(organization=principal.organization, deleted_at__isnull=True)
    if principal.plugin is not None:
        queryset = queryset.filter(plugin=principal.plugin)
    return queryset.select_related("plugin")


def _not_found(endpoint_id):
    return NotFound(f"No webhook endpoint {endpoint_id} in this organization.", title="Webhook endpoint not found")


def _find(principal, endpoint_id, lock=False):
    queryset = _visible(principal)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    endpoint = queryset.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise _not_found(endpoint_id)
    return endpoint


# Reading


def list_endpoints(principal):
    """The caller's endpoints (a queryset, newest first): all of the organization's for an admin, its own for
    a plugin key; deleted ones are gone."""
    return _visible(principal)


def get_endpoint(principal, endpoint_id):
    """One endpoint the caller may manage, or NotFound."""
    return _find(principal, endpoint_id)


def matching_event_type(queryset, event_type):
    """The endpoints of `queryset` whose filters select `event_type` (Invalid naming eventType when it is
    not a type). Filters are patterns, so they are matched here over the (id, filters) pairs."""
    problem = type_error(event_type)
    if problem:
        raise Invalid(f"eventType: {problem}", field="eventType")
    ids = [pk for pk, filters in queryset.values_list("pk", "event_types") if matches_any(filters or [], event_type)]
    return queryset.filter(pk__in=ids)


def previous_secret_valid_until(endpoint, now=None):
    """When the secret before the last rotation stops signing deliveries, or None when it already has."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires and expires > (now or timezone.now()):
        return expires
    return None


# Changing


def create_endpoint(principal, *, url, events, secret=None, description="", enabled=True, ordered=False,
                    now=None):
    """Subscribe `url` to the events its filters select; returns (endpoint, secret): the secret is shown
    this once (generated as `whsec_` + base64 of 32 random bytes when None). A plugin key's endpoint belongs
    to its plugin, which needs the EVENTS_SUB capability."""
    _require_manager(principal)
    require_plugin_capability(principal, Capability.EVENTS_SUB, "subscribing a webhook endpoint to events")
    event_filters = clean_event_filters(events)
    description = clean_description(description)
    secret = secrets.generate() if secret is None else clean_secret(secret)
    url = clean_url(url)  # last: it resolves the host
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        organization=principal.organization, plugin=principal.plugin, url=url, description=description,
        event_types=event_filters, enabled=bool(enabled), ordered=bool(ordered), secret=secret,
        disabled_reason="" if enabled else WebhookEndpoint.DisabledReason.MANUAL,
        disabled_at=None if enabled else now, created_by=principal.user, created_at=now, updated_at=now,
    )
    return endpoint, secret


def update_endpoint(principal, endpoint_id, *, url=_UNSET, events=_UNSET, description=_UNSET, enabled=_UNSET,
                    ordered=_UNSET, now=None):
    """Change what is given; returns the endpoint. A new URL passes the network policy again. Enabling clears
    the disabled reason and the failing run; disabling records the reason `manual`, emits
    `webhook.endpoint.disabled` and fails the messages still waiting (see fail_pending_messages)."""
    now = now or timezone.now()
    if events is not _UNSET or (enabled is not _UNSET and enabled):
        # What an endpoint receives changes (or starts again): a plugin key's plugin needs EVENTS_SUB.
        require_plugin_capability(principal, Capability.EVENTS_SUB, "subscribing a webhook endpoint to events")
    with transaction.atomic():
        endpoint = _find(principal, endpoint_id, lock=True)
        changed = []
        if events is not _UNSET:
            endpoint.event_types = clean_event_filters(events)
            changed.append("event_types")
        if description is not _UNSET:
            endpoint.description = clean_description(description)
            changed.append("description")
        if ordered is not _UNSET:
            endpoint.ordered = bool(ordered)
            changed.append("ordered")
        if url is not _UNSET and url != endpoint.url:
            endpoint.url = clean_url(url)
            changed.append("url")
        if enabled is not _UNSET and bool(enabled) != endpoint.enabled:
            changed += _enable(endpoint, now) if enabled else _disable(principal, endpoint, now)
        if changed:
            endpoint.updated_at = now
            endpoint.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    return endpoint


def set_enabled(principal, endpoint_id, enabled, now=None):
    """Enable or disable an endpoint (see update_endpoint); enabling an enabled one changes nothing."""
    return update_endpoint(principal, endpoint_id, enabled=enabled, now=now)


def _enable(endpoint, now):
    endpoint.enabled = True
    endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since = "", None, None
    return ["enabled", "disabled_reason", "disabled_at", "failing_since"]


def _disable(principal, endpoint, now, reason=WebhookEndpoint.DisabledReason.MANUAL):
    endpoint.enabled = False
    endpoint.disabled_reason, endpoint.disabled_at = reason, now
    emit_disabled(principal, endpoint)
    fail_pending_messages(endpoint.pk, reason, now)
    return ["enabled", "disabled_reason", "disabled_at"]


def fail_pending_messages(endpoint_id, reason, now):
    """Fail the endpoint's messages waiting for an attempt, now that it is disabled (a message in flight
    fails when its worker finds the endpoint disabled); recovering them after enabling sends them again.
    Returns how many failed."""
    return WebhookMessage.objects.filter(endpoint_id=endpoint_id, status=WebhookMessage.Status.PENDING).update(
        status=WebhookMessage.Status.FAILED, finished_at=now, next_attempt_at=None,
        last_error=DISABLED_ERROR.format(reason=reason))


def emit_disabled(actor, endpoint):
    """Record `webhook.endpoint.disabled` for `endpoint` (just disabled, its reason set) in the current
    transaction; `actor` is the principal, or None for the platform (410 Gone, failing for too long)."""
    return emit(
        actor, event_types.ENDPOINT_DISABLED, subject=(event_types.SUBJECT_TYPE, endpoint.pk),
        organization=endpoint.organization,
        data={"endpointId": endpoint.pk, "url": endpoint.url, "reason": endpoint.disabled_reason,
              "failingSince": endpoint.failing_since.isoformat() if endpoint.failing_since else None},
    )


def rotate_secret(principal, endpoint_id, secret=None, now=None):
    """Give the endpoint a new secret (generated when None); returns (endpoint, secret), the secret shown
    this once. The one it replaces keeps signing deliveries for 24 hours (a second rotation within them
    replaces it: only the two newest secrets sign)."""
    new_secret = secrets.generate() if secret is None else clean_secret(secret)
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = _find(principal, endpoint_id, lock=True)
        if new_secret == endpoint.secret:
            raise Invalid("secret: This is the endpoint's current secret; give a new one (or none to have one "
                          "generated).", field="secret")
        endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret
        endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_VALID_FOR
        endpoint.updated_at = now
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return endpoint, new_secret


def send_test_event(principal, endpoint_id):
    """Emit a `webhook.test` event about the endpoint (delivered to it alone, whatever its filters say);
    returns the Event. Conflict when the endpoint is disabled: it would not be delivered."""
    with transaction.atomic():
        endpoint = _find(principal, endpoint_id)
        if not endpoint.enabled:
            reason = endpoint.disabled_reason or WebhookEndpoint.DisabledReason.MANUAL
            raise Conflict(f"Webhook endpoint {endpoint.pk} is disabled (reason: {reason}); enable it to send it "
                           "a test event.", disabledReason=reason)
        return emit(
            principal, event_types.TEST, subject=(event_types.SUBJECT_TYPE, endpoint.pk),
            data={"endpointId": endpoint.pk, "url": endpoint.url,
                  "message": "A test event sent on request: your endpoint receives and verifies Plexica's webhooks."},
        )


def delete_endpoint(principal, endpoint_id, now=None):
    """Soft-delete the endpoint (it is gone from every list and lookup) and cancel its messages still waiting
    or in flight; returns the endpoint. Its history (messages and attempts) stays."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = _find(principal, endpoint_id, lock=True)
        endpoint.deleted_at = endpoint.updated_at = now
        endpoint.save(update_fields=["deleted_at", "updated_at"])
        WebhookMessage.objects.filter(endpoint=endpoint, status__in=WebhookMessage.OPEN_STATUSES).update(
            status=WebhookMessage.Status.CANCELLED, finished_at=now, next_attempt_at=None,
            last_error="The endpoint was deleted.",
        )
    return endpoint
