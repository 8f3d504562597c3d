"""Writing the event log: `emit()` records an event inside the caller's transaction.

    with transaction.atomic():
        plugin.save()
        emit(principal, "plugin.installed", subject=("plugin", plugin.plugin_id), data={...})

The event commits with the change or not at all. Its position comes from the organization's
EventSequence row, incremented here: the row stays locked until the transaction ends, so an organization's
events commit in position order with no gaps, and the consumers (webhook fan-out, the live stream) are
told after the commit. A transaction that emits holds that lock until it ends, so long-running work
emits at its end, or commits in steps.
"""

from contextvars import ContextVar

from django.db import connection, transaction
from django.utils import timezone

from plexica.events import consumers
from plexica.events.models import Event, EventSequence
from plexica.events.patterns import type_error

# The X-Request-ID of the request being served (set by plexica.api.middleware.RequestIdMiddleware).
request_id_var = ContextVar("plexica_request_id", default="")


class InvalidEvent(ValueError):
    """An event the caller built wrongly (a programming error for platform events, a 400 for custom ones)."""


def actor_of(principal):
    """(actor_type, actor_id) of a Principal, or of None (the system)."""
    if principal is None or principal.is_system:
        return Event.ActorType.SYSTEM, "system"
    if principal.api_key is not None:
        if principal.plugin is not None:
            return Event.ActorType.PLUGIN, principal.plugin.plugin_id
        if principal.api_key.membership_id and principal.user is not None:
            return Event.ActorType.MEMBER, principal.user.get_username()
        return Event.ActorType.KEY, principal.api_key.pk
    if principal.is_superuser:
        return Event.ActorType.SUPERUSER, principal.user.get_username() if principal.user is not None else ""
    return Event.ActorType.MEMBER, principal.user.get_username() if principal.user is not None else ""


def _next_position(organization_pk):
    """Increment the organization's sequence and return the new position (locking its row until commit)."""
    table = connection.ops.quote_name(EventSequence._meta.db_table)
    sql = f"UPDATE {table} SET last_position = last_position + 1 WHERE organization_id = %s RETURNING last_position"
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_pk])
        row = cursor.fetchone()
        if row is None:
            EventSequence.objects.bulk_create([EventSequence(organization_id=organization_pk)], ignore_conflicts=True)
            cursor.execute(sql, [organization_pk])
            row = cursor.fetchone()
    return row[0]


class _AfterCommit:
    """The one after-commit callback per organization and savepoint level: tells the consumers once,
    however many events the transaction emitted."""

    def __init__(self, organization_pk):
        self.organization_pk = organization_pk
        self.events = []

    def __call__(self):
        consumers.notify(self.organization_pk, self.events)


def _tell_consumers_after_commit(event):
    """Queue `event` for the consumers once the transaction commits (at once outside a transaction)."""
    level = list(connection.savepoint_ids)
    for sids, callback, _robust in connection.run_on_commit:
        if (isinstance(callback, _AfterCommit) and callback.organization_pk == event.organization_id
                and list(sids) == level):
            callback.events.append(event)
            return
    callback = _AfterCommit(event.organization_id)
    callback.events.append(event)
    transaction.on_commit(callback, robust=True)


def emit(actor, type, *, subject=None, data=None, organization=None, occurred_at=None,
         idempotency_key=None, idempotency_fingerprint=""):
    """Record the event `type` in the current transaction (its own if there is none); returns the Event.

    actor: the acting Principal, or None for the system (then `organization` is required).
    subject: (resource type, public id) of what the event is about, e.g. ("plugin", "plugin-crm").
    data: a JSON object.
    Raises InvalidEvent for a malformed type or data.
    """
    organization = organization if organization is not None else actor.organization
    problem = type_error(type)
    if problem:
        raise InvalidEvent(problem)
    if data is not None and not isinstance(data, dict):
        raise InvalidEvent("An event's data is a JSON object.")
    actor_type, actor_id = actor_of(actor)
    subject_type, subject_id = subject if subject else ("", "")
    fields = dict(
        organization=organization, type=type, occurred_at=occurred_at or timezone.now(),
        actor_type=actor_type, actor_id=actor_id or "", subject_type=subject_type or "",
        subject_id=str(subject_id or ""), data=data or {}, request_id=request_id_var.get(),
        idempotency_key=idempotency_key, idempotency_fingerprint=idempotency_fingerprint,
    )
    if connection.in_atomic_block:  # the caller's transaction: no savepoint needed
        event = Event.objects.create(position=_next_position(organization.pk), **fields)
    else:
        with transaction.atomic():
            event = Event.objects.create(position=_next_position(organization.pk), **fields)
    _tell_consumers_after_commit(event)
    return event
