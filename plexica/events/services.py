"""Reading the event log and emitting custom events. No HTTP: each function takes the acting principal first.

Who may: org keys, owners and admins, superusers and plugin keys read the organization's log and emit custom
events; a plain member does neither (the log shows every change in the organization). A plugin key's plugin
needs the EVENTS_SUB capability to read (the log, the stream) and EVENTS_PUB to emit.

Custom events (`emit_custom`):
- a plugin key emits only types under its own plugin id: `plugin-crm.contact.created`;
- everyone else any type whose first segment is not one of the platform's (`plexica.events.types`), so a
  platform event (`plugin.installed`) is never forged;
- `data` is a JSON object of at most EVENTS_MAX_DATA_BYTES, serialized compactly in UTF-8;
- with an idempotency key, a retry of the same request (same type, subject and data) returns the event the
  first one recorded instead of a second event, and the same key with another request is refused (409).
  A key is the caller's own (unique per organization and actor) and lives as long as its event (retention).
"""

import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from plexica.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge
from plexica.events import patterns
from plexica.events import types as event_types
from plexica.events.log import actor_of, emit
from plexica.events.models import Event
from plexica.ids import public_id_pattern
from plexica.plugins.capabilities import Capability, require_plugin_capability

EVENT_ID_PATTERN = public_id_pattern("evt")
_EVENT_ID = re.compile(EVENT_ID_PATTERN.removesuffix("$") + r"\Z")
# A subject is what the event is about: a resource type (`contact`, `config_object`) and its id.
SUBJECT_TYPE_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
_SUBJECT_TYPE = re.compile(SUBJECT_TYPE_PATTERN.removesuffix("$") + r"\Z")
SUBJECT_TYPE_MAX_LENGTH = Event._meta.get_field("subject_type").max_length
SUBJECT_ID_MAX_LENGTH = Event._meta.get_field("subject_id").max_length
# Printable ASCII, 1 to 255 characters, no space at either end (HTTP servers trim those from header values).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN.removesuffix("$") + r"\Z")
IDEMPOTENCY_HEADER = "Idempotency-Key"

# The rows a retention purge deletes per statement: small enough for short transactions and locks.
PURGE_BATCH = 5000


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used by an earlier request of this caller with another type, subject or data."""

    title, code = "Idempotency key reused", "idempotency_key_reused"


# Who may


def require_log_access(principal, doing):
    """Org keys, owners, admins, superusers, the system and plugin keys; a plain member is refused."""
    if principal.is_org_admin or principal.plugin is not None:
        return
    raise Forbidden(f"{doing} needs an organization admin, an organization API key or a plugin's API key; "
                    "a member cannot.", code="org_capability_required", capability="event_log")


def require_subscriber(principal, doing):
    """Reading events (the log, its stream, webhooks): `require_log_access`, and a plugin key's plugin needs
    the EVENTS_SUB capability."""
    require_log_access(principal, doing)
    require_plugin_capability(principal, Capability.EVENTS_SUB, doing[:1].lower() + doing[1:])


def _type_error_for(principal, event_type):
    """Why `principal` may not emit `event_type` (a valid type), or None."""
    head = event_type.split(".", 1)[0]
    plugin = principal.plugin
    if plugin is not None:
        if head != plugin.plugin_id:
            return (f"This API key acts as {plugin.plugin_id}: it emits only types under its plugin id, "
                    f"such as '{plugin.plugin_id}.{event_type}'.")
        return None
    if head in event_types.reserved_prefixes():
        return (f"'{head}.*' events are the platform's own: a custom event cannot use the type prefix '{head}' "
                f"(reserved: {', '.join(sorted(event_types.reserved_prefixes()))}).")
    return None


# Reading


def list_events(principal, *, type_filters=None, subject_type=None, subject_id=None, since=None, until=None,
                after=None, ascending=False):
    """The organization's events, newest first (oldest first with `ascending`), filtered by:
    type_filters (filters with wildcards such as `config_object.*`: any of them), subject type and id, `since` (inclusive) and `until`
    (exclusive) on occurredAt, and `after` a position (the events that came after it)."""
    require_subscriber(principal, "Reading the event log")
    events = Event.objects.filter(organization=principal.organization)
    events = of_types(events, type_filters)
    if subject_type is not None:
        events = events.filter(subject_type=subject_type)
    if subject_id is not None:
        events = events.filter(subject_id=subject_id)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    if after is not None:
        events = events.filter(position__gt=after)
    return events.order_by("position" if ascending else "-position")


def of_types(events, filters):
    """The events whose type any of the type filters selects (every event when there are none)."""
    if not filters:
        return events
    for problem in map(patterns.filter_error, filters):
        if problem:
            raise Invalid(f"type: {problem}", field="type")
    if "*" in filters:
        return events
    condition = patterns.type_q(filters[0])
    for pattern in filters[1:]:
        condition |= patterns.type_q(pattern)
    return events.filter(condition)


def get_event(principal, event_id):
    """One event of the organization by its id (`evt_...`), or NotFound (another organization's too)."""
    require_subscriber(principal, "Reading the event log")
    found = None
    if isinstance(event_id, str) and _EVENT_ID.match(event_id):
        found = Event.objects.filter(organization=principal.organization, public_id=event_id).first()
    if found is None:
        raise NotFound(f"No event {event_id} in this organization.", title="Event not found")
    return found


# Emitting


def data_size(data):
    """The size `data` counts against EVENTS_MAX_DATA_BYTES: its compact JSON in UTF-8."""
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def fingerprint(event_type, data, subject):
    """sha256 of the canonical request (type, subject, data with sorted keys): what a retry must repeat."""
    canonical = json.dumps({"type": event_type, "subject": list(subject) if subject else None, "data": data},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_input(principal, event_type, data, subject, idempotency_key):
    problem = patterns.type_error(event_type)
    if problem:
        raise Invalid(f"type: {problem}", field="type")
    problem = _type_error_for(principal, event_type)
    if problem:
        raise Forbidden(f"type: {problem}", code="org_capability_required", field="type")
    if not isinstance(data, dict):
        raise Invalid("data: An event's data is a JSON object.", field="data")
    size, limit = data_size(data), settings.EVENTS_MAX_DATA_BYTES
    if size > limit:
        raise PayloadTooLarge(f"data: At most {limit} bytes of JSON (this is {size}).", field="data",
                              limit=limit, size=size)
    if subject is not None:
        subject_type, subject_id = subject
        if not isinstance(subject_type, str) or not _SUBJECT_TYPE.match(subject_type) \
                or len(subject_type) > SUBJECT_TYPE_MAX_LENGTH:
            raise Invalid(f"subject.type: A resource type of at most {SUBJECT_TYPE_MAX_LENGTH} letters, digits, "
                          "'_', '-' and '.' (e.g. 'contact').", field="subject.type")
        if not isinstance(subject_id, str) or not subject_id.strip() or len(subject_id) > SUBJECT_ID_MAX_LENGTH:
            raise Invalid(f"subject.id: A non-blank id of at most {SUBJECT_ID_MAX_LENGTH} characters.",
                          field="subject.id")
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise Invalid(f"{IDEMPOTENCY_HEADER}: 1 to 255 printable ASCII characters, without spaces at either end.",
                      field=IDEMPOTENCY_HEADER)


def _earlier(principal, idempotency_key, wanted_fingerprint):
    """The event an earlier request with this idempotency key recorded, or None; 409 if it asked otherwise."""
    _, actor_id = actor_of(principal)
    earlier = Event.objects.filter(organization=principal.organization, actor_id=actor_id,
                                   idempotency_key=idempotency_key).first()
    if earlier is not None and earlier.idempotency_fingerprint != wanted_fingerprint:
        raise IdempotencyKeyReused(
            f"{IDEMPOTENCY_HEADER}: this key was used by an earlier request with another type, subject or data "
            f"(it recorded {earlier.public_id}); use a new key for a new event.",
            field=IDEMPOTENCY_HEADER, eventId=earlier.public_id)
    return earlier


def emit_custom(principal, event_type, *, data=None, subject=None, idempotency_key=None):
    """Record a custom event as `principal`; returns (event, replayed).

    subject: (resource type, id) or None. replayed is True when an earlier request with the same
    idempotency key and the same type, subject and data recorded the event (nothing new is written).
    Raises Forbidden (who, or a type outside the caller's namespace), Invalid, PayloadTooLarge (data) and
    IdempotencyKeyReused.
    """
    require_log_access(principal, "Emitting an event")
    require_plugin_capability(principal, Capability.EVENTS_PUB, "emitting an event")
    data = {} if data is None else data
    subject = tuple(subject) if subject else None
    _check_input(principal, event_type, data, subject, idempotency_key)
    if idempotency_key is None:
        return emit(principal, event_type, subject=subject, data=data), False
    wanted = fingerprint(event_type, data, subject)
    earlier = _earlier(principal, idempotency_key, wanted)
    if earlier is not None:
        return earlier, True
    try:
        with transaction.atomic():
            event = emit(principal, event_type, subject=subject, data=data, idempotency_key=idempotency_key,
                         idempotency_fingerprint=wanted)
    except IntegrityError:
        # A concurrent retry with the same key committed first (event_idempotency_key_unique): answer with it.
        earlier = _earlier(principal, idempotency_key, wanted)
        if earlier is None:
            raise
        return earlier, True
    return event, False


# Retention

_RETENTION_HOLDS = []


def hold_from_retention(held):
    """Register `held()`: a queryset of Event pks the purge keeps past retention (the webhook messages still
    being delivered, say), registered by the app that owns them from its `AppConfig.ready()`."""
    if held not in _RETENTION_HOLDS:
        _RETENTION_HOLDS.append(held)


def purge_expired(now=None, batch=PURGE_BATCH):
    """Delete the events older than EVENTS_RETENTION_DAYS, `batch` rows per statement, each batch in a
    transaction of its own (what references an event, such as its webhook messages, goes with it), except
    those a retention hold keeps (`hold_from_retention`). Returns how many events were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVENTS_RETENTION_DAYS)
    expired = Event.objects.filter(occurred_at__lt=cutoff)
    for held in _RETENTION_HOLDS:
        expired = expired.exclude(pk__in=held())
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(expired.order_by().values_list("pk", flat=True)[:batch])
            if not pks:
                return deleted
            Event.objects.filter(pk__in=pks).delete()
        deleted += len(pks)
