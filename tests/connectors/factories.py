"""Connector rows for tests, made through the services (so they obey the same rules as the API)."""

from django.utils import timezone

from connectors.models import SyncEvent
from connectors.services import accounts, instances, targets
from connectors.services.mappings import MappingInput, create_mapping
from plexica.tenancy.principal import Principal

API = "/api/v1"


def principal(org):
    """The organization acting on its own: every rule of the services passes, nobody is recorded as creator."""
    return Principal.system(org)


def account(org, installation_id=1001, **details):
    return accounts.connect_account(principal(org), installation_id, **details)[0]


def instance(org, name="Sales repo", installation_id=1001, account_=None):
    account_ = account_ or account(org, installation_id)
    return instances.create_instance(principal(org), account_.pk, name)


def target(org, instance_=None, repository_id=42, full_name="acme/sales", branch="main", mappings=()):
    instance_ = instance_ or instance(org)
    created = targets.create_target(principal(org), instance_.pk, repository_id, full_name, branch)
    for selector, object_type in mappings:
        create_mapping(principal(org), created.pk, MappingInput(selector, object_type))
    return targets.get_target(principal(org), created.pk)  # its mappings prefetched, those above included


def event(target_, status=SyncEvent.Status.FAILED, event_type=SyncEvent.Type.PUSH, head_sha="a" * 40,
          **fields):
    """A sync event as the worker leaves it (no task sent)."""
    now = timezone.now()
    return SyncEvent.objects.create(
        organization_id=target_.organization_id, target=target_, event_type=event_type, head_sha=head_sha,
        status=status, attempts=fields.pop("attempts", 3), finished_at=fields.pop("finished_at", now),
        error=fields.pop("error", "GitHub answered 502 three times"), **fields)
