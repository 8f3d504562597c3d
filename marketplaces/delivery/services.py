"""Delivery to clients: accessible plugins, manifests, payloads, installed state and update checks. No HTTP.

Every principal of the organization may call these, the acting principal first; what it sees is filtered
by plexica.access (a plugin key sees its own plugin only, org admins and org keys see everything), and one
plugin or config object takes the viewer role on it (a 404 for another organization's id comes first).

Only plugins whose catalog status is active are delivered. A plugin serves its pinned release when it has
one, otherwise the rolling latest: either way deleted objects (and objects whose latest version is a deleted
version) leave the manifest. Membership changes after a release do not change what the pinned release
serves; that is what pinning is for.
"""

import re
from dataclasses import dataclass, field

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from marketplaces import sharing
from marketplaces.catalog.models import MarketplacePlugin
from marketplaces.catalog.services.plugins import GroupConcat
from marketplaces.config_objects import services as config_objects
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.delivery import releases
from marketplaces.delivery.models import ClientState, PluginRelease
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access import services as access
from plexica.errors import Invalid, NotFound
from plexica.plugins.models import PLUGIN_ID_PATTERN, Plugin
from plexica.plugins.sharing import PLUGIN

DELIVERED = Plugin.CatalogStatus.ACTIVE

CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
PLUGIN_ID = re.compile(PLUGIN_ID_PATTERN)
PUBLIC_ID = {"configObjectId": re.compile(r"cfo_[A-Za-z0-9]{1,28}"),
             "versionId": re.compile(r"ver_[A-Za-z0-9]{1,28}")}
STATE_FIELDS = ("pluginId", "configObjectId", "versionId")
MAX_STATE_ITEMS = 5000


class UpdateStatus(models.TextChoices):
    UP_TO_DATE = "up_to_date", "Up to date"
    UPDATE_AVAILABLE = "update_available", "Update available"
    REMOVED_UPSTREAM = "removed_upstream", "Removed upstream"
    NO_LONGER_ACCESSIBLE = "no_longer_accessible", "No longer accessible"
    NEW = "new", "New in the plugin"


class RemovedReason(models.TextChoices):
    OBJECT_DELETED = "object_deleted", "The config object was deleted"
    REMOVED_FROM_PLUGIN = "removed_from_plugin", "The config object left the plugin"
    NOT_IN_RELEASE = "not_in_release", "The served release does not hold the config object"
    PLUGIN_WITHDRAWN = "plugin_withdrawn", "The plugin is archived, deleted or gone"


# Plugins


def _annotated(queryset, principal):
    """Plugins with `pinned_release_id` and `marketplace_id_list` (the marketplaces the caller can see)."""
    pinned = PluginRelease.objects.filter(plugin=OuterRef("pk"), pinned_at__isnull=False).values("pk")[:1]
    offered = (MarketplacePlugin.objects
               .filter(plugin=OuterRef("pk"), removed_at__isnull=True,
                       marketplace_id__in=sharing.visible_marketplace_ids(principal))
               .order_by().values("plugin").annotate(ids=GroupConcat("marketplace_id")).values("ids"))
    return queryset.annotate(pinned_release_id=Subquery(pinned),
                             marketplace_id_list=Subquery(offered, output_field=models.TextField()))


def accessible_plugins(principal):
    """The delivered (catalog-active) plugins the caller can view, annotated for listing: one query."""
    plugins = Plugin.objects.filter(organization=principal.organization, catalog_status=DELIVERED)
    return _annotated(access.restrict(plugins, principal, PLUGIN), principal)


def get_plugin(principal, plugin_id):
    """One delivered plugin: NotFound when it is not in the organization (or not delivered); 403 without
    access."""
    plugin = _annotated(Plugin.objects.filter(organization=principal.organization, plugin_id=plugin_id),
                        principal).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")
    access.require_role(principal, PLUGIN, plugin.pk, access.VIEWER,
                        f"Installing plugin {plugin_id} needs the viewer role on it")
    if plugin.catalog_status != DELIVERED:
        raise NotFound(f"Plugin {plugin_id} is {plugin.catalog_status}; it is not delivered.",
                       title="Plugin not delivered", catalogStatus=plugin.catalog_status)
    return plugin


# Manifests and downloads


@dataclass
class Manifest:
    plugin: Plugin
    release: PluginRelease | None  # None: the rolling latest
    items: list


def manifest(principal, plugin_id, release_id=None):
    """What the plugin delivers now (its pinned release, else the rolling latest), or what `release_id` holds.

    Version ids and hashes only, no payloads; a bounded number of queries whatever the item count.
    """
    plugin = get_plugin(principal, plugin_id)
    release = None
    if release_id:
        release = PluginRelease.objects.filter(plugin=plugin, pk=release_id).first()
        if release is None:
            raise NotFound(f"Plugin {plugin_id} has no release {release_id}.", title="Release not found",
                           field="release")
    elif plugin.pinned_release_id:  # read again: it may have been unpinned since the plugin was read
        release = releases.pinned_release(plugin)
    if release is None:
        items = releases.latest_member_items([plugin.pk])[plugin.pk]
    else:
        items = releases.release_items([release.pk], deliverable_only=True)[release.pk]
    return Manifest(plugin, release, items)


@dataclass
class Payload:
    item: releases.ServedItem
    version: ConfigObjectVersion
    file_name: str
    relative_path: str


def _file_of(version):
    """(file name, relative path) the version was stored under, else the object's current ones."""
    metadata = version.metadata if isinstance(version.metadata, dict) else {}
    path = metadata.get("relativePath") if isinstance(metadata.get("relativePath"), str) else ""
    name = metadata.get("fileName") if isinstance(metadata.get("fileName"), str) else ""
    if not (path or name):
        return version.config_object.file_name, version.config_object.relative_path
    return name or path.rsplit("/", 1)[-1], path


def download(principal, plugin_id, release_id=None):
    """The manifest with every item's payload, decrypted: one more query than the manifest."""
    found = manifest(principal, plugin_id, release_id)
    versions = (ConfigObjectVersion.objects.select_related("config_object")
                .in_bulk([item.version_id for item in found.items]))
    found.items = [Payload(item, versions[item.version_id], *_file_of(versions[item.version_id]))
                   for item in found.items]
    return found


def download_config_object(principal, object_id):
    """One config object's latest version with its payload (viewer on the object, directly or via a plugin).

    A deleted object, or one whose latest version is a deleted version, is NotFound: it is not delivered.
    """
    obj = config_objects.lookup_config_object(principal.organization, object_id)
    access.require_role(principal, CONFIG_OBJECT, obj.pk, access.VIEWER,
                        f"Downloading config object {object_id} needs the viewer role on it")
    if obj.latest_version_is_deleted_version:
        raise NotFound(f"Config object {object_id} was removed at its source; it is not delivered.",
                       title="Config object not delivered")
    version = ConfigObjectVersion.objects.select_related("config_object").get(pk=obj.latest_version_id)
    item = releases.ServedItem("", obj.pk, obj.type, obj.title, version.pk, version.sha256)
    return Payload(item, version, *_file_of(version))


# Installed state


def owner_key(principal):
    """Whose clients these are: the member (their sessions and member keys share it), else the API key."""
    if principal.membership is not None:
        return f"mem:{principal.membership.pk}"
    if principal.api_key is not None:
        return f"key:{principal.api_key.pk}"
    return f"user:{principal.user.pk}"  # a superuser session in an org it is not a member of


def _check_client_id(client_id):
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise Invalid("clientId: 1 to 100 characters of letters, digits and . _ : -", field="clientId")


def _bad_item(index, name, message):
    where = f"items[{index}].{name}" if name else f"items[{index}]"
    return Invalid(f"{where}: {message}", field=where)


def clean_state_items(items):
    """The installed list, checked: each entry a {pluginId, configObjectId, versionId} of well-formed ids and
    nothing else, each (pluginId, configObjectId) at most once. Invalid names the first bad field and its
    index."""
    if not isinstance(items, list):
        raise Invalid("items: must be a list.", field="items")
    if len(items) > MAX_STATE_ITEMS:
        raise Invalid(f"items: at most {MAX_STATE_ITEMS} entries (got {len(items)}).", field="items")
    cleaned, seen = [], {}
    for index, entry in enumerate(items):
        if not isinstance(entry, dict):
            raise _bad_item(index, "", "must be an object with pluginId, configObjectId and versionId.")
        unknown = sorted(entry.keys() - set(STATE_FIELDS))
        if unknown:
            raise _bad_item(index, unknown[0], "unknown field.")
        for name in STATE_FIELDS:
            value = entry.get(name)
            if value is None or value == "":
                raise _bad_item(index, name, "this field is required.")
            if not isinstance(value, str):
                raise _bad_item(index, name, "must be a string.")
        if len(entry["pluginId"]) > 100 or not PLUGIN_ID.fullmatch(entry["pluginId"]):
            raise _bad_item(index, "pluginId", "must be a plugin id (plugin-...).")
        for name, pattern in PUBLIC_ID.items():
            if not pattern.fullmatch(entry[name]):
                raise _bad_item(index, name, f"must be an id like {pattern.pattern[:4]}...")
        key = (entry["pluginId"], entry["configObjectId"])
        if key in seen:
            raise _bad_item(index, "configObjectId", f"repeats items[{seen[key]}] of the same plugin.")
        seen[key] = index
        cleaned.append({name: entry[name] for name in STATE_FIELDS})
    return cleaned


def save_client_state(principal, client_id, items, now=None):
    """Replace what client `client_id` of the caller has installed; returns the stored ClientState."""
    _check_client_id(client_id)
    items = clean_state_items(items)
    now = now or timezone.now()
    lookup = {"organization": principal.organization, "owner_key": owner_key(principal),
              "client_id": client_id}
    for _ in range(2):  # a concurrent first post of the same client wins the insert; then we update its row
        if ClientState.objects.filter(**lookup).update(items=items, updated_at=now):
            return ClientState.objects.get(**lookup)
        try:
            with transaction.atomic():
                return ClientState.objects.create(**lookup, items=items, updated_at=now)
        except IntegrityError:
            continue
    raise RuntimeError("could not insert or update the client state")


def get_client_state(principal, client_id):
    """The caller's stored state of `client_id`; NotFound when it was never posted (by this caller)."""
    _check_client_id(client_id)
    state = ClientState.objects.filter(organization=principal.organization, owner_key=owner_key(principal),
                                       client_id=client_id).first()
    if state is None:
        raise NotFound(f"No installed state for client {client_id}; POST it first.",
                       title="Client state not found")
    return state


# Update checks


@dataclass
class UpdateCheck:
    plugin_id: str
    config_object_id: str
    status: str
    installed_version_id: str | None = None
    version_id: str | None = None
    sha256: str | None = None
    release_id: str | None = None
    reason: str | None = None


@dataclass
class UpdateReport:
    state: ClientState
    checked_at: object
    items: list = field(default_factory=list)

    @property
    def counts(self):
        counts = {status.value: 0 for status in UpdateStatus}
        for check in self.items:
            counts[check.status] += 1
        return counts


def _installed_plugins(principal, plugin_ids):
    """{plugin id: plugin} of those ids in the organization, with `pinned_release_id` and `accessible`."""
    plugins = Plugin.objects.filter(organization=principal.organization, plugin_id__in=plugin_ids)
    pinned = PluginRelease.objects.filter(plugin=OuterRef("pk"), pinned_at__isnull=False).values("pk")[:1]
    visible = access.accessible_ids(principal, PLUGIN)
    accessible = (models.Value(True) if visible is None
                  else Exists(Plugin.objects.filter(pk__in=visible, pk=OuterRef("pk"))))
    accessible = models.ExpressionWrapper(accessible, output_field=models.BooleanField())
    plugins = plugins.annotate(pinned_release_id=Subquery(pinned), accessible=accessible)
    return {plugin.plugin_id: plugin for plugin in plugins}


def _deleted_objects(organization, object_ids):
    """The ids among `object_ids` that are gone, deleted, or whose latest version is a deleted version."""
    alive = (ConfigObject.objects
             .filter(organization=organization, pk__in=object_ids, deleted_at__isnull=True)
             .annotate(latest_deleted=config_objects.latest_version_value("is_deleted_version"))
             .filter(latest_deleted=False).values_list("pk", flat=True))
    return set(object_ids) - set(alive)


def check_updates(principal, client_id, now=None):
    """Compare the caller's stored state of `client_id` with what each plugin delivers now.

    Per installed item: up_to_date (the manifest serves that version), update_available (it serves another
    one: `version_id`), removed_upstream (`reason` says why) or no_longer_accessible; then, for every plugin
    the client has something of, the served objects it does not have yet as `new`. Bounded queries.
    """
    state = get_client_state(principal, client_id)
    plugins = _installed_plugins(principal, {item["pluginId"] for item in state.items})
    delivered = {plugin.pk: plugin for plugin in plugins.values()
                 if plugin.accessible and plugin.catalog_status == DELIVERED}
    pinned = {p.pinned_release_id: p.pk for p in delivered.values() if p.pinned_release_id}
    served = releases.latest_member_items([pk for pk, p in delivered.items() if not p.pinned_release_id])
    for release_pk, items in releases.release_items(list(pinned), deliverable_only=True).items():
        served[pinned[release_pk]] = items
    served = {pk: {item.config_object_id: item for item in items} for pk, items in served.items()}

    report = UpdateReport(state, now or timezone.now())
    missing = []
    for entry in state.items:
        plugin_id, object_id, installed = entry["pluginId"], entry["configObjectId"], entry["versionId"]
        plugin = plugins.get(plugin_id)
        check = UpdateCheck(plugin_id, object_id, UpdateStatus.REMOVED_UPSTREAM, installed)
        if plugin is not None and not plugin.accessible:
            check.status = UpdateStatus.NO_LONGER_ACCESSIBLE
        elif plugin is None or plugin.pk not in delivered:
            check.reason = RemovedReason.PLUGIN_WITHDRAWN
        elif object_id not in served[plugin.pk]:
            missing.append(check)
            check.reason = (RemovedReason.NOT_IN_RELEASE if plugin.pinned_release_id
                            else RemovedReason.REMOVED_FROM_PLUGIN)
        else:
            item = served[plugin.pk][object_id]
            same = item.version_id == installed
            check.status = UpdateStatus.UP_TO_DATE if same else UpdateStatus.UPDATE_AVAILABLE
            check.version_id, check.sha256 = item.version_id, item.sha256
            check.release_id = plugin.pinned_release_id
        report.items.append(check)
    if missing:
        deleted = _deleted_objects(principal.organization, {check.config_object_id for check in missing})
        for check in missing:
            if check.config_object_id in deleted:
                check.reason = RemovedReason.OBJECT_DELETED
    installed_keys = {(entry["pluginId"], entry["configObjectId"]) for entry in state.items}
    for plugin in sorted(delivered.values(), key=lambda plugin: plugin.plugin_id):
        for item in served[plugin.pk].values():
            if (plugin.plugin_id, item.config_object_id) not in installed_keys:
                report.items.append(UpdateCheck(plugin.plugin_id, item.config_object_id, UpdateStatus.NEW,
                                                None, item.version_id, item.sha256, plugin.pinned_release_id))
    return report
