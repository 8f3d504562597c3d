"""The sync of one event: make a target's config objects match the files of its branch head. No HTTP here.

The branch head is the truth, whatever SHA the event names: each run reads the head's tree, selects the files
the mappings match (the first matching mapping by position wins) and reconciles them with the target's open
source bindings. Blob SHAs are compared before any content is fetched, so an unchanged file costs nothing and
a re-run at the same SHA changes nothing. Every file is saved in its own transaction; a run that dies half
way leaves bindings that say exactly what was done, and the next run finishes the rest. The outcome is
written with its event (connector.sync_completed, or connector.sync_failed once retries are over) in one
transaction.
"""

import logging
import posixpath
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from connectors import events, queueing
from connectors.github import client
from connectors.github.client import GitHubError, GitHubTransientError
from connectors.matching import select_files
from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorTarget,
    SourceBinding,
    SourceTombstone,
    SyncEvent,
)
from marketplaces.catalog.models import MembershipSource, PluginConfigObject
from marketplaces.catalog.services.bundles import add_config_object_to_plugin
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.config_objects.parsing import MAX_PAYLOAD_BYTES, parse_version_input
from marketplaces.config_objects.services import (
    VersionInput,
    add_version,
    create_config_object,
    mark_ingestion_error,
    record_deleted_version,
)
from plexica.errors import Conflict, DomainError, NotFound
from plexica.observability.metrics import count_sync_outcome
from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from plexica.work import backoff

logger = logging.getLogger("plexica.connectors.sync")

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 15 * 60
LEASE_RENEW_SECONDS = 60
RECONCILE_CURSOR_KEY = "connectors:reconcile-cursor"
# Longer paths do not fit the binding and tombstone rows (PostgreSQL would refuse them with a DataError).
MAX_PATH_LENGTH = min(SourceBinding._meta.get_field("path").max_length,
                      SourceTombstone._meta.get_field("path").max_length)
MAX_ERROR_LENGTH = 1000


class LeaseLost(Exception):
    """Another worker reclaimed this event (ours looked dead); stop without touching it."""


# Failures that are not about one file: GitHub's (retried or failed as the whole event says), a lost lease,
# and a database connection that is gone (nothing after it could be written either).
NOT_ONE_FILES_FAULT = (GitHubError, LeaseLost, InterfaceError, OperationalError)


@dataclass
class SyncSummary:
    revision: str
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)

    def error(self, path, message):
        self.errors.append({"path": path, "error": message})

    def as_json(self):
        return {"revision": self.revision, "created": self.created, "updated": self.updated,
                "deleted": self.deleted, "skipped": self.skipped, "errors": self.errors}


def backoff_seconds(attempt, retry_after=None, rand=random.random):
    """Delay before retry number `attempt` (1-based): exponential, "equal jitter" (half fixed, half random) so
    retries of many events spread out, at least GitHub's Retry-After, never more than the cap."""
    return backoff.delay(attempt, BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS, rand, jitter=backoff.EQUAL,
                         at_least=retry_after or 0)


def _target_is_active(target):
    instance = target.instance
    return (target.status == ConnectorTarget.Status.ACTIVE
            and instance.status == ConnectorInstance.Status.ACTIVE
            and instance.account.status == ConnectorAccount.Status.ACTIVE)


class _Reconciler:
    """One reconcile run of a claimed event at one head SHA."""

    def __init__(self, event, head, now):
        self.event = event
        self.target = event.target
        self.installation_id = self.target.instance.account.installation_id
        self.head = head
        self.now = now
        self.principal = Principal.system(self.target.organization)
        self.summary = SyncSummary(head)
        self._renewed_at = time.monotonic()
        self._remapped = {}  # mapping pk -> pks of unchanged bindings another mapping now selects

    def _keep_lease(self):
        if time.monotonic() - self._renewed_at >= LEASE_RENEW_SECONDS:
            if not queueing.renew_lease(self.event):
                raise LeaseLost(self.event.pk)
            self._renewed_at = time.monotonic()

    def _text(self, path, entry):
        """The file's content as text, or None after recording why it cannot become a version."""
        if entry.size > MAX_PAYLOAD_BYTES:
            self.summary.error(path, f"The file is larger than {MAX_PAYLOAD_BYTES} bytes.")
            return None
        content = client.blob_bytes(self.installation_id, self.target.repository_full_name, entry.sha)
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            self.summary.error(path, "The file is not UTF-8 text.")
            return None

    def _input(self, path, text):
        return VersionInput(
            raw_source_text=text, source_revision=self.head,
            metadata={"relativePath": path, "fileName": posixpath.basename(path),
                      "repository": self.target.repository_full_name, "branch": self.target.branch},
        )

    def run(self):
        target = self.target
        files = client.tree_files(self.installation_id, target.repository_full_name, self.head)
        mappings = list(target.mappings.select_related("plugin").order_by("position", "created_at", "id"))
        selected = select_files(files, mappings)
        open_bindings = SourceBinding.objects.filter(target=target, closed_at__isnull=True)
        bindings = {binding.path: binding for binding in open_bindings.select_related("config_object")}
        seen = []
        for path, (entry, mapping) in selected.items():
            self._keep_lease()
            if not entry.regular:
                # A symlink's blob is the link's target, a submodule has none: neither is a file to bring in.
                # An open binding of the path stays in `bindings` and is removed below like a gone file.
                logger.info("Sync event %s: skipped %s, %s.", self.event.pk, path, entry.kind)
                self.summary.skipped += 1
                continue
            if len(path) > MAX_PATH_LENGTH:
                self.summary.error(path, f"The path is longer than {MAX_PATH_LENGTH} characters.")
                continue
            binding = bindings.pop(path, None)
            if self._one_file(path, self._reconcile, path, entry, mapping, binding):
                seen.append(binding.pk)
        for binding in bindings.values():  # open bindings whose file is gone or no longer selected
            self._keep_lease()
            self._one_file(binding.path, self._remove, binding)
        SourceBinding.objects.filter(pk__in=seen).exclude(last_seen_revision=self.head).update(
            last_seen_revision=self.head, updated_at=self.now)
        for mapping_pk, binding_pks in self._remapped.items():  # one update per mapping, not per file
            SourceBinding.objects.filter(pk__in=binding_pks).update(mapping_id=mapping_pk,
                                                                    updated_at=self.now)
        self._add_missing_memberships()
        return self.summary

    def _add_missing_memberships(self):
        """Make each open binding's object a member of its mapping's plugin when the mapping auto-adds and
        the object never was one: a mapping that gains a plugin (or changes it) after its files were synced
        applies to them too. One query finds the missing ones (none in the steady state), one inserts them.
        A membership someone removed by hand keeps its row, so it stays removed, as for a file synced after
        the mapping."""
        ever_member = PluginConfigObject.objects.filter(plugin=OuterRef("mapping__plugin"),
                                                        config_object=OuterRef("config_object"))
        missing = list(SourceBinding.objects
                       .filter(target=self.target, closed_at__isnull=True, mapping__auto_add_to_plugin=True,
                               mapping__plugin__organization=self.target.organization_id,
                               config_object__deleted_at__isnull=True)
                       .exclude(mapping__plugin__catalog_status=Plugin.CatalogStatus.DELETED)
                       .exclude(Exists(ever_member))
                       .values_list("mapping__plugin_id", "config_object_id"))
        if missing:
            # What add_config_object_to_plugin would insert, in one statement; a membership added meanwhile
            # (by hand, or by another run) wins the unique constraint and is left as it is.
            PluginConfigObject.objects.bulk_create(
                [PluginConfigObject(organization_id=self.target.organization_id, plugin_id=plugin_id,
                                    config_object_id=obj_id, source=MembershipSource.CONNECTOR,
                                    added_at=self.now)
                 for plugin_id, obj_id in missing],
                ignore_conflicts=True)

    def _one_file(self, path, step, *args):
        """step(*args), whose writes are its own transaction (a savepoint when the run is in one);
        an unexpected failure becomes this file's error and the sync goes on with the next one."""
        try:
            return step(*args)
        except NOT_ONE_FILES_FAULT:
            raise
        except Exception as exc:
            logger.exception("Sync event %s: %s failed", self.event.pk, path)
            self.summary.error(path, f"Unexpected error: {type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH])
            return None

    def _reconcile(self, path, entry, mapping, binding):
        """Bring one selected file in; True when its binding is unchanged."""
        if binding is not None and binding.config_object.type != mapping.object_type:
            self._remove(binding)  # a mapping now gives the path another type: a new identity
            binding = None
        if binding is None:
            self._add(path, entry, mapping)
        elif binding.last_blob_sha == entry.sha:
            self._unchanged(path, entry, binding)
            if binding.mapping_id != mapping.pk:  # changed content is rebound in _change; unchanged is here
                self._remapped.setdefault(mapping.pk, []).append(binding.pk)
            return True
        else:
            self._change(path, entry, mapping, binding)
        return False

    def _add(self, path, entry, mapping):
        text = self._text(path, entry)
        if text is None:
            return
        try:
            with transaction.atomic():
                obj, _ = create_config_object(self.principal, mapping.object_type,
                                              ConfigObject.SourceMode.CONNECTOR, self._input(path, text))
                SourceBinding.objects.create(
                    organization_id=self.target.organization_id, target=self.target, mapping=mapping,
                    config_object=obj, path=path, last_seen_revision=self.head, last_blob_sha=entry.sha,
                    created_at=self.now, updated_at=self.now,
                )
                if mapping.auto_add_to_plugin and mapping.plugin_id:
                    add_config_object_to_plugin(self.principal, mapping.plugin, obj,
                                                source=MembershipSource.CONNECTOR)
        except DomainError as exc:  # Invalid, PayloadTooLarge: no object for content that does not parse
            self.summary.error(path, exc.message or str(exc))
            return
        self.summary.created += 1

    def _unchanged(self, path, entry, binding):
        self.summary.skipped += 1
        obj = binding.config_object
        if obj.status == ConfigObject.Status.INGESTION_ERROR:
            # Still broken at this blob: say why again (the object is already marked; nothing changes).
            text = self._text(path, entry)
            if text is not None:
                try:
                    parse_version_input(obj.type, text)
                except DomainError as exc:
                    self.summary.error(path, exc.message or str(exc))

    def _change(self, path, entry, mapping, binding):
        text = self._text(path, entry)  # outside the transaction: no rows stay locked while GitHub answers
        obj_id = binding.config_object_id
        with transaction.atomic():
            if text is None:
                mark_ingestion_error(self.principal, obj_id)
                self._bind(binding, entry, mapping)
                return
            try:
                with transaction.atomic():  # a refusal below must not spoil the file's transaction
                    _, created = add_version(self.principal, obj_id, self._input(path, text),
                                             created_via=ConfigObjectVersion.CreatedVia.CONNECTOR,
                                             now=self.now)
            except (Conflict, NotFound):
                # Archived or deleted by an admin: leave it be; the binding keeps the old blob, so a restore
                # picks the content up on the next sync.
                self.summary.skipped += 1
                return
            except DomainError as exc:
                mark_ingestion_error(self.principal, obj_id)
                self._bind(binding, entry, mapping)
                self.summary.error(path, exc.message or str(exc))
                return
            self._bind(binding, entry, mapping)
        if created:
            self.summary.updated += 1
        else:
            self.summary.skipped += 1  # another blob, the same parsed content (say, a line ending change)

    def _bind(self, binding, entry, mapping):
        SourceBinding.objects.filter(pk=binding.pk).update(
            last_blob_sha=entry.sha, last_seen_revision=self.head, mapping=mapping, updated_at=self.now)

    def _remove(self, binding):
        with transaction.atomic():
            record_deleted_version(self.principal, binding.config_object_id, source_revision=self.head,
                                   reason=f"{binding.path} was removed from {self.target}.",
                                   created_via=ConfigObjectVersion.CreatedVia.CONNECTOR, now=self.now)
            SourceBinding.objects.filter(pk=binding.pk).update(closed_at=self.now, updated_at=self.now)
            SourceTombstone.objects.create(organization_id=self.target.organization_id, target=self.target,
                                           config_object_id=binding.config_object_id, path=binding.path,
                                           revision=self.head, removed_at=self.now)
        self.summary.deleted += 1


def _finish(event, now, **changes):
    """Write the outcome unless another worker reclaimed the event meanwhile; True when written."""
    changes.setdefault("finished_at", now)
    written = queueing.release_sync_event(event, updated_at=now, **changes)
    if written:
        count_sync_outcome(changes["status"])  # plexica_sync_outcomes_total (a retry counts as `queued`)
    return written


def _record_instance(event, status, now, revision=None):
    changes = {"last_synced_at": now, "last_sync_status": status, "updated_at": now}
    if revision is not None:
        changes["last_sync_revision"] = revision
    ConnectorInstance.objects.filter(pk=event.target.instance_id).update(**changes)


def _retry_or_fail(event, exc, now, rand):
    max_attempts = settings.GITHUB_SYNC_MAX_ATTEMPTS
    if isinstance(exc, GitHubTransientError) and event.attempts < max_attempts:
        delay = backoff_seconds(event.attempts, exc.retry_after, rand)
        message = f"Attempt {event.attempts} of {max_attempts} failed, retrying in {delay:.0f}s: {exc}"
        if _finish(event, now, status=SyncEvent.Status.QUEUED, next_attempt_at=now + timedelta(seconds=delay),
                   finished_at=None, error=message):
            queueing.enqueue_sync_event(event.pk, countdown=delay)
        return
    if isinstance(exc, GitHubTransientError):
        message = f"Gave up after {event.attempts} attempts: {exc}"
    else:
        message = str(exc)
    _fail(event, now, message, next_attempt_at=None)


def _fail(event, now, message, **changes):
    """Record that the sync gave up, with its connector.sync_failed (unless another worker reclaimed it)."""
    with transaction.atomic():
        if _finish(event, now, status=SyncEvent.Status.FAILED, error=message, **changes):
            _record_instance(event, SyncEvent.Status.FAILED, now)
            events.sync_failed(event, message)


def run_sync_event(event_id, clock=timezone.now, rand=random.random):
    """Claim sync event `event_id` and reconcile its target with the branch head; the event as it ended, or
    None when it was not claimable (done already, not due, or another event of its target is running).

    Transient GitHub failures put it back in the queue with a backoff (until GITHUB_SYNC_MAX_ATTEMPTS);
    permanent ones fail it at once. Files that do not parse make it `partial`; the rest is synced.
    """
    event = queueing.claim_sync_event(event_id, now=clock())
    if event is None:
        return None
    try:
        if event.attempts > settings.GITHUB_SYNC_MAX_ATTEMPTS:
            # Only a reclaim gets here (retries stop at the maximum): its workers keep dying on it.
            _fail(event, clock(), f"Gave up after {event.attempts - 1} attempts: its worker stopped without finishing.")
            return SyncEvent.objects.get(pk=event.pk)
        _sync(event, clock, rand)
    finally:
        _start_next(event.target_id)  # the target is free again: its next queued event may start
    return SyncEvent.objects.get(pk=event.pk)


def _sync(event, clock, rand):
    target = event.target
    try:
        if not _target_is_active(target):
            _finish(event, clock(), status=SyncEvent.Status.IGNORED, summary={},
                    error=f"The target {target} is not active (target, instance or account disabled).")
            return
        head = client.branch_head(target.instance.account.installation_id, target.repository_full_name,
                                  target.branch)
        summary = _Reconciler(event, head, clock()).run()
    except LeaseLost:
        logger.warning("Sync event %s was reclaimed by another worker; stopping.", event.pk)
        return
    except GitHubError as exc:
        _retry_or_fail(event, exc, clock(), rand)
        return
    except Exception as exc:
        # A bug or a database hiccup: retried like a transient failure, still bounded by the attempts.
        logger.exception("Sync event %s failed unexpectedly", event.pk)
        unexpected = GitHubTransientError(f"Unexpected error: {type(exc).__name__}: {exc}")
        _retry_or_fail(event, unexpected, clock(), rand)
        return
    now = clock()
    status = SyncEvent.Status.PARTIAL if summary.errors else SyncEvent.Status.COMPLETED
    changes = {"status": status, "summary": summary.as_json(), "error": "", "next_attempt_at": None}
    if not event.head_sha:
        changes["head_sha"] = head  # resyncs name the SHA they synced; pushes keep their dedupe key
    with transaction.atomic():
        if _finish(event, now, **changes):
            ConnectorTarget.objects.filter(pk=target.pk).update(last_synced_sha=head, last_synced_at=now,
                                                                updated_at=now)
            _record_instance(event, status, now, revision=head)
            events.sync_completed(event, status, summary)


def _start_next(target_id):
    next_id = queueing.next_queued_event_id(target_id)
    if next_id is not None:
        queueing.enqueue_sync_event(next_id)


def reconcile_targets(limit=200, now=None):
    """Queue a `manual_resync` (trigger reconcile) for each active target whose branch head differs from its
    last completed sync, so a lost webhook cannot leave drift. Skips targets with a queued or running event.

    Works through at most `limit` targets per call, continuing where the previous call stopped (a cursor in
    the cache; losing it only means starting over). Returns {"checked", "queued", "errors"}.
    """
    open_events = SyncEvent.objects.filter(target=OuterRef("pk"), status__in=SyncEvent.OPEN_STATUSES)
    candidates = (ConnectorTarget.objects
                  .filter(status=ConnectorTarget.Status.ACTIVE,
                          instance__status=ConnectorInstance.Status.ACTIVE,
                          instance__account__status=ConnectorAccount.Status.ACTIVE)
                  .exclude(Exists(open_events)).select_related("instance__account").order_by("pk"))
    cursor = cache.get(RECONCILE_CURSOR_KEY)
    batch = list(candidates.filter(pk__gt=cursor)[:limit]) if cursor else list(candidates[:limit])
    cache.set(RECONCILE_CURSOR_KEY, batch[-1].pk if len(batch) == limit else None, timeout=None)
    result = {"checked": 0, "queued": 0, "errors": 0}
    for target in batch:
        try:
            head = client.branch_head(target.instance.account.installation_id, target.repository_full_name,
                                      target.branch)
        except GitHubError as exc:
            logger.warning("Reconcile could not read the head of %s: %s", target, exc)
            result["errors"] += 1
            continue
        result["checked"] += 1
        if head != target.last_synced_sha:
            _, created = queueing.queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC,
                                                   trigger=SyncEvent.Trigger.RECONCILE, head_sha=head)
            result["queued"] += int(created)
    return result
