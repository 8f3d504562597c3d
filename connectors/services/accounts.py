"""Connector accounts: the GitHub App installations an organization connects. Org admins only.

An installation belongs to one organization: the App's token reads the installation's repositories,
whoever asks, so no second organization may connect it, even after the first disconnected it.
"""

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from connectors.models import ConnectorAccount, Provider
from connectors.services.validation import check, validate_positive_id
from plexica.access import services as access
from plexica.errors import Conflict, NotFound


def _missing(account_id):
    return NotFound(f"No connector account {account_id} in this organization.",
                    title="Connector account not found")


def account_queryset(principal):
    """The organization's accounts, each annotated with `instance_count`."""
    access.require_org_admin(principal, "Reading connector accounts")
    return (ConnectorAccount.objects.filter(organization=principal.organization).select_related("created_by")
            .annotate(instance_count=Count("instances")))


def get_account(principal, account_id):
    """One account of the organization (NotFound otherwise), annotated as in `account_queryset`."""
    account = account_queryset(principal).filter(pk=account_id).first()
    if account is None:
        raise _missing(account_id)
    return account


def locked_account(principal, account_id):
    """The organization's account, locked for update (NotFound otherwise). Its caller checks the rule."""
    account = ConnectorAccount.objects.select_for_update().filter(organization=principal.organization,
                                                                  pk=account_id).first()
    if account is None:
        raise _missing(account_id)
    return account


def account_of_installation(installation_id):
    """The account holding the installation in any organization, locked; None when nobody connected it."""
    return (ConnectorAccount.objects.select_for_update()
            .filter(provider=Provider.GITHUB, installation_id=installation_id).first())


def refuse_held_elsewhere(principal, account):
    """Conflict when `account` belongs to another organization. It names neither that organization nor the
    account: whether an installation id is taken is all another organization learns."""
    if account is not None and account.organization_id != principal.organization.pk:
        raise Conflict("This installation is connected to another organization.",
                       title="Installation connected elsewhere", field="installationId")


def reconnect(account, now):
    """Make a disconnected (or suspended) account active again; the caller saves it."""
    account.status, account.disconnected_at, account.updated_at = ConnectorAccount.Status.ACTIVE, None, now


def _account_exists(installation_id, account=None):
    extra = {"accountId": account.pk} if account is not None else {}
    return Conflict(f"Installation {installation_id} is already connected to this organization.",
                    title="Connector account exists", **extra)


def connect_account(principal, installation_id, account_login="", account_type="", display_name="", now=None):
    """Connect a GitHub App installation; (account, created). Needs an org admin.

    Another organization's account of the installation, even a disconnected one, is a Conflict. A
    disconnected account of this organization is reconnected (same id, created=False); one still connected
    is a Conflict. The account is returned annotated as `get_account` returns it.
    """
    access.require_org_admin(principal, "Connecting a GitHub App installation")
    check("installationId", validate_positive_id, installation_id)
    now = now or timezone.now()
    details = {"account_login": account_login or "", "account_type": account_type or "",
               "display_name": display_name or ""}
    with transaction.atomic():
        account = account_of_installation(installation_id)
        refuse_held_elsewhere(principal, account)
        if account is None:
            try:
                with transaction.atomic():
                    account = ConnectorAccount.objects.create(
                        organization=principal.organization, installation_id=installation_id,
                        created_by=principal.user, created_at=now, updated_at=now, **details)
            except IntegrityError:
                # A concurrent connect won the unique constraint; its row is committed and visible now.
                winner = account_of_installation(installation_id)
                refuse_held_elsewhere(principal, winner)
                raise _account_exists(installation_id, winner) from None
            created = True
        else:
            if account.status != ConnectorAccount.Status.DISCONNECTED:
                raise _account_exists(installation_id, account)
            reconnect(account, now)
            for name, value in details.items():
                if value:
                    setattr(account, name, value)
            account.save()
            created = False
    return get_account(principal, account.pk), created


def disconnect_account(principal, account_id, now=None):
    """Mark an account disconnected: none of its targets syncs until it is connected again. Idempotent.
    Needs an org admin."""
    access.require_org_admin(principal, "Disconnecting a connector account")
    with transaction.atomic():
        account = locked_account(principal, account_id)
        if account.status != ConnectorAccount.Status.DISCONNECTED:
            account.status = ConnectorAccount.Status.DISCONNECTED
            account.disconnected_at = account.updated_at = now or timezone.now()
            account.save(update_fields=["status", "disconnected_at", "updated_at"])
    return get_account(principal, account_id)
