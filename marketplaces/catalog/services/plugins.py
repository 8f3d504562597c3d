"""The plugin catalog as org admins see it: member counts, marketplaces, create/patch/archive/restore. No HTTP.

It lives here (not in plexica.plugins) because member counts and marketplaces belong to this app. Each
public function takes the acting principal first and checks its own rule: viewer to read a plugin, editor to
patch it, manager to archive or restore it, an org admin to add one. The plugin is looked up first, so an id
of another organization is a 404 before any 403.
"""

from django.db import IntegrityError, models, transaction
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from plexica.access import services as access
from plexica.errors import Conflict, Invalid, NotFound
from plexica.plugins import events as plugin_events
from plexica.plugins.models import Plugin, manifest_capabilities_error
from plexica.plugins.sharing import PLUGIN
from plexica.transitions import transition

ID_SEPARATOR = ","


class GroupConcat(models.Aggregate):
    """Comma-joined values of a group, on SQLite and PostgreSQL (public ids never hold a comma)."""

    function = "GROUP_CONCAT"
    output_field = models.TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(expressions)s, ',')", **extra_context)


def lookup_plugin(organization, plugin_id):
    """The plugin known by its `plugin-...` id in this organization, or NotFound. No access check: for
    callers that check a rule of their own next."""
    plugin = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise _not_found(plugin_id)
    return plugin


def _not_found(plugin_id):
    return NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")


def require_plugin_role(principal, plugin, role, doing=None):
    """403 unless the caller holds `role` on `plugin` (directly, or viewer through a marketplace)."""
    return access.require_role(principal, PLUGIN, plugin.pk, role, doing)


# Reading


def _member_count():
    members = (PluginConfigObject.objects
               .filter(plugin=OuterRef("pk"), removed_at__isnull=True, config_object__deleted_at__isnull=True)
               .order_by().values("plugin").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(members, output_field=models.IntegerField()), Value(0))


def _marketplace_ids():
    rows = (MarketplacePlugin.objects
            .filter(plugin=OuterRef("pk"), removed_at__isnull=True, marketplace__status=Marketplace.Status.ACTIVE,
                    marketplace__deleted_at__isnull=True)
            .order_by().values("plugin").annotate(ids=GroupConcat("marketplace_id")).values("ids"))
    return Subquery(rows, output_field=models.TextField())


def enriched(queryset):
    """`queryset` of plugins with `member_count` and `marketplace_id_list` annotated: still one query."""
    return queryset.annotate(member_count=_member_count(), marketplace_id_list=_marketplace_ids())


def marketplace_ids(plugin):
    """The sorted ids of the active marketplaces offering `plugin` (annotated by `enriched`)."""
    joined = getattr(plugin, "marketplace_id_list", None)
    return sorted(joined.split(ID_SEPARATOR)) if joined else []


def list_plugins(principal):
    """The plugins of the caller's organization the caller can view, enriched (a filter, never a 403)."""
    plugins = Plugin.objects.filter(organization=principal.organization)
    return enriched(access.restrict(plugins, principal, PLUGIN))


def _enriched_plugin(organization, plugin_id):
    plugin = enriched(Plugin.objects.filter(organization=organization, plugin_id=plugin_id)).first()
    if plugin is None:
        raise _not_found(plugin_id)
    return plugin


def get_plugin(principal, plugin_id):
    """One plugin with its member count and marketplaces; the viewer role on it."""
    plugin = _enriched_plugin(principal.organization, plugin_id)
    require_plugin_role(principal, plugin, access.VIEWER)
    return plugin


# Changing


def create_plugin(principal, plugin_id, name, description="", version="0.0.0", manifest=None):
    """A new registered, active plugin, enriched, with its plugin.registered event; an org admin only (a member
    who adds one becomes its manager). Conflict when the id is already used in the organization."""
    access.require_org_admin(principal, "Adding a plugin to the catalog")
    _check_manifest(manifest)
    organization = principal.organization
    taken = Conflict(f"A plugin {plugin_id} already exists in this organization.", title="Plugin exists")
    if Plugin.objects.filter(organization=organization, plugin_id=plugin_id).exists():
        raise taken
    now = timezone.now()
    try:
        with transaction.atomic():
            plugin = Plugin.objects.create(organization=organization, plugin_id=plugin_id, name=name,
                                           description=description, version=version, manifest=manifest or {},
                                           created_at=now)
            plugin_events.plugin_registered(principal, plugin, via="catalog")
    except IntegrityError:
        raise taken from None
    access.grant_creator(principal, PLUGIN, plugin.pk)
    return _enriched_plugin(organization, plugin_id)


def _check_manifest(manifest):
    """A manifest's `capabilities`, when present, is a list of known capability names (400 naming it)."""
    problem = manifest_capabilities_error(manifest)
    if problem:
        raise Invalid(f"manifest.{problem}", field="manifest.capabilities")


def _locked(principal, plugin_id, role, doing):
    """The plugin, its row locked until the transaction ends, after the role check (NotFound first)."""
    plugin = Plugin.objects.select_for_update().filter(organization=principal.organization,
                                                       plugin_id=plugin_id).first()
    if plugin is None:
        raise _not_found(plugin_id)
    require_plugin_role(principal, plugin, role, doing)
    return plugin


def update_plugin(principal, plugin_id, **changes):
    """Change name, description, manifest and/or version; the version only while the plugin is not installed.
    The editor role. Returns the plugin, enriched."""
    with transaction.atomic():
        plugin = _locked(principal, plugin_id, access.EDITOR, "Editing a plugin needs the editor role")
        if "version" in changes and changes["version"] != plugin.version and plugin.is_installed:
            raise Conflict(f"Plugin {plugin_id} is {plugin.lifecycle_state}; its lifecycle owns its version.",
                           title="Version is managed by the lifecycle", field="version")
        if "manifest" in changes:
            _check_manifest(changes["manifest"])
        for name, value in changes.items():
            setattr(plugin, name, value)
        plugin.save(update_fields=[*changes, "updated_at"])
    return _enriched_plugin(principal.organization, plugin_id)


def _change_status(principal, plugin_id, allowed_from, to, doing):
    with transaction.atomic():
        plugin = _locked(principal, plugin_id, access.MANAGER, doing)
        transition(plugin, to, allowed_from, what=f"Plugin {plugin_id}", field="catalog_status",
                   title="Invalid catalog status change", detail="catalogStatus")
    return _enriched_plugin(principal.organization, plugin_id)


def archive_plugin(principal, plugin_id):
    """Archive an active plugin; Conflict when it is already archived or deleted. The manager role."""
    return _change_status(principal, plugin_id, {Plugin.CatalogStatus.ACTIVE}, Plugin.CatalogStatus.ARCHIVED,
                          "Archiving a plugin needs the manager role")


def restore_plugin(principal, plugin_id):
    """Return an archived plugin to the active catalog; Conflict when it is active or deleted. The manager role."""
    return _change_status(principal, plugin_id, {Plugin.CatalogStatus.ARCHIVED}, Plugin.CatalogStatus.ACTIVE,
                          "Restoring a plugin needs the manager role")
