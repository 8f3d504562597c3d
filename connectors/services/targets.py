"""Connector targets: the repository branches an instance syncs from, and manual resyncs of them.

The rules are the instance's (connectors.services.instances): viewer reads, editor adds, changes and
resyncs. A target is disabled, never deleted: its source bindings are the provenance of config objects.
"""

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from connectors.queueing import queue_sync_event
from connectors.services.instances import (
    get_instance,
    locked_instance,
    refuse_archived,
    require_instance_role,
)
from connectors.services.validation import (
    check,
    validate_branch,
    validate_positive_id,
    validate_repository_full_name,
    validate_target_status,
)
from plexica.access import services as access
from plexica.errors import Conflict, Invalid, NotFound

FIELD_CHECKS = {
    "repository_id": ("repositoryId", validate_positive_id),
    "repository_full_name": ("repositoryFullName", validate_repository_full_name),
    "branch": ("branch", validate_branch),
    "status": ("status", validate_target_status),
}
CHANGEABLE = {"repository_full_name", "branch", "status", "disabled_reason"}


def _missing(target_id):
    return NotFound(f"No connector target {target_id} in this organization.", title="Connector target not found")


def check_target_fields(fields):
    """Invalid naming the first field of `fields` ({model field: value}) its validator refuses."""
    for name, value in fields.items():
        if name in FIELD_CHECKS:
            field, validator = FIELD_CHECKS[name]
            check(field, validator, value)


def _queryset(organization):
    mappings = Prefetch("mappings", queryset=ConnectorMapping.objects.select_related("plugin"))
    return (ConnectorTarget.objects.filter(organization=organization)
            .select_related("instance").prefetch_related(mappings))


def target_queryset(principal, instance_id):
    """The targets of one instance with their mappings (NotFound for an unknown instance); the viewer role
    on it."""
    instance = get_instance(principal, instance_id)
    return _queryset(principal.organization).filter(instance=instance)


def get_target(principal, target_id):
    """One target with its mappings (NotFound when the organization has none such); the viewer role on its
    instance."""
    target = _queryset(principal.organization).filter(pk=target_id).first()
    if target is None:
        raise _missing(target_id)
    require_instance_role(principal, target.instance_id, access.VIEWER)
    return target


def _annotated(principal, target):
    return _queryset(principal.organization).get(pk=target.pk)


def locked_target(principal, target_id, role, doing=None):
    """The organization's target locked for update, with its instance and account (NotFound otherwise), once
    the caller holds `role` on its instance."""
    target = (ConnectorTarget.objects.select_for_update(of=("self",)).select_related("instance__account")
              .filter(organization=principal.organization, pk=target_id).first())
    if target is None:
        raise _missing(target_id)
    require_instance_role(principal, target.instance_id, role, doing)
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


def create_target(principal, instance_id, repository_id, repository_full_name, branch, now=None):
    """A repository branch the instance syncs from (the editor role on it); Conflict when the instance is
    archived or already has it."""
    now = now or timezone.now()
    with transaction.atomic():
        instance = locked_instance(principal, instance_id, access.EDITOR, "Adding a target needs the editor role")
        check_target_fields({"repository_id": repository_id, "repository_full_name": repository_full_name,
                             "branch": branch})
        refuse_archived(instance)
        target = ConnectorTarget(organization=principal.organization, instance=instance,
                                 repository_id=repository_id, repository_full_name=repository_full_name,
                                 branch=branch, created_at=now, updated_at=now)
        _save_target(target, force_insert=True)
    return _annotated(principal, target)


def update_target(principal, target_id, **changes):
    """Change repository_full_name, branch and/or status (active, disabled, with disabled_reason); the
    editor role on its instance."""
    with transaction.atomic():
        target = locked_target(principal, target_id, access.EDITOR, "Editing a target needs the editor role")
        unknown = set(changes) - CHANGEABLE
        if unknown:
            raise Invalid(f"{min(unknown)}: cannot be changed.", field=min(unknown))
        check_target_fields(changes)
        refuse_archived(target.instance)
        if changes.get("status") == ConnectorTarget.Status.ACTIVE:
            changes.setdefault("disabled_reason", "")
        for name, value in changes.items():
            setattr(target, name, value)
        target.updated_at = timezone.now()
        fields = [*changes, "updated_at"] + (["ref"] if "branch" in changes else [])
        _save_target(target, update_fields=fields)
    return _annotated(principal, target)


def refuse_unsyncable(target):
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
    """Queue a manual resync of the branch head (the editor role on its instance); the queued SyncEvent
    (its task is sent after commit).

    A manual resync already waiting to start (not one backing off after a failure) covers this one, so it is
    answered instead of queueing a second.
    """
    with transaction.atomic():
        target = locked_target(principal, target_id, access.EDITOR, "Resyncing a target needs the editor role")
        refuse_unsyncable(target)
        waiting = (SyncEvent.objects
                   .filter(target=target, event_type=SyncEvent.Type.MANUAL_RESYNC,
                           status=SyncEvent.Status.QUEUED)
                   .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
                   .order_by("created_at", "id").first())
        if waiting is None:
            waiting, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL,
                                          created_by=principal.user)
    return SyncEvent.objects.select_related("target", "created_by").get(pk=waiting.pk)
