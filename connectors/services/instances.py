"""Connector instances: named uses of a connector account, whose targets are the repositories they sync.

Access grants on an instance cover everything under it (its targets, their mappings and sync events):
viewer reads, editor changes and resyncs, manager archives, deletes and shares. Creating one needs an org
admin; its creator becomes its manager.
"""

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from connectors.models import ConnectorAccount, ConnectorInstance, SourceBinding, SyncEvent
from connectors.services.accounts import locked_account
from connectors.services.validation import check, validate_name
from connectors.sharing import CONNECTOR_INSTANCE
from plexica.access import services as access
from plexica.errors import Conflict, NotFound
from plexica.transitions import transition


def _missing(instance_id):
    return NotFound(f"No connector instance {instance_id} in this organization.",
                    title="Connector instance not found")


def _queryset(organization):
    return (ConnectorInstance.objects.filter(organization=organization)
            .select_related("account", "created_by").annotate(target_count=Count("targets")))


def instance_queryset(principal):
    """The instances the caller can at least view, each annotated with `target_count`."""
    return access.restrict(_queryset(principal.organization), principal, CONNECTOR_INSTANCE)


def get_instance(principal, instance_id):
    """One instance, annotated (NotFound when the organization has none such); the viewer role on it."""
    instance = _queryset(principal.organization).filter(pk=instance_id).first()
    if instance is None:
        raise _missing(instance_id)
    access.require_role(principal, CONNECTOR_INSTANCE, instance.pk, access.VIEWER)
    return instance


def instance_pk(principal, instance_id):
    """The id of the organization's instance `instance_id` (NotFound otherwise), for the grants API, which
    checks the manager role itself."""
    found = ConnectorInstance.objects.filter(organization=principal.organization, pk=instance_id)
    pk = found.values_list("pk", flat=True).first()
    if pk is None:
        raise _missing(instance_id)
    return pk


def _annotated(principal, instance):
    return _queryset(principal.organization).get(pk=instance.pk)


def require_instance_role(principal, instance_id, role, doing=None):
    """403 unless the caller holds `role` on the instance (the resource, not the caller's standing)."""
    access.require_role(principal, CONNECTOR_INSTANCE, instance_id, role, doing)


def locked_instance(principal, instance_id, role, doing=None):
    """The organization's instance locked for update (NotFound otherwise), once the caller holds `role`."""
    instance = ConnectorInstance.objects.select_for_update().filter(organization=principal.organization,
                                                                    pk=instance_id).first()
    if instance is None:
        raise _missing(instance_id)
    require_instance_role(principal, instance.pk, role, doing)
    return instance


def refuse_archived(instance):
    """Conflict when the instance is archived: it and everything under it are read-only until enabled."""
    if instance.status == ConnectorInstance.Status.ARCHIVED:
        raise Conflict(f"Connector instance {instance.pk} is archived; enable it before changing it.",
                       title="Connector instance archived", status=instance.status)


def _name_taken(name):
    return Conflict(f"A connector instance named '{name}' already exists in this organization.",
                    title="Connector instance name taken", field="name")


def save_named(instance, name, **save_kwargs):
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
    """A new active instance of a connected account, managed by its creator. Needs an org admin; Conflict
    when the account is disconnected or the name is taken in the organization."""
    access.require_org_admin(principal, "Creating a connector instance")
    check("name", validate_name, name)
    now = now or timezone.now()
    with transaction.atomic():
        account = locked_account(principal, account_id)
        if account.status == ConnectorAccount.Status.DISCONNECTED:
            raise Conflict(f"Connector account {account.pk} is disconnected; connect it again first.",
                           title="Connector account disconnected", accountStatus=account.status)
        instance = ConnectorInstance(organization=principal.organization, account=account,
                                     provider=account.provider, name=name, description=description or "",
                                     created_by=principal.user, created_at=now, updated_at=now)
        instance = save_named(instance, name, force_insert=True)
        access.grant_creator(principal, CONNECTOR_INSTANCE, instance.pk)
    return _annotated(principal, instance)


def update_instance(principal, instance_id, **changes):
    """Change name and/or description (the editor role); an archived instance is read-only (enable it first)."""
    with transaction.atomic():
        instance = locked_instance(principal, instance_id, access.EDITOR,
                                   "Editing a connector instance needs the editor role")
        if "name" in changes:
            check("name", validate_name, changes["name"])
        refuse_archived(instance)
        for name, value in changes.items():
            setattr(instance, name, value)
        instance.updated_at = timezone.now()
        save_named(instance, instance.name, update_fields=[*changes, "updated_at"])
    return _annotated(principal, instance)


def _change_status(principal, instance_id, allowed_from, to, role, doing):
    with transaction.atomic():
        instance = locked_instance(principal, instance_id, role, doing)
        transition(instance, to, allowed_from, what=f"Connector instance {instance.pk}",
                   title="Invalid connector instance status change")
    return _annotated(principal, instance)


def disable_instance(principal, instance_id):
    """Stop syncing an active (or failing) instance's targets (the editor role); Conflict from disabled or
    archived."""
    status = ConnectorInstance.Status
    return _change_status(principal, instance_id, {status.ACTIVE, status.ERROR}, status.DISABLED,
                          access.EDITOR, "Disabling a connector instance needs the editor role")


def enable_instance(principal, instance_id):
    """Make a disabled, failing or archived instance active again (the editor role); Conflict when active."""
    status = ConnectorInstance.Status
    return _change_status(principal, instance_id, {status.DISABLED, status.ERROR, status.ARCHIVED},
                          status.ACTIVE, access.EDITOR, "Enabling a connector instance needs the editor role")


def archive_instance(principal, instance_id):
    """Retire an instance (read-only, never synced) while keeping its history (the manager role); Conflict
    when archived."""
    status = ConnectorInstance.Status
    return _change_status(principal, instance_id, {status.ACTIVE, status.DISABLED, status.ERROR},
                          status.ARCHIVED, access.MANAGER, "Archiving a connector instance needs the manager role")


def delete_instance(principal, instance_id):
    """Delete an instance with its targets, mappings and sync history (the manager role).

    Conflict while its targets are the source of config objects (their provenance would be lost: archive it
    instead) or while a sync is queued or running.
    """
    with transaction.atomic():
        instance = locked_instance(principal, instance_id, access.MANAGER,
                                   "Deleting a connector instance needs the manager role")
        if SourceBinding.objects.filter(target__instance=instance, closed_at__isnull=True).exists():
            raise Conflict(f"Connector instance {instance.pk} is the source of config objects; "
                           "archive it instead.", title="Connector instance in use", reason="source_bindings")
        if SyncEvent.objects.filter(target__instance=instance, status__in=SyncEvent.OPEN_STATUSES).exists():
            raise Conflict(f"Connector instance {instance.pk} has a sync queued or running; try again later.",
                           title="Connector instance in use", reason="sync_in_progress")
        instance.delete()
