"""The plugin catalog as org admins see it: member counts, marketplaces, create/patch/archive/restore. No HTTP.

It lives here (not in plexica.plugins) because member counts and marketplaces belong to this app.
"""

from django.db import IntegrityError, models, transaction
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from marketplaces.models import Marketplace, MarketplacePlugin, PluginConfigObject
from plexica.errors import Conflict, NotFound
from plexica.plugins.models import Plugin

ID_SEPARATOR = ","


class GroupConcat(models.Aggregate):
    """Comma-joined values of a group, on SQLite and PostgreSQL (public ids never hold a comma)."""

    function = "GROUP_CONCAT"
    output_field = models.TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(expressions)s, ',')", **extra_context)


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


def get_enriched_plugin(organization, plugin_id):
    plugin = enriched(Plugin.objects.filter(organization=organization, plugin_id=plugin_id)).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")
    return plugin


def create_plugin(organization, plugin_id, name, description="", version="0.0.0", manifest=None):
    """A new registered, active plugin; Conflict when the id is already used in the organization."""
    taken = Conflict(f"A plugin {plugin_id} already exists in this organization.", title="Plugin exists")
    if Plugin.objects.filter(organization=organization, plugin_id=plugin_id).exists():
        raise taken
    now = timezone.now()
    try:
        with transaction.atomic():
            return Plugin.objects.create(organization=organization, plugin_id=plugin_id, name=name,
                                         description=description, version=version, manifest=manifest or {},
                                         created_at=now)
    except IntegrityError:
        raise taken from None


def _locked(organization, plugin_id):
    plugin = Plugin.objects.select_for_update().filter(organization=organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")
    return plugin


def update_plugin(organization, plugin_id, **changes):
    """Change name, description, manifest and/or version; the version only while the plugin is not installed."""
    with transaction.atomic():
        plugin = _locked(organization, plugin_id)
        if "version" in changes and changes["version"] != plugin.version and plugin.is_installed:
            raise Conflict(f"Plugin {plugin_id} is {plugin.lifecycle_state}; its lifecycle owns its version.",
                           title="Version is managed by the lifecycle", field="version")
        for name, value in changes.items():
            setattr(plugin, name, value)
        plugin.save(update_fields=[*changes, "updated_at"])
    return plugin


def _change_status(organization, plugin_id, allowed_from, to):
    with transaction.atomic():
        plugin = _locked(organization, plugin_id)
        if plugin.catalog_status not in allowed_from:
            raise Conflict(f"Plugin {plugin_id} is {plugin.catalog_status}; it cannot become {to}.",
                           title="Invalid catalog status change", catalogStatus=plugin.catalog_status)
        plugin.catalog_status = to
        plugin.save(update_fields=["catalog_status", "updated_at"])
    return plugin


def archive_plugin(organization, plugin_id):
    """Archive an active plugin; Conflict when it is already archived or deleted."""
    return _change_status(organization, plugin_id, {Plugin.CatalogStatus.ACTIVE}, Plugin.CatalogStatus.ARCHIVED)


def restore_plugin(organization, plugin_id):
    """Return an archived plugin to the active catalog; Conflict when it is active or deleted."""
    return _change_status(organization, plugin_id, {Plugin.CatalogStatus.ARCHIVED}, Plugin.CatalogStatus.ACTIVE)
