"""The GitHub connector's admin rules: accounts, instances, targets, mappings, sync events, setup. No HTTP.

Every lookup is scoped to the caller's organization, so another organization's id is NotFound. Sync work
is only queued here (connectors.queueing); the worker does it.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Prefetch, Q
from django.utils import timezone
from wcmatch import glob

from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    Provider,
    SourceBinding,
    SyncEvent,
)
from connectors.queueing import enqueue_sync_event, queue_sync_event
from connectors.sync import GLOB_FLAGS
from marketplaces import access
from marketplaces.models import ConfigObjectType, ResourceType
from plexica.errors import Conflict, Invalid, NotFound
from plexica.plugins.models import Plugin

SELECTOR_MAX_LENGTH = 500
REPOSITORY_FULL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
MAX_GITHUB_ID = 2**63 - 1  # GitHub's ids are stored in a BigIntegerField
# What `git check-ref-format --branch` refuses inside a name.
_BRANCH_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
RETRYABLE_STATUSES = (SyncEvent.Status.FAILED, SyncEvent.Status.PARTIAL)


def _user(principal):
    return getattr(principal, "user", None) if principal is not None else None


def _not_found(noun, found_id, **extra):
    return NotFound(f"No {noun} {found_id} in this organization.", title=f"{noun.capitalize()} not found",
                    **extra)


# Validation (raises django's ValidationError, so serializers and admin forms use the same functions)


def compile_selector(selector):
    """The matcher for a mapping selector, with the flags the sync matches paths with (`**` spans folders)."""
    return glob.compile(selector, flags=GLOB_FLAGS)


def validate_selector(value):
    """A non-empty glob relative to the repository root that compiles."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("A selector is a non-empty path glob such as sales/skills/**.")
    if len(value) > SELECTOR_MAX_LENGTH:
        raise ValidationError(f"A selector has at most {SELECTOR_MAX_LENGTH} characters.")
    if value.startswith("/"):
        raise ValidationError("A selector is relative to the repository root: no leading '/'.")
    if any(ord(char) < 32 for char in value):
        raise ValidationError("A selector cannot hold control characters.")
    if ".." in value.split("/"):
        raise ValidationError("A selector cannot hold '..' segments.")
    try:
        compile_selector(value)
    except Exception as exc:  # wcmatch raises several kinds (pattern limits, bad ranges)
        raise ValidationError(f"Not a valid glob: {exc}") from None


def validate_branch(value):
    """A branch name git accepts (`git check-ref-format --branch`)."""
    if not isinstance(value, str) or not value:
        raise ValidationError("A branch name is required.")
    if len(value) > 255:
        raise ValidationError("A branch name has at most 255 characters.")
    bad = (
        _BRANCH_FORBIDDEN.search(value) or value.startswith(("-", "/")) or value.endswith(("/", ".", ".lock"))
        or value == "@" or any(part.startswith(".") or part.endswith(".lock") for part in value.split("/"))
    )
    if bad:
        raise ValidationError(f"'{value}' is not a valid git branch name.")


def validate_repository_full_name(value):
    """`owner/name` as GitHub spells it."""
    valid = isinstance(value, str) and REPOSITORY_FULL_NAME.fullmatch(value)
    if not valid or value.endswith(("/.", "/..")):
        raise ValidationError("A repository is named owner/name (letters, digits and '-'; also '.', '_' in "
                              "the name).")


def validate_positive_id(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_GITHUB_ID:
        raise ValidationError("Must be a positive whole number.")


def validate_object_type(value):
    if value not in ConfigObjectType.values:
        raise ValidationError(f"'{value}' is not one of {', '.join(ConfigObjectType.values)}.")


def _check(field, validator, value):
    """Run a validator; Invalid naming `field` (the API's camelCase name) when it refuses."""
    try:
        validator(value)
    except ValidationError as exc:
        raise Invalid(f"{field}: {' '.join(exc.messages)}", field=field) from None


# Accounts


def account_queryset(organization):
    return ConnectorAccount.objects.filter(organization=organization).select_related("created_by").annotate(
        instance_count=Count("instances"))


def get_account(organization, account_id):
    account = account_queryset(organization).filter(pk=account_id).first()
    if account is None:
        raise _not_found("connector account", account_id)
    return account


def _locked_account(principal, account_id):
    account = ConnectorAccount.objects.select_for_update().filter(organization=principal.organization,
                                                                  pk=account_id).first()
    if account is None:
        raise _not_found("connector account", account_id)
    return account


def _account_of_installation(installation_id):
    """The account holding the installation in any organization, locked; None when nobody connected it."""
    return (ConnectorAccount.objects.select_for_update()
            .filter(provider=Provider.GITHUB, installation_id=installation_id).first())


def _held_elsewhere(principal, account):
    """Conflict when `account` belongs to another organization. It names neither that organization nor the
    account: whether an installation id is taken is all another organization learns."""
    if account is not None and account.organization_id != principal.organization.pk:
        raise Conflict("This installation is connected to another organization.",
                       title="Installation connected elsewhere", field="installationId")


def connect_account(principal, installation_id, account_login="", account_type="", display_name="", now=None):
    """Connect a GitHub App installation; (account, created).

    An installation belongs to one organization: another organization's account of it, even a disconnected
    one, is a Conflict (the App's token reads the installation's repositories, whoever asks). A disconnected
    account of this organization is reconnected (same id, created=False); one still connected is a Conflict.
    """
    _check("installationId", validate_positive_id, installation_id)
    now = now or timezone.now()
    details = {"account_login": account_login or "", "account_type": account_type or "",
               "display_name": display_name or ""}
    with transaction.atomic():
        account = _account_of_installation(installation_id)
        _held_elsewhere(principal, account)
        if account is None:
            try:
                with transaction.atomic():
                    account = ConnectorAccount.objects.create(
                        organization=principal.organization, installation_id=installation_id,
                        created_by=_user(principal), created_at=now, updated_at=now, **details)
            except IntegrityError:
                # A concurrent connect won the unique constraint; its row is committed and visible now.
                winner = _account_of_installation(installation_id)
                _held_elsewhere(principal, winner)
                raise _account_exists(installation_id, winner) from None
            return account, True
        if account.status != ConnectorAccount.Status.DISCONNECTED:
            raise _account_exists(installation_id, account)
        _reconnect(account, now)
        for name, value in details.items():
            if value:
                setattr(account, name, value)
        account.save()
    return account, False


def _reconnect(account, now):
    account.status, account.disconnected_at, account.updated_at = ConnectorAccount.Status.ACTIVE, None, now


def _account_exists(installation_id, account=None):
    extra = {"accountId": account.pk} if account is not None else {}
    return Conflict(f"Installation {installation_id} is already connected to this organization.",
                    title="Connector account exists", **extra)


def disconnect_account(principal, account_id, now=None):
    """Mark an account disconnected: none of its targets syncs until it is connected again. Idempotent."""
    with transaction.atomic():
        account = _locked_account(principal, account_id)
        if account.status != ConnectorAccount.Status.DISCONNECTED:
            account.status = ConnectorAccount.Status.DISCONNECTED
            account.disconnected_at = account.updated_at = now or timezone.now()
            account.save(update_fields=["status", "disconnected_at", "updated_at"])
    return account


# Instances


def instance_queryset(organization):
    return (ConnectorInstance.objects.filter(organization=organization)
            .select_related("account", "created_by").annotate(target_count=Count("targets")))


def get_instance(organization, instance_id):
    instance = instance_queryset(organization).filter(pk=instance_id).first()
    if instance is None:
        raise _not_found("connector instance", instance_id)
    return instance


def _locked_instance(principal, instance_id):
    instance = ConnectorInstance.objects.select_for_update().filter(organization=principal.organization,
                                                                    pk=instance_id).first()
    if instance is None:
        raise _not_found("connector instance", instance_id)
    return instance


def _name_taken(name):
    return Conflict(f"A connector instance named '{name}' already exists in this organization.",
                    title="Connector instance name taken", field="name")


def _save_named(instance, name, **save_kwargs):
    """Save, answering a Conflict (not a 500) when the name is taken, even by a concurrent request."""
    taken = ConnectorInstance.objects.filter(organization_id=instance.organization_id, name=name)
    if taken.exclude(pk=instance.pk).exists():
        raise _name_taken(name)
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError:
        raise _name_taken(name) from None
    return instance


def create_instance(principal, account_id, name, description="", now=None):
    """A new active instance of a connected account; Conflict when the name is taken in the organization."""
    _check("name", _validate_name, name)
    now = now or timezone.now()
    with transaction.atomic():
        account = _locked_account(principal, account_id)
        if account.status == ConnectorAccount.Status.DISCONNECTED:
            raise Conflict(f"Connector account {account.pk} is disconnected; connect it again first.",
                           title="Connector account disconnected", accountStatus=account.status)
        instance = ConnectorInstance(organization=principal.organization, account=account,
                                     provider=account.provider, name=name, description=description or "",
                                     created_by=_user(principal), created_at=now, updated_at=now)
        instance = _save_named(instance, name, force_insert=True)
        access.grant_creator(principal, ResourceType.CONNECTOR_INSTANCE, instance.pk)
        return instance


def _validate_name(value):
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("A name is required.")
    if len(value) > 200:
        raise ValidationError("A name has at most 200 characters.")


def update_instance(principal, instance_id, **changes):
    """Change name and/or description; an archived instance is read-only (enable it first)."""
    if "name" in changes:
        _check("name", _validate_name, changes["name"])
    with transaction.atomic():
        instance = _locked_instance(principal, instance_id)
        if instance.status == ConnectorInstance.Status.ARCHIVED:
            raise Conflict(f"Connector instance {instance.pk} is archived; enable it before changing it.",
                           title="Connector instance archived", status=instance.status)
        for name, value in changes.items():
            setattr(instance, name, value)
        instance.updated_at = timezone.now()
        return _save_named(instance, instance.name, update_fields=[*changes, "updated_at"])


def _change_instance_status(principal, instance_id, allowed_from, to):
    with transaction.atomic():
        instance = _locked_instance(principal, instance_id)
        if instance.status not in allowed_from:
            raise Conflict(f"Connector instance {instance.pk} is {instance.status}; it cannot become {to}.",
                           title="Invalid connector instance status change", status=instance.status)
        instance.status, instance.updated_at = to, timezone.now()
        instance.save(update_fields=["status", "updated_at"])
    return instance


def disable_instance(principal, instance_id):
    """Stop syncing an active (or failing) instance's targets; Conflict from disabled or archived."""
    status = ConnectorInstance.Status
    return _change_instance_status(principal, instance_id, {status.ACTIVE, status.ERROR}, status.DISABLED)


def enable_instance(principal, instance_id):
    """Make a disabled, failing or archived instance active again; Conflict when it is active."""
    status = ConnectorInstance.Status
    return _change_instance_status(principal, instance_id, {status.DISABLED, status.ERROR, status.ARCHIVED},
                                   status.ACTIVE)


def archive_instance(principal, instance_id):
    """Retire an instance (read-only, never synced) while keeping its history; Conflict when archived."""
    status = ConnectorInstance.Status
    return _change_instance_status(principal, instance_id, {status.ACTIVE, status.DISABLED, status.ERROR},
                                   status.ARCHIVED)


def delete_instance(principal, instance_id):
    """Delete an instance with its targets, mappings and sync history.

    Conflict while its targets are the source of config objects (their provenance would be lost: archive it
    instead) or while a sync is queued or running.
    """
    with transaction.atomic():
        instance = _locked_instance(principal, instance_id)
        if SourceBinding.objects.filter(target__instance=instance, closed_at__isnull=True).exists():
            raise Conflict(f"Connector instance {instance.pk} is the source of config objects; "
                           "archive it instead.", title="Connector instance in use", reason="source_bindings")
        if SyncEvent.objects.filter(target__instance=instance, status__in=SyncEvent.OPEN_STATUSES).exists():
            raise Conflict(f"Connector instance {instance.pk} has a sync queued or running; try again later.",
                           title="Connector instance in use", reason="sync_in_progress")
        instance.delete()


# Targets


def _mappings_prefetch():
    return Prefetch("mappings", queryset=ConnectorMapping.objects.select_related("plugin"))


def target_queryset(organization):
    return (ConnectorTarget.objects.filter(organization=organization)
            .select_related("instance").prefetch_related(_mappings_prefetch()))


def get_target(organization, target_id):
    target = target_queryset(organization).filter(pk=target_id).first()
    if target is None:
        raise _not_found("connector target", target_id)
    return target


def _locked_target(principal, target_id):
    target = (ConnectorTarget.objects.select_for_update(of=("self",)).select_related("instance__account")
              .filter(organization=principal.organization, pk=target_id).first())
    if target is None:
        raise _not_found("connector target", target_id)
    return target


def _target_taken(repository_id, branch):
    return Conflict(f"This instance already has a target for repository {repository_id} at branch "
                    f"'{branch}'.", title="Connector target exists", field="branch")


def _save_target(target, **save_kwargs):
    taken = ConnectorTarget.objects.filter(instance_id=target.instance_id, repository_id=target.repository_id,
                                           branch=target.branch)
    if taken.exclude(pk=target.pk).exists():
        raise _target_taken(target.repository_id, target.branch)
    try:
        with transaction.atomic():
            target.save(**save_kwargs)
    except IntegrityError:
        raise _target_taken(target.repository_id, target.branch) from None
    return target


def _validate_target_status(value):
    if value not in ConnectorTarget.Status.values:
        raise ValidationError(f"'{value}' is not one of {', '.join(ConnectorTarget.Status.values)}.")


TARGET_FIELD_CHECKS = {
    "repository_id": ("repositoryId", validate_positive_id),
    "repository_full_name": ("repositoryFullName", validate_repository_full_name),
    "branch": ("branch", validate_branch),
    "status": ("status", _validate_target_status),
}


def _check_target_fields(fields):
    for name, value in fields.items():
        if name in TARGET_FIELD_CHECKS:
            field, validator = TARGET_FIELD_CHECKS[name]
            _check(field, validator, value)


def _writable_instance(instance):
    if instance.status == ConnectorInstance.Status.ARCHIVED:
        raise Conflict(f"Connector instance {instance.pk} is archived; enable it before changing it.",
                       title="Connector instance archived", status=instance.status)


def create_target(principal, instance_id, repository_id, repository_full_name, branch, now=None):
    """A repository branch the instance syncs from; Conflict when the instance already has it."""
    _check_target_fields({"repository_id": repository_id, "repository_full_name": repository_full_name,
                          "branch": branch})
    now = now or timezone.now()
    with transaction.atomic():
        instance = _locked_instance(principal, instance_id)
        _writable_instance(instance)
        target = ConnectorTarget(organization=principal.organization, instance=instance,
                                 repository_id=repository_id, repository_full_name=repository_full_name,
                                 branch=branch, created_at=now, updated_at=now)
        return _save_target(target, force_insert=True)


def update_target(principal, target_id, **changes):
    """Change repository_full_name, branch and/or status (active, disabled, with disabled_reason)."""
    unknown = set(changes) - {"repository_full_name", "branch", "status", "disabled_reason"}
    if unknown:
        raise Invalid(f"{min(unknown)}: cannot be changed.", field=min(unknown))
    _check_target_fields(changes)
    with transaction.atomic():
        target = _locked_target(principal, target_id)
        _writable_instance(target.instance)
        if changes.get("status") == ConnectorTarget.Status.ACTIVE:
            changes.setdefault("disabled_reason", "")
        for name, value in changes.items():
            setattr(target, name, value)
        target.updated_at = timezone.now()
        fields = [*changes, "updated_at"] + (["ref"] if "branch" in changes else [])
        return _save_target(target, update_fields=fields)


def _check_syncable(target):
    """Conflict unless the target, its instance and its account are all in a state that syncs."""
    instance, account = target.instance, target.instance.account
    if target.status != ConnectorTarget.Status.ACTIVE:
        raise Conflict(f"Connector target {target.pk} is {target.status}; enable it first.",
                       title="Connector target not syncing", status=target.status)
    if instance.status != ConnectorInstance.Status.ACTIVE:
        raise Conflict(f"Connector instance {instance.pk} is {instance.status}; enable it first.",
                       title="Connector instance not syncing", status=instance.status)
    if account.status != ConnectorAccount.Status.ACTIVE:
        raise Conflict(f"Connector account {account.pk} is {account.status}.",
                       title="Connector account not syncing", status=account.status)


def resync_target(principal, target_id):
    """Queue a manual resync of the branch head; the queued SyncEvent (its task is sent after commit).

    A manual resync already waiting to start (not one backing off after a failure) covers this one, so it is
    answered instead of queueing a second.
    """
    with transaction.atomic():
        target = _locked_target(principal, target_id)
        _check_syncable(target)
        waiting = (SyncEvent.objects
                   .filter(target=target, event_type=SyncEvent.Type.MANUAL_RESYNC,
                           status=SyncEvent.Status.QUEUED)
                   .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
                   .order_by("created_at", "id").first())
        if waiting is not None:
            return waiting
        event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL,
                                    created_by=_user(principal))
    return event


# Mappings


def mapping_queryset(organization):
    return ConnectorMapping.objects.filter(organization=organization).select_related("plugin")


def _locked_mapping(principal, mapping_id):
    mapping = (ConnectorMapping.objects.select_for_update(of=("self",))
               .select_related("target__instance", "plugin")
               .filter(organization=principal.organization, pk=mapping_id).first())
    if mapping is None:
        raise _not_found("connector mapping", mapping_id)
    return mapping


def _plugin_of(organization, plugin_id, field="pluginId"):
    plugin = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise _not_found("plugin", plugin_id, field=field)
    return plugin


@dataclass
class MappingInput:
    """One mapping as callers give it: the plugin by its `plugin-...` id."""

    selector: str
    object_type: str
    plugin_id: str | None = None
    auto_add_to_plugin: bool = False


def _resolve_mapping(principal, data, prefix=""):
    """Validate a MappingInput; (fields for ConnectorMapping) with the plugin looked up in the caller's
    organization.

    A mapping that names a plugin needs the editor role on it: the sync adds the files it selects to that
    plugin, so the editor role on the connector instance alone would let anyone fill any plugin.
    """
    _check(f"{prefix}selector", validate_selector, data.selector)
    _check(f"{prefix}objectType", validate_object_type, data.object_type)
    if data.auto_add_to_plugin and not data.plugin_id:
        raise Invalid(f"{prefix}autoAddToPlugin: needs a pluginId to add the objects to.",
                      field=f"{prefix}autoAddToPlugin")
    plugin = None
    if data.plugin_id:
        plugin = _plugin_of(principal.organization, data.plugin_id, f"{prefix}pluginId")
        access.require_role(principal, ResourceType.PLUGIN, plugin.pk, access.EDITOR,
                            f"Mapping files into plugin {plugin.plugin_id} needs the editor role on it")
    return {"selector": data.selector, "object_type": data.object_type, "plugin": plugin,
            "auto_add_to_plugin": bool(data.auto_add_to_plugin)}


def _validate_position(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValidationError("Must be a whole number from 0.")


def _next_position(target):
    last = target.mappings.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def create_mapping(principal, target_id, data, now=None):
    """Append a mapping (a path glob -> an object type, optionally into a plugin) to the target's list."""
    fields = _resolve_mapping(principal, data)
    now = now or timezone.now()
    with transaction.atomic():
        target = _locked_target(principal, target_id)
        _writable_instance(target.instance)
        return ConnectorMapping.objects.create(organization=principal.organization, target=target,
                                               position=_next_position(target), created_at=now,
                                               updated_at=now, **fields)


def update_mapping(principal, mapping_id, **changes):
    """Change selector, object_type, plugin_id (None clears it), auto_add_to_plugin and/or position.

    Any change to a mapping that (still) names a plugin needs the editor role on that plugin: a new selector,
    type or position changes what the sync puts into it as much as a new plugin does.
    """
    with transaction.atomic():
        mapping = _locked_mapping(principal, mapping_id)
        _writable_instance(mapping.target.instance)
        merged = MappingInput(
            selector=changes.get("selector", mapping.selector),
            object_type=changes.get("object_type", mapping.object_type),
            plugin_id=changes.get("plugin_id", getattr(mapping.plugin, "plugin_id", None)),
            auto_add_to_plugin=changes.get("auto_add_to_plugin", mapping.auto_add_to_plugin),
        )
        for name, value in _resolve_mapping(principal, merged).items():
            setattr(mapping, name, value)
        if "position" in changes:
            _check("position", _validate_position, changes["position"])
            mapping.position = changes["position"]
        mapping.updated_at = timezone.now()
        mapping.save()
    return mapping


def delete_mapping(principal, mapping_id):
    """Remove a mapping. Objects it brought in stay; the next sync treats their files as unmapped."""
    with transaction.atomic():
        mapping = _locked_mapping(principal, mapping_id)
        _writable_instance(mapping.target.instance)
        mapping.delete()


# Sync events


def sync_event_queryset(organization):
    return SyncEvent.objects.filter(organization=organization).select_related("target", "created_by")


def get_sync_event(organization, event_id):
    event = sync_event_queryset(organization).filter(pk=event_id).first()
    if event is None:
        raise _not_found("sync event", event_id)
    return event


def retry_sync_event(principal, event_id, now=None):
    """Run a failed or partial sync event again: the same event goes back to the queue.

    The event is the unit of work (one push, one resync), so it is requeued rather than copied: status
    queued, trigger retry, attempts from zero, its task sent after commit. The previous outcome is kept in
    `summary.previousOutcome` until the new run writes its own. Conflict for any other status (a queued or
    running event is already on its way; a completed or ignored one has nothing to redo) and when the target
    does not sync.
    """
    now = now or timezone.now()
    found = get_sync_event(principal.organization, event_id)
    with transaction.atomic():
        # The target first, as a worker's claim does, so the two never wait on each other in opposite order.
        target = _locked_target(principal, found.target_id)
        event = SyncEvent.objects.get(pk=found.pk)
        if event.status not in RETRYABLE_STATUSES:
            raise Conflict(f"Sync event {event.pk} is {event.status}; only failed or partial events can be "
                           "retried.", title="Sync event not retryable", status=event.status)
        _check_syncable(target)
        previous = {"status": event.status, "error": event.error, "attempts": event.attempts,
                    "finishedAt": event.finished_at.isoformat() if event.finished_at else None,
                    "summary": {k: v for k, v in (event.summary or {}).items() if k != "previousOutcome"}}
        # Compare-and-set on the status: two concurrent retries requeue (and enqueue) once.
        requeued = SyncEvent.objects.filter(pk=event.pk, status__in=RETRYABLE_STATUSES).update(
            status=SyncEvent.Status.QUEUED, trigger=SyncEvent.Trigger.RETRY, attempts=0,
            # No retry time: the task sent on commit runs it; the due-events sweep catches it if that is lost.
            next_attempt_at=None, lease_expires_at=None, started_at=None, finished_at=None, error="",
            summary={"previousOutcome": previous}, updated_at=now,
        )
        if requeued:
            enqueue_sync_event(event.pk)
    return get_sync_event(principal.organization, event.pk)


# Setup in one call


@dataclass
class GitHubSetup:
    account: ConnectorAccount
    account_created: bool
    instance: ConnectorInstance
    target: ConnectorTarget
    mappings: list
    sync_event: SyncEvent


def setup_github(principal, installation_id, instance_name, repository_id, repository_full_name, branch,
                 mappings, now=None):
    """Connect a repository branch in one step, all or nothing: the account (the organization's account of
    that installation is reused, and reconnected if it was disconnected), a new instance, its target, the
    mappings in order, and a first sync queued for after commit.

    `mappings` is a list of MappingInput (at least one). Any invalid field (named like
    `mappings[1].selector`), an unknown plugin (NotFound), a taken instance name or an installation connected
    to another organization (Conflict) creates nothing.
    """
    _check("installationId", validate_positive_id, installation_id)
    _check("connectorInstanceName", _validate_name, instance_name)
    _check_target_fields({"repository_id": repository_id, "repository_full_name": repository_full_name,
                          "branch": branch})
    if not mappings:
        raise Invalid("mappings: give at least one mapping.", field="mappings")
    resolved = [_resolve_mapping(principal, data, f"mappings[{n}].")
                for n, data in enumerate(mappings)]
    now = now or timezone.now()
    with transaction.atomic():
        account = _account_of_installation(installation_id)
        _held_elsewhere(principal, account)
        account_created = account is None
        if account is None:
            account, _ = connect_account(principal, installation_id, now=now)
        elif account.status != ConnectorAccount.Status.ACTIVE:
            _reconnect(account, now)
            account.save(update_fields=["status", "disconnected_at", "updated_at"])
        instance = _save_named(
            ConnectorInstance(organization=principal.organization, account=account, provider=account.provider,
                              name=instance_name, created_by=_user(principal), created_at=now,
                              updated_at=now),
            instance_name, force_insert=True)
        access.grant_creator(principal, ResourceType.CONNECTOR_INSTANCE, instance.pk)
        target = ConnectorTarget.objects.create(
            organization=principal.organization, instance=instance, repository_id=repository_id,
            repository_full_name=repository_full_name, branch=branch, created_at=now, updated_at=now)
        created = [ConnectorMapping.objects.create(organization=principal.organization, target=target,
                                                   position=n, created_at=now, updated_at=now, **fields)
                   for n, fields in enumerate(resolved)]
        event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL,
                                    created_by=_user(principal))
    return GitHubSetup(account, account_created, instance, target, created, event)
