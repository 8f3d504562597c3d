"""/api/v1/plugins and /api/v1/plugins/{pluginId}[/archive|/restore]: the catalog with member counts and marketplaces.

Mounted from marketplaces.api.urls because the counts live in this app and nothing in plexica imports a
feature app. Org admins only.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema

from marketplaces import plugin_catalog
from marketplaces.api.composition_views import find_plugin
from marketplaces.api.plugin_serializers import (
    CatalogPluginSerializer,
    PluginInputSerializer,
    PluginPatchSerializer,
)
from plexica.access import services as access
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import TenantAccess
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import item_response, mutation_response
from plexica.plugins.api.views import PluginViewSet
from plexica.plugins.sharing import PLUGIN

PLUGIN_ID = OpenApiParameter("plugin_id", str, OpenApiParameter.PATH, description="A plugin id (plugin-...).")


@extend_schema(tags=["plugins"])
class CatalogPluginViewSet(PluginViewSet):
    """The organization's plugin catalog, each plugin with its member count and marketplaces."""

    serializer_class = CatalogPluginSerializer
    permission_classes = [TenantAccess]  # each action checks the caller's role on the plugin
    error_statuses = STATE_CONFLICTS

    def get_queryset(self):
        plugins = access.restrict(super().get_queryset(), self.request.principal, PLUGIN)
        return plugin_catalog.enriched(plugins)

    def _item(self, plugin_id, status=200):
        plugin = plugin_catalog.get_enriched_plugin(self.request.tenant, plugin_id)
        return mutation_response(CatalogPluginSerializer(plugin).data, status=status)

    @extend_schema(operation_id="listPlugins")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createPlugin", request=PluginInputSerializer,
                   responses={201: mutation_envelope("PluginCreated", CatalogPluginSerializer())})
    def create(self, request):
        serializer = PluginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access.require_org_admin(request.principal, "Adding a plugin to the catalog")
        plugin = plugin_catalog.create_plugin(request.tenant, serializer.validated_data["pluginId"],
                                              **serializer.changes())
        access.grant_creator(request.principal, PLUGIN, plugin.pk)
        return self._item(plugin.plugin_id, status=201)

    @extend_schema(operation_id="getPlugin", parameters=[PLUGIN_ID],
                   responses=item_envelope("PluginItem", CatalogPluginSerializer()))
    def retrieve(self, request, plugin_id):
        find_plugin(request, plugin_id, access.VIEWER)
        plugin = plugin_catalog.get_enriched_plugin(request.tenant, plugin_id)
        return item_response(CatalogPluginSerializer(plugin).data)

    @extend_schema(operation_id="updatePlugin", request=PluginPatchSerializer(partial=True), parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginUpdated", CatalogPluginSerializer()))
    def partial_update(self, request, plugin_id):
        serializer = PluginPatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        find_plugin(request, plugin_id, access.EDITOR, "Editing a plugin needs the editor role")
        plugin_catalog.update_plugin(request.tenant, plugin_id, **serializer.changes())
        return self._item(plugin_id)

    @extend_schema(operation_id="archivePlugin", request=None, parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginArchived", CatalogPluginSerializer()))
    def archive(self, request, plugin_id):
        find_plugin(request, plugin_id, access.MANAGER, "Archiving a plugin needs the manager role")
        plugin_catalog.archive_plugin(request.tenant, plugin_id)
        return self._item(plugin_id)

    @extend_schema(operation_id="restorePlugin", request=None, parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginRestored", CatalogPluginSerializer()))
    def restore(self, request, plugin_id):
        find_plugin(request, plugin_id, access.MANAGER, "Restoring a plugin needs the manager role")
        plugin_catalog.restore_plugin(request.tenant, plugin_id)
        return self._item(plugin_id)
