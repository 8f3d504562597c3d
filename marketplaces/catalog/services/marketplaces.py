"""Marketplaces: curated sets of an organization's plugins, the plugins they offer, the resolved view. No HTTP.

Each public function takes the acting principal first and checks its own rule: an org admin creates a
marketplace; the viewer role reads one, the editor role edits it and changes its plugins (offering a plugin
also takes the editor role on that plugin), the manager role archives, deletes or restores it. Every lookup
is scoped to the caller's organization, so a marketplace or plugin of another one is NotFound, before any 403.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from marketplaces.catalog.models import Marketplace, MarketplacePlugin, MembershipSource
from marketplaces.catalog.services.bundles import ResolvedPlugin, member_objects
from marketplaces.catalog.services.membership_rows import activate, deactivate
from marketplaces.catalog.services.plugins import require_plugin_role
from marketplaces.sharing import MARKETPLACE
from plexica.access import services as access
from plexica.errors import Conflict, NotFound
from plexica.events.log import emit
from plexica.plugins.models import Plugin

MARKETPLACE_EDIT = "Changing a marketplace's plugins needs the editor role on the marketplace"


def _queryset(organization, include_deleted=False):
    queryset = Marketplace.objects.filter(organization=organization).select_related("created_by")
    return queryset if include_deleted else queryset.filter(deleted_at__isnull=True)


def _not_found(marketplace_id):
    return NotFound(f"No marketplace {marketplace_id} in this organization.", title="Marketplace not found")


def lookup_marketplace(organization, marketplace_id, include_deleted=False):
    """The marketplace of `organization`, or NotFound (deleted ones only when asked for). No access check: for
    callers that check a rule of their own next (grants)."""
    found = _queryset(organization, include_deleted).filter(pk=marketplace_id).first()
    if found is None:
        raise _not_found(marketplace_id)
    return found


def _find(principal, marketplace_id, role, doing=None, include_deleted=False):
    marketplace = lookup_marketplace(principal.organization, marketplace_id, include_deleted=include_deleted)
    access.require_role(principal, MARKETPLACE, marketplace.pk, role, doing)
    return marketplace


# Reading


def list_marketplaces(principal):
    """The organization's marketplaces the caller can view, deleted ones included (the list filters them)."""
    return access.restrict(_queryset(principal.organization, include_deleted=True), principal, MARKETPLACE)


def get_marketplace(principal, marketplace_id, include_deleted=False):
    """One marketplace; the viewer role on it."""
    return _find(principal, marketplace_id, access.VIEWER, include_deleted=include_deleted)


def marketplace_memberships(organization):
    """The active plugin memberships of `organization`'s marketplaces, for display."""
    return (MarketplacePlugin.objects.filter(organization=organization, removed_at__isnull=True)
            .select_related("plugin", "marketplace", "added_by"))


def plugins_of_marketplace(principal, marketplace_id):
    """The active plugin memberships of a marketplace; the viewer role on it."""
    marketplace = get_marketplace(principal, marketplace_id)
    return marketplace_memberships(principal.organization).filter(marketplace=marketplace)


@dataclass
class ResolvedMarketplace:
    marketplace: Marketplace
    plugins: list


def resolve_marketplace(principal, marketplace_id, include_deleted=False):
    """The marketplace, its active plugins, and each plugin's member objects with latest versions (three
    queries); the viewer role on the marketplace."""
    marketplace = get_marketplace(principal, marketplace_id, include_deleted=include_deleted)
    plugins = list(Plugin.objects.filter(marketplace_memberships__marketplace=marketplace,
                                         marketplace_memberships__removed_at__isnull=True).order_by("plugin_id"))
    members = member_objects(plugins)
    return ResolvedMarketplace(marketplace, [ResolvedPlugin(p, members[p.pk]) for p in plugins])


# Changing

# The API's names of the fields a marketplace.updated event lists as changed.
WIRE_NAMES = {"name": "name", "description": "description", "logo_url": "logoUrl"}


def _emit(principal, type_, marketplace, **data):
    emit(principal, type_, subject=("marketplace", marketplace.pk),
         data={"marketplaceId": marketplace.pk, "name": marketplace.name, **data})


def create_marketplace(principal, name, description="", logo_url="", now=None):
    """A new active marketplace; an org admin only (a member who creates one becomes its manager)."""
    access.require_org_admin(principal, "Creating a marketplace")
    now = now or timezone.now()
    with transaction.atomic():
        marketplace = Marketplace.objects.create(organization=principal.organization, name=name,
                                                 description=description, logo_url=logo_url,
                                                 created_by=principal.user, created_at=now, updated_at=now)
        _emit(principal, "marketplace.created", marketplace)
        access.grant_creator(principal, MARKETPLACE, marketplace.pk)
    return marketplace


def _locked(principal, marketplace_id, role, doing, include_deleted=False):
    """The marketplace, its row locked until the transaction ends, after the role check (NotFound first)."""
    queryset = Marketplace.objects.select_for_update().filter(organization=principal.organization, pk=marketplace_id)
    marketplace = (queryset if include_deleted else queryset.filter(deleted_at__isnull=True)).first()
    if marketplace is None:
        raise _not_found(marketplace_id)
    access.require_role(principal, MARKETPLACE, marketplace.pk, role, doing)
    return marketplace


def update_marketplace(principal, marketplace_id, **changes):
    """Change name, description and/or logo_url of a marketplace that is not deleted. The editor role.
    marketplace.updated lists the fields whose value changed (none changed: no event)."""
    with transaction.atomic():
        marketplace = _locked(principal, marketplace_id, access.EDITOR, "Editing a marketplace needs the editor role")
        changed = [name for name, value in changes.items() if getattr(marketplace, name) != value]
        for name, value in changes.items():
            setattr(marketplace, name, value)
        marketplace.updated_at = timezone.now()
        marketplace.save(update_fields=[*changes, "updated_at"])
        if changed:
            _emit(principal, "marketplace.updated", marketplace,
                  changed=[WIRE_NAMES.get(name, name) for name in changed])
    return marketplace


def archive_marketplace(principal, marketplace_id):
    """Archive an active marketplace (archiving an archived one changes nothing). The manager role."""
    with transaction.atomic():
        marketplace = _locked(principal, marketplace_id, access.MANAGER,
                              "Archiving a marketplace needs the manager role")
        if marketplace.status != Marketplace.Status.ARCHIVED:
            marketplace.status, marketplace.updated_at = Marketplace.Status.ARCHIVED, timezone.now()
            marketplace.save(update_fields=["status", "updated_at"])
            _emit(principal, "marketplace.archived", marketplace)
    return marketplace


def restore_marketplace(principal, marketplace_id):
    """Bring an archived or deleted marketplace back to active. The manager role."""
    with transaction.atomic():
        marketplace = _locked(principal, marketplace_id, access.MANAGER,
                              "Restoring a marketplace needs the manager role", include_deleted=True)
        if marketplace.status != Marketplace.Status.ACTIVE or marketplace.is_deleted:
            previous = "deleted" if marketplace.is_deleted else marketplace.status
            marketplace.status, marketplace.deleted_at = Marketplace.Status.ACTIVE, None
            marketplace.updated_at = timezone.now()
            marketplace.save(update_fields=["status", "deleted_at", "updated_at"])
            _emit(principal, "marketplace.restored", marketplace, fromStatus=str(previous))
    return marketplace


def delete_marketplace(principal, marketplace_id, now=None):
    """Soft delete: the row and its memberships stay; lists hide it unless includeDeleted. The manager role."""
    with transaction.atomic():
        marketplace = _locked(principal, marketplace_id, access.MANAGER,
                              "Deleting a marketplace needs the manager role")
        marketplace.deleted_at = marketplace.updated_at = now or timezone.now()
        marketplace.save(update_fields=["deleted_at", "updated_at"])
        _emit(principal, "marketplace.deleted", marketplace)
    return marketplace


def add_plugin_to_marketplace(principal, marketplace, plugin, source=MembershipSource.API, now=None):
    """Offer `plugin` in `marketplace` (both of the principal's organization); (membership, created), which
    records `source` (the API's, the admin's...). The editor role on the marketplace, then on the plugin."""
    if plugin.organization_id != principal.organization.pk or marketplace.organization_id != principal.organization.pk:
        raise NotFound("No such plugin or marketplace in this organization.")
    access.require_role(principal, MARKETPLACE, marketplace.pk, access.EDITOR, MARKETPLACE_EDIT)
    require_plugin_role(principal, plugin, access.EDITOR,
                        "Offering a plugin in a marketplace needs the editor role on the plugin")
    if marketplace.is_deleted:
        raise Conflict(f"Marketplace {marketplace.pk} is deleted; restore it first.")
    with transaction.atomic():
        row, created, was_active = activate(
            MarketplacePlugin, {"marketplace": marketplace, "plugin": plugin},
            {"organization": principal.organization, "source": source, "added_by": principal.user}, now=now,
        )
        if not was_active:  # offering an offered plugin changes nothing
            _emit(principal, "marketplace.plugin_added", marketplace, pluginId=plugin.plugin_id, source=str(source))
    return row, created


def remove_plugin_from_marketplace(principal, marketplace, plugin, now=None):
    """Stop offering `plugin` in `marketplace`; NotFound when it is not offered there. The editor role on the
    marketplace."""
    access.require_role(principal, MARKETPLACE, marketplace.pk, access.EDITOR, MARKETPLACE_EDIT)
    with transaction.atomic():
        deactivate(
            MarketplacePlugin, {"organization": principal.organization, "marketplace": marketplace, "plugin": plugin},
            NotFound(f"Plugin {plugin.plugin_id} is not in marketplace {marketplace.pk}.",
                     title="Membership not found"),
            now,
        )
        _emit(principal, "marketplace.plugin_removed", marketplace, pluginId=plugin.plugin_id)
