"""Shared data rules: namespaced JSON entries with TTL, ownership and optimistic concurrency. No HTTP here.

Every action takes the acting principal first. Anyone in the organization reads and lists; a plugin key
writes as its own plugin and overwrites or deletes only the entries its plugin owns; org admins (and the
system) write as any plugin of the organization and overwrite or delete any entry.

Expiry is exact for readers: every read filters on `expires_at`, so an expired entry is never returned,
listed or counted, whenever the purge task runs.
"""

import base64
import functools
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from plexica.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, PayloadTooLarge, PreconditionFailed
from plexica.observability.metrics import count_shared_data
from plexica.plugins.models import Plugin
from shareddata.models import SharedEntry


def _counted(operation):
    """Count each call of the decorated operation in plexica_shared_data_operations_total{operation, outcome}:
    `ok`, or the refusal's kind (not_found, forbidden, conflict...)."""

    def decorate(function):
        @functools.wraps(function)
        def counted(*args, **kwargs):
            try:
                result = function(*args, **kwargs)
            except DomainError as exc:
                count_shared_data(operation, _OUTCOMES.get(type(exc).__name__, "error"))
                raise
            count_shared_data(operation, "ok")
            return result

        return counted

    return decorate


_OUTCOMES = {"NotFound": "not_found", "Forbidden": "forbidden", "Conflict": "conflict", "Invalid": "invalid",
             "PreconditionFailed": "precondition_failed", "PayloadTooLarge": "too_large"}


def live_q(now):
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def data_not_found(namespace, key):
    return NotFound(title="Data not found", namespace=namespace, key=key)


def _check_owner(principal, entry, action):
    if principal.plugin is not None and entry.owner_id != principal.plugin.pk:
        raise Forbidden(
            f"Only the owner ({entry.owner.plugin_id}) or an organization admin may {action} this entry.",
            ownerId=entry.owner.plugin_id,
        )


def _check_if_match(entry, if_match):
    """`If-Match` succeeds only when it names the entry's current ETag (or `*` and the entry exists)."""
    if if_match is None:
        return
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if entry is None or ("*" not in tags and entry.etag not in tags):
        raise PreconditionFailed("The entry changed since you read it (If-Match does not match its ETag).")


def serialized_size(value):
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@dataclass(frozen=True)
class Write:
    namespace: str
    key: str
    value: object
    owner_id: str
    ttl: int | None = None


@_counted("set")
def set_entry(principal, write, if_match=None, now=None):
    """Create or overwrite the entry; returns (entry, created). Serialised per key by a row lock."""
    now = now or timezone.now()
    limit = settings.SHAREDDATA_MAX_VALUE_BYTES
    if serialized_size(write.value) > limit:
        raise PayloadTooLarge(f"value is larger than {limit} bytes once serialized.")
    principal.check_acts_for(write.owner_id, doing="write data owned by")
    organization = principal.organization
    expires_at = now + timedelta(seconds=write.ttl) if write.ttl else None
    with transaction.atomic():
        owner = principal.plugin if principal.plugin is not None else _org_plugin(organization, write.owner_id)
        for _ in range(2):
            entry = (
                SharedEntry.objects.select_for_update()
                .select_related("owner")
                .filter(organization=organization, namespace=write.namespace, key=write.key)
                .first()
            )
            live = entry if entry is not None and entry.is_live(now) else None
            _check_if_match(live, if_match)
            if entry is not None:
                if live is not None:
                    _check_owner(principal, live, "overwrite")
                else:
                    entry.created_at = now  # an expired entry is replaced by a new one
                entry.value, entry.owner, entry.expires_at = write.value, owner, expires_at
                entry.etag, entry.updated_at = SharedEntry._meta.get_field("etag").default(), now
                entry.save()
                return entry, live is None
            try:
                with transaction.atomic():
                    return SharedEntry.objects.create(
                        organization=organization, namespace=write.namespace, key=write.key, value=write.value,
                        owner=owner, expires_at=expires_at, created_at=now, updated_at=now,
                    ), True
            except IntegrityError:
                continue  # a concurrent writer created it first: lock it and go again
    raise Conflict("The entry is being written concurrently; try again.")


def _org_plugin(organization, plugin_id):
    plugin = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise Invalid(f"ownerId: no plugin {plugin_id} in this organization.")
    return plugin


@_counted("get")
def get_entry(principal, namespace, key, now=None):
    """The live entry, or NotFound (missing and expired alike)."""
    try:  # unique per (organization, namespace, key): no ORDER BY needed
        return SharedEntry.objects.select_related("owner").get(
            live_q(now or timezone.now()), organization=principal.organization, namespace=namespace, key=key
        )
    except SharedEntry.DoesNotExist:
        raise data_not_found(namespace, key) from None


@_counted("delete")
def delete_entry(principal, namespace, key, if_match=None, now=None):
    """Delete the live entry (owner or org admin only); NotFound when missing or expired."""
    now = now or timezone.now()
    if principal.plugin is None and not principal.is_org_admin:
        raise Forbidden("Only a plugin's own key or an organization admin may delete shared data.")
    with transaction.atomic():
        entry = (
            SharedEntry.objects.select_for_update()
            .select_related("owner")
            .filter(live_q(now), organization=principal.organization, namespace=namespace, key=key)
            .first()
        )
        if entry is None:
            raise data_not_found(namespace, key)
        _check_if_match(entry, if_match)
        _check_owner(principal, entry, "delete")
        entry.delete()


def _encode_cursor(key):
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor):
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,400}", cursor):
        raise Invalid("cursor: not a cursor this API gave out.")
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor: not a cursor this API gave out.") from None


@_counted("list")
def list_keys(principal, namespace, owner_id=None, limit=None, after=None, now=None):
    """(sorted live keys of the page, total live count, next cursor or None)."""
    queryset = SharedEntry.objects.filter(live_q(now or timezone.now()), organization=principal.organization,
                                          namespace=namespace)
    if owner_id:
        queryset = queryset.filter(owner__plugin_id=owner_id)
    total = queryset.count()
    page = queryset.order_by("key")
    if after is not None:
        page = page.filter(key__gt=after)
    size = limit or settings.SHAREDDATA_LIST_MAX_KEYS
    keys = list(page.values_list("key", flat=True)[: size + 1])
    next_cursor = _encode_cursor(keys[size - 1]) if len(keys) > size else None
    return keys[:size], total, next_cursor


def purge_expired(now=None, batch_size=1000):
    """Delete expired rows in batches; returns how many were removed.

    A periodic job over every organization, so it acts for none of them and takes no principal.
    """
    now = now or timezone.now()
    removed = 0
    while True:
        ids = list(SharedEntry.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return removed
        removed += SharedEntry.objects.filter(pk__in=ids, expires_at__lte=now).delete()[0]
        if len(ids) < batch_size:
            return removed
