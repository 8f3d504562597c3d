"""A GitHub connector set up in one call: account, instance, target, mappings and a first sync. Org admins
only; all or nothing."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from connectors.queueing import queue_sync_event
from connectors.services.accounts import (
    account_of_installation,
    connect_account,
    reconnect,
    refuse_held_elsewhere,
)
from connectors.services.instances import save_named
from connectors.services.mappings import resolve_mapping
from connectors.services.targets import check_target_fields
from connectors.services.validation import check, validate_name, validate_positive_id
from connectors.sharing import CONNECTOR_INSTANCE
from plexica.access import services as access
from plexica.errors import Invalid


@dataclass
class GitHubSetup:
    """What setup_github made: the account (and whether it is new), the instance, target, mappings and the
    first sync event."""

    account: ConnectorAccount
    account_created: bool
    instance: ConnectorInstance
    target: ConnectorTarget
    mappings: list
    sync_event: SyncEvent


def setup_github(principal, installation_id, instance_name, repository_id, repository_full_name, branch,
                 mappings, now=None):
    """Connect a repository branch in one step, all or nothing: the account (the organization's account of
    that installation is reused, and reconnected if it was disconnected), a new instance managed by its
    creator, its target, the mappings in order, and a first sync queued for after commit. Needs an org admin.

    `mappings` is a list of MappingInput (at least one). Any invalid field (named like
    `mappings[1].selector`), an unknown plugin (NotFound), a taken instance name or an installation connected
    to another organization (Conflict) creates nothing.
    """
    access.require_org_admin(principal, "Setting up a GitHub connector")
    check("installationId", validate_positive_id, installation_id)
    check("connectorInstanceName", validate_name, instance_name)
    check_target_fields({"repository_id": repository_id, "repository_full_name": repository_full_name,
                         "branch": branch})
    if not mappings:
        raise Invalid("mappings: give at least one mapping.", field="mappings")
    resolved = [resolve_mapping(principal, data, f"mappings[{n}].") for n, data in enumerate(mappings)]
    now = now or timezone.now()
    with transaction.atomic():
        account = account_of_installation(installation_id)
        refuse_held_elsewhere(principal, account)
        account_created = account is None
        if account is None:
            account, _ = connect_account(principal, installation_id, now=now)
        elif account.status != ConnectorAccount.Status.ACTIVE:
            reconnect(account, now)
            account.save(update_fields=["status", "disconnected_at", "updated_at"])
        instance = save_named(
            ConnectorInstance(organization=principal.organization, account=account, provider=account.provider,
                              name=instance_name, created_by=principal.user, created_at=now, updated_at=now),
            instance_name, force_insert=True)
        access.grant_creator(principal, CONNECTOR_INSTANCE, instance.pk)
        target = ConnectorTarget.objects.create(
            organization=principal.organization, instance=instance, repository_id=repository_id,
            repository_full_name=repository_full_name, branch=branch, created_at=now, updated_at=now)
        created = [ConnectorMapping.objects.create(organization=principal.organization, target=target,
                                                   position=n, created_at=now, updated_at=now, **fields)
                   for n, fields in enumerate(resolved)]
        event, _ = queue_sync_event(target, SyncEvent.Type.MANUAL_RESYNC, trigger=SyncEvent.Trigger.MANUAL,
                                    created_by=principal.user)
    return GitHubSetup(account, account_created, instance, target, created, event)
