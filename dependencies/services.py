"""Dependency rules: registration and the graph questions of the plugin gateway. No HTTP here.

Every function takes the acting principal first: a plugin key declares only its own plugin's dependencies
(org admins and the system declare any plugin's); the graph questions are open to anyone in the organization.
"""

from django.db import transaction

from dependencies import resolver
from dependencies.models import PluginDependency
from plexica.errors import NotFound
from plexica.events.log import emit
from plexica.observability.metrics import count_dependency_resolution
from plexica.plugins import events as plugin_events
from plexica.plugins.models import Plugin


def plugin_not_found(plugin_id):
    return NotFound(title="Plugin not found", pluginId=plugin_id)


def register_dependencies(principal, dependencies):
    """Replace the dependency list of every plugin named in `dependencies` (resolver.Dependency items).

    All or nothing, in one transaction. A plugin key may only declare its own plugin's dependencies;
    plugins that declare some are added to the catalog (state registered, with plugin.registered) when new.
    Each plugin whose list differs from the one it had gets a dependencies.registered event; declaring the
    same list again emits nothing.
    """
    organization = principal.organization
    plugin_ids = sorted({dependency.plugin_id for dependency in dependencies})
    for plugin_id in plugin_ids:
        principal.check_acts_for(plugin_id)
    with transaction.atomic():
        plugins = _lock_plugins(principal, plugin_ids)
        before = _declared(PluginDependency.objects.filter(plugin__in=plugins.values()).values_list(
            "plugin__plugin_id", "depends_on_plugin_id", "version", "required"))
        PluginDependency.objects.filter(plugin__in=plugins.values()).delete()
        PluginDependency.objects.bulk_create(
            PluginDependency(
                organization=organization, plugin=plugins[dependency.plugin_id],
                depends_on_plugin_id=dependency.depends_on, version=dependency.version,
                required=dependency.required,
            )
            for dependency in dependencies
        )
        after = _declared((d.plugin_id, d.depends_on, d.version, d.required) for d in dependencies)
        for plugin_id in plugin_ids:
            if after.get(plugin_id) != before.get(plugin_id):
                emit(principal, "dependencies.registered", subject=("plugin", plugin_id), data={
                    "pluginId": plugin_id,
                    "dependencies": [{"pluginId": depends_on, "version": version, "required": required}
                                     for depends_on, version, required in after[plugin_id]],
                })


def _declared(rows):
    """{plugin_id: sorted [(depends_on, version, required)]} of (plugin_id, depends_on, version, required) rows."""
    declared = {}
    for plugin_id, depends_on, version, required in rows:
        declared.setdefault(plugin_id, []).append((depends_on, version, required))
    return {plugin_id: sorted(edges) for plugin_id, edges in declared.items()}


def _lock_plugins(principal, plugin_ids):
    """{plugin_id: Plugin}, creating the missing ones; rows locked in id order so writers queue up."""
    organization = principal.organization
    existing = set(
        Plugin.objects.filter(organization=organization, plugin_id__in=plugin_ids).values_list("plugin_id", flat=True)
    )
    for plugin_id in plugin_ids:
        if plugin_id not in existing:
            # get_or_create: a concurrent first registration of the same plugin is not an error
            plugin, created = Plugin.objects.get_or_create(
                organization=organization, plugin_id=plugin_id,
                defaults={"name": plugin_id.removeprefix("plugin-")},
            )
            if created:
                plugin_events.plugin_registered(principal, plugin, via="dependencies")
    locked = Plugin.objects.select_for_update().filter(organization=organization, plugin_id__in=plugin_ids)
    return {plugin.plugin_id: plugin for plugin in locked.order_by("plugin_id")}


def _load_graph(organization, plugin_id):
    """The organization's graph; NotFound when `plugin_id` is neither in the catalog nor named in it."""
    graph = resolver.DependencyGraph.load(organization, plugin_id)
    if not graph.knows(plugin_id):
        raise plugin_not_found(plugin_id)
    return graph


# The graph questions: anyone in the organization may ask them (plugin keys included), about any plugin.


def resolve_dependencies(principal, plugin_id):
    """The Resolution of `plugin_id` against the organization's installed plugins."""
    resolution = resolver.resolve(_load_graph(principal.organization, plugin_id), plugin_id)
    count_dependency_resolution("valid" if resolution.valid else "invalid")  # plexica_dependency_resolutions_total
    return resolution


def get_dependencies(principal, plugin_id, recursive=False):
    """What `plugin_id` depends on (with `recursive`, transitively too)."""
    return resolver.dependencies_of(_load_graph(principal.organization, plugin_id), plugin_id, recursive)


def get_dependents(principal, plugin_id, recursive=False):
    """The plugins that depend on `plugin_id` (with `recursive`, transitively too)."""
    return resolver.dependents_of(_load_graph(principal.organization, plugin_id), plugin_id, recursive)


def uninstall_blockers(principal, plugin_id):
    """The installed plugins that require `plugin_id`, directly or through others."""
    return resolver.uninstall_blockers(_load_graph(principal.organization, plugin_id), plugin_id)
