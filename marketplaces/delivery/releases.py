"""Plugin releases: immutable snapshots of a plugin's config object versions, and pinning one. No HTTP.

A release records, for every active member object of the plugin, the version that was latest when it was
made (deleted objects and objects whose latest version is a deleted version are left out). Delivery serves
the rolling latest unless a release is pinned; at most one release of a plugin is pinned, and pinning and
creating are serialised per plugin by a row lock on the plugin, so two pins never race into the constraint.

Each public function takes the acting principal first and checks its own rule: the viewer role on the
plugin to read its releases, the manager role to make, pin or unpin one. The plugin is looked up first, so
an id of another organization is a 404 before any 403. Making, pinning and unpinning emit release.created,
release.pinned and release.unpinned in their transaction (pinning the pinned release emits nothing).
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from marketplaces.catalog.models import PluginConfigObject
from marketplaces.catalog.services.plugins import lookup_plugin, require_plugin_role
from marketplaces.config_objects.services import latest_version_value
from marketplaces.delivery.models import PluginRelease, PluginReleaseItem
from plexica.access import services as access
from plexica.errors import Conflict, NotFound
from plexica.events.log import emit
from plexica.plugins.models import Plugin


@dataclass(frozen=True)
class ServedItem:
    """One config object version a plugin delivers (or a release holds); no payload."""

    plugin_pk: str
    config_object_id: str
    type: str
    title: str
    version_id: str
    sha256: str


def _latest(field_name):
    return latest_version_value(field_name, outer="config_object_id")


def latest_member_items(plugin_pks):
    """{plugin pk: [ServedItem]}: each active member's latest version, in one query.

    Deleted objects and objects whose latest version is a deleted version are left out. Values only, so no
    payload is loaded (or decrypted).
    """
    rows = (PluginConfigObject.objects
            .filter(plugin_id__in=plugin_pks, removed_at__isnull=True, config_object__deleted_at__isnull=True)
            .annotate(latest_id=_latest("id"), latest_sha256=_latest("sha256"),
                      latest_deleted=_latest("is_deleted_version"))
            .filter(latest_id__isnull=False, latest_deleted=False)
            .order_by("config_object__title", "config_object_id")
            .values_list("plugin_id", "config_object_id", "config_object__type", "config_object__title",
                         "latest_id", "latest_sha256"))
    items = {pk: [] for pk in plugin_pks}
    for row in rows:
        items[row[0]].append(ServedItem(*row))
    return items


def release_items(release_pks, deliverable_only=False):
    """{release pk: [ServedItem]} in one query. `deliverable_only` leaves out objects deleted since (or whose
    latest version is now a deleted version): a deletion takes an object out of every manifest."""
    rows = PluginReleaseItem.objects.filter(release_id__in=release_pks)
    if deliverable_only:
        rows = (rows.filter(config_object__deleted_at__isnull=True)
                .annotate(latest_deleted=_latest("is_deleted_version"))
                .filter(latest_deleted=False))
    rows = rows.order_by("config_object__title", "config_object_id").values_list(
        "release_id", "release__plugin_id", "config_object_id", "config_object__type", "config_object__title",
        "version_id", "version__sha256")
    items = {pk: [] for pk in release_pks}
    for release_id, *rest in rows:
        items[release_id].append(ServedItem(*rest))
    return items


# Reading


def _find_plugin(principal, plugin_id, role, doing=None):
    plugin = lookup_plugin(principal.organization, plugin_id)
    require_plugin_role(principal, plugin, role, doing)
    return plugin


def _releases_of(plugin):
    return (PluginRelease.objects.filter(organization_id=plugin.organization_id, plugin=plugin)
            .select_related("plugin", "created_by").annotate(item_count=Count("items")))


def _release_of(plugin, release_id):
    release = _releases_of(plugin).filter(pk=release_id).first()
    if release is None:
        raise NotFound(f"Plugin {plugin.plugin_id} has no release {release_id}.", title="Release not found")
    return release


def _with_items(release):
    """`release` with `.served_items`: every item it holds, deleted objects included (it never changes)."""
    release.served_items = release_items([release.pk])[release.pk]
    return release


def list_releases(principal, plugin_id):
    """The plugin's releases with their item counts, for listing (newest first); the viewer role on the plugin."""
    return _releases_of(_find_plugin(principal, plugin_id, access.VIEWER))


def get_release(principal, plugin_id, release_id):
    """One release of the plugin with its item count and `.served_items`; the viewer role on the plugin."""
    return _with_items(_release_of(_find_plugin(principal, plugin_id, access.VIEWER), release_id))


def pinned_release(plugin):
    """The plugin's pinned release, or None (delivery then serves the rolling latest)."""
    return PluginRelease.objects.filter(plugin=plugin, pinned_at__isnull=False).first()


# Changing


def _locked_plugin(plugin):
    return Plugin.objects.select_for_update().get(pk=plugin.pk)


def _emit(principal, type_, plugin, release_id, **data):
    emit(principal, type_, subject=("release", release_id),
         data={"releaseId": release_id, "pluginId": plugin.plugin_id, **data})


def _pin(principal, plugin, release, now):
    """Pin `release` and unpin every other release of `plugin`, emitting release.pinned when it was not
    pinned; the caller holds the plugin's row lock."""
    others = PluginRelease.objects.filter(plugin=plugin, pinned_at__isnull=False).exclude(pk=release.pk)
    previous = list(others.values_list("pk", flat=True)[:1])
    others.update(pinned_at=None)
    if release.pinned_at is None:
        release.pinned_at = now
        release.save(update_fields=["pinned_at"])
        _emit(principal, "release.pinned", plugin, release.pk, name=release.name,
              previousReleaseId=previous[0] if previous else None)


def create_release(principal, plugin_id, name="", notes="", pin=False, now=None):
    """Snapshot the plugin's current latest version of every active member object; the manager role. Returns
    the release with its items.

    With `pin`, the new release is pinned (and any other unpinned) in the same transaction.
    """
    plugin = _find_plugin(principal, plugin_id, access.MANAGER, "Making a release needs the manager role on the plugin")
    if plugin.catalog_status == Plugin.CatalogStatus.DELETED:
        raise Conflict(f"Plugin {plugin_id} is deleted; it cannot get a release.",
                       catalogStatus=plugin.catalog_status)
    now = now or timezone.now()
    with transaction.atomic():
        plugin = _locked_plugin(plugin)
        release = PluginRelease.objects.create(organization=principal.organization, plugin=plugin, name=name,
                                               notes=notes, created_by=principal.user, created_at=now)
        items = PluginReleaseItem.objects.bulk_create([
            PluginReleaseItem(release=release, config_object_id=item.config_object_id,
                              version_id=item.version_id)
            for item in latest_member_items([plugin.pk])[plugin.pk]
        ])
        _emit(principal, "release.created", plugin, release.pk, name=release.name, itemCount=len(items))
        if pin:
            _pin(principal, plugin, release, now)
    return _with_items(_release_of(plugin, release.pk))


def pin_release(principal, plugin_id, release_id, now=None):
    """Make delivery serve `release_id` (unpinning any other); pinning the pinned release changes nothing.
    The manager role. Returns the release with its items."""
    plugin = _find_plugin(principal, plugin_id, access.MANAGER,
                          "Pinning a release needs the manager role on the plugin")
    with transaction.atomic():
        plugin = _locked_plugin(plugin)
        release = _release_of(plugin, release_id)
        _pin(principal, plugin, release, now or timezone.now())
    return _with_items(_release_of(plugin, release_id))


def unpin_release(principal, plugin_id):
    """Return the plugin to the rolling latest; the release that was pinned, or None when none was. The
    manager role."""
    plugin = _find_plugin(principal, plugin_id, access.MANAGER,
                          "Unpinning a release needs the manager role on the plugin")
    with transaction.atomic():
        plugin = _locked_plugin(plugin)
        pinned = pinned_release(plugin)
        if pinned is None:
            return None
        PluginRelease.objects.filter(pk=pinned.pk).update(pinned_at=None)
        _emit(principal, "release.unpinned", plugin, pinned.pk, name=pinned.name)
    return _release_of(plugin, pinned.pk)
