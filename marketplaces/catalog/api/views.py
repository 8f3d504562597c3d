"""API of the catalog: plugins with member counts and marketplaces (`/api/v1/plugins`), plugin membership of
config objects, marketplaces and their plugins, the resolved views, and the grants on plugins and marketplaces.

The plugin catalog is mounted from marketplaces.api.urls because the counts live in this app and nothing in
plexica imports a feature app. Open to every principal of the organization; the services check the caller's
role on each resource.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from marketplaces.catalog.api.serializers import (
    AddConfigObjectSerializer,
    AddPluginSerializer,
    CatalogPluginSerializer,
    MarketplaceInputSerializer,
    MarketplacePluginSerializer,
    MarketplaceSerializer,
    PluginInputSerializer,
    PluginMembershipSerializer,
    PluginPatchSerializer,
    ResolvedMarketplaceSerializer,
    ResolvedPluginSerializer,
)
from marketplaces.catalog.filtersets import MarketplaceFilterSet
from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.catalog.services import bundles, marketplaces, plugins
from marketplaces.config_objects import services as config_objects
from marketplaces.config_objects.api.views import INCLUDE_DELETED, OBJECT_ID, ConfigObjectAPI, wants_deleted
from marketplaces.sharing import MARKETPLACE
from plexica.access.api.views import grant_viewset
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import TenantAccess
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response
from plexica.plugins.api.views import PluginViewSet
from plexica.plugins.sharing import PLUGIN

PLUGIN_ID = OpenApiParameter("plugin_id", str, OpenApiParameter.PATH, description="A plugin id (plugin-...).")
MARKETPLACE_ID = OpenApiParameter("marketplace_id", str, OpenApiParameter.PATH,
                                  description="A marketplace id (mkt_...).")
MEMBERSHIP_RESPONSES = {
    201: mutation_envelope("PluginMembershipAdded", PluginMembershipSerializer()),
    200: mutation_envelope("PluginMembershipReactivated", PluginMembershipSerializer()),
}


# The plugin catalog


@extend_schema(tags=["plugins"])
class CatalogPluginViewSet(PluginViewSet):
    """The organization's plugin catalog, each plugin with its member count and marketplaces."""

    serializer_class = CatalogPluginSerializer
    permission_classes = [TenantAccess]  # the services check the caller's role on the plugin
    error_statuses = STATE_CONFLICTS

    def get_queryset(self):
        return plugins.list_plugins(self.request.principal)

    def _item(self, plugin, status=200):
        return mutation_response(CatalogPluginSerializer(plugin).data, status=status)

    @extend_schema(operation_id="listPlugins")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createPlugin", request=PluginInputSerializer,
                   responses={201: mutation_envelope("PluginCreated", CatalogPluginSerializer())})
    def create(self, request):
        serializer = PluginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plugin = plugins.create_plugin(request.principal, serializer.validated_data["pluginId"],
                                       **serializer.changes())
        return self._item(plugin, status=201)

    @extend_schema(operation_id="getPlugin", parameters=[PLUGIN_ID],
                   responses=item_envelope("PluginItem", CatalogPluginSerializer()))
    def retrieve(self, request, plugin_id):
        return item_response(CatalogPluginSerializer(plugins.get_plugin(request.principal, plugin_id)).data)

    @extend_schema(operation_id="updatePlugin", request=PluginPatchSerializer(partial=True), parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginUpdated", CatalogPluginSerializer()))
    def partial_update(self, request, plugin_id):
        serializer = PluginPatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._item(plugins.update_plugin(request.principal, plugin_id, **serializer.changes()))

    @extend_schema(operation_id="archivePlugin", request=None, parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginArchived", CatalogPluginSerializer()))
    def archive(self, request, plugin_id):
        return self._item(plugins.archive_plugin(request.principal, plugin_id))

    @extend_schema(operation_id="restorePlugin", request=None, parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginRestored", CatalogPluginSerializer()))
    def restore(self, request, plugin_id):
        return self._item(plugins.restore_plugin(request.principal, plugin_id))


# Plugin membership of config objects


class MembershipAPI(mixins.ListModelMixin, ConfigObjectAPI):
    queryset = PluginConfigObject.objects.all()
    serializer_class = PluginMembershipSerializer
    cursor_ordering = ("-added_at", "-id")

    def _added(self, plugin_id, object_id):
        """Add the object to the plugin (both looked up first: a 404 before any 403) and render the membership."""
        organization = self.request.tenant
        obj = config_objects.lookup_config_object(organization, object_id)
        plugin = plugins.lookup_plugin(organization, plugin_id)
        _, created = bundles.add_config_object_to_plugin(self.request.principal, plugin, obj)
        membership = bundles.plugin_memberships(organization).get(plugin=plugin, config_object=obj)
        return mutation_response(PluginMembershipSerializer(membership).data, status=201 if created else 200)

    def _removed(self, plugin_id, object_id):
        organization = self.request.tenant
        obj = config_objects.lookup_config_object(organization, object_id)
        plugin = plugins.lookup_plugin(organization, plugin_id)
        bundles.remove_config_object_from_plugin(self.request.principal, plugin, obj)
        return Response(status=204)


class ConfigObjectPluginViewSet(MembershipAPI):
    """The plugins a config object is an active member of."""

    def get_queryset(self):
        return bundles.plugins_of_config_object(self.request.principal, self.kwargs["config_object_id"])

    @extend_schema(operation_id="listConfigObjectPlugins", parameters=[OBJECT_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="addConfigObjectToPlugin", request=AddPluginSerializer, parameters=[OBJECT_ID],
                   responses=MEMBERSHIP_RESPONSES)
    def create(self, request, config_object_id):
        serializer = AddPluginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._added(serializer.validated_data["pluginId"], config_object_id)

    @extend_schema(operation_id="removeConfigObjectFromPlugin", request=None, parameters=[OBJECT_ID, PLUGIN_ID],
                   responses={204: None})
    def destroy(self, request, config_object_id, plugin_id):
        return self._removed(plugin_id, config_object_id)


class PluginConfigObjectViewSet(MembershipAPI):
    """The config objects that are active members of a plugin."""

    schema_tags = ["plugins"]

    def get_queryset(self):
        return bundles.config_objects_of_plugin(self.request.principal, self.kwargs["plugin_id"])

    @extend_schema(operation_id="listPluginConfigObjects", parameters=[PLUGIN_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="addPluginConfigObject", request=AddConfigObjectSerializer, parameters=[PLUGIN_ID],
                   responses=MEMBERSHIP_RESPONSES)
    def create(self, request, plugin_id):
        serializer = AddConfigObjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._added(plugin_id, serializer.validated_data["configObjectId"])

    @extend_schema(operation_id="removePluginConfigObject", request=None, parameters=[PLUGIN_ID, OBJECT_ID],
                   responses={204: None})
    def destroy(self, request, plugin_id, config_object_id):
        return self._removed(plugin_id, config_object_id)

    @extend_schema(operation_id="getResolvedPlugin", parameters=[PLUGIN_ID],
                   responses=item_envelope("ResolvedPluginItem", ResolvedPluginSerializer()))
    def resolved(self, request, plugin_id):
        return item_response(ResolvedPluginSerializer(bundles.resolve_plugin(request.principal, plugin_id)).data)


# Marketplaces


class MarketplaceAPI(TenantViewSet):
    """Open to every principal of the organization; the services check the caller's role on the marketplace."""

    schema_tags = ["marketplaces"]
    permission_classes = [TenantAccess]
    error_statuses = STATE_CONFLICTS


class MarketplaceViewSet(mixins.ListModelMixin, MarketplaceAPI):
    """Marketplaces: curated sets of the organization's plugins."""

    queryset = Marketplace.objects.all()
    serializer_class = MarketplaceSerializer
    filterset_class = MarketplaceFilterSet
    cursor_ordering = ("-created_at", "id")

    def get_queryset(self):
        return marketplaces.list_marketplaces(self.request.principal)

    def _item(self, marketplace, status=200):
        """The marketplace as changed, read again (with who created it) for the answer."""
        marketplace = marketplaces.lookup_marketplace(self.request.tenant, marketplace.pk, include_deleted=True)
        return mutation_response(MarketplaceSerializer(marketplace).data, status=status)

    @extend_schema(operation_id="listMarketplaces")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createMarketplace", request=MarketplaceInputSerializer,
                   responses={201: mutation_envelope("MarketplaceCreated", MarketplaceSerializer())})
    def create(self, request):
        serializer = MarketplaceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marketplace = marketplaces.create_marketplace(request.principal, **serializer.changes())
        return mutation_response(MarketplaceSerializer(marketplace).data, status=201)

    @extend_schema(operation_id="getMarketplace", parameters=[MARKETPLACE_ID, INCLUDE_DELETED],
                   responses=item_envelope("MarketplaceItem", MarketplaceSerializer()))
    def retrieve(self, request, marketplace_id):
        marketplace = marketplaces.get_marketplace(request.principal, marketplace_id,
                                                   include_deleted=wants_deleted(request))
        return item_response(MarketplaceSerializer(marketplace).data)

    @extend_schema(operation_id="updateMarketplace", request=MarketplaceInputSerializer(partial=True),
                   parameters=[MARKETPLACE_ID],
                   responses=mutation_envelope("MarketplaceUpdated", MarketplaceSerializer()))
    def partial_update(self, request, marketplace_id):
        serializer = MarketplaceInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._item(marketplaces.update_marketplace(request.principal, marketplace_id, **serializer.changes()))

    @extend_schema(operation_id="deleteMarketplace", request=None, parameters=[MARKETPLACE_ID],
                   responses={204: None})
    def destroy(self, request, marketplace_id):
        marketplaces.delete_marketplace(request.principal, marketplace_id)
        return Response(status=204)

    @extend_schema(operation_id="archiveMarketplace", request=None, parameters=[MARKETPLACE_ID],
                   responses=mutation_envelope("MarketplaceArchived", MarketplaceSerializer()))
    def archive(self, request, marketplace_id):
        return self._item(marketplaces.archive_marketplace(request.principal, marketplace_id))

    @extend_schema(operation_id="restoreMarketplace", request=None, parameters=[MARKETPLACE_ID],
                   responses=mutation_envelope("MarketplaceRestored", MarketplaceSerializer()))
    def restore(self, request, marketplace_id):
        return self._item(marketplaces.restore_marketplace(request.principal, marketplace_id))

    @extend_schema(operation_id="getResolvedMarketplace", parameters=[MARKETPLACE_ID, INCLUDE_DELETED],
                   responses=item_envelope("ResolvedMarketplaceItem", ResolvedMarketplaceSerializer()))
    def resolved(self, request, marketplace_id):
        resolved = marketplaces.resolve_marketplace(request.principal, marketplace_id,
                                                    include_deleted=wants_deleted(request))
        return item_response(ResolvedMarketplaceSerializer(resolved).data)


class MarketplacePluginViewSet(mixins.ListModelMixin, MarketplaceAPI):
    """The plugins a marketplace offers (active memberships)."""

    queryset = MarketplacePlugin.objects.all()
    serializer_class = MarketplacePluginSerializer
    cursor_ordering = ("-added_at", "-id")

    def get_queryset(self):
        return marketplaces.plugins_of_marketplace(self.request.principal, self.kwargs["marketplace_id"])

    @extend_schema(operation_id="listMarketplacePlugins", parameters=[MARKETPLACE_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="addMarketplacePlugin", request=AddPluginSerializer, parameters=[MARKETPLACE_ID],
                   responses={201: mutation_envelope("MarketplacePluginAdded", MarketplacePluginSerializer()),
                              200: mutation_envelope("MarketplacePluginReactivated", MarketplacePluginSerializer())})
    def create(self, request, marketplace_id):
        serializer = AddPluginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marketplace = marketplaces.lookup_marketplace(request.tenant, marketplace_id)
        plugin = plugins.lookup_plugin(request.tenant, serializer.validated_data["pluginId"])
        _, created = marketplaces.add_plugin_to_marketplace(request.principal, marketplace, plugin)
        membership = marketplaces.marketplace_memberships(request.tenant).get(marketplace=marketplace, plugin=plugin)
        return mutation_response(MarketplacePluginSerializer(membership).data, status=201 if created else 200)

    @extend_schema(operation_id="removeMarketplacePlugin", request=None, parameters=[MARKETPLACE_ID, PLUGIN_ID],
                   responses={204: None})
    def destroy(self, request, marketplace_id, plugin_id):
        marketplace = marketplaces.lookup_marketplace(request.tenant, marketplace_id)
        plugin = plugins.lookup_plugin(request.tenant, plugin_id)
        marketplaces.remove_plugin_from_marketplace(request.principal, marketplace, plugin)
        return Response(status=204)


# Grants (the access service's grant API)


PluginGrantViewSet = grant_viewset(
    "Plugin", PLUGIN, "plugin_id",
    lambda request, plugin_id: plugins.lookup_plugin(request.tenant, plugin_id).pk,
    "plugins", "A plugin id (plugin-...).",
)
MarketplaceGrantViewSet = grant_viewset(
    "Marketplace", MARKETPLACE, "marketplace_id",
    lambda request, pk: marketplaces.lookup_marketplace(request.tenant, pk, include_deleted=True).pk,
    "marketplaces", "A marketplace id (mkt_...).",
)
