"""Admin API of plugin membership, marketplaces and the resolved views, org admins only."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from marketplaces import composition
from marketplaces.api.serializers import (
    AddConfigObjectSerializer,
    AddPluginSerializer,
    MarketplaceInputSerializer,
    MarketplacePluginSerializer,
    MarketplaceSerializer,
    PluginMembershipSerializer,
    ResolvedMarketplaceSerializer,
    ResolvedPluginSerializer,
)
from marketplaces.api.views import INCLUDE_DELETED, OBJECT_ID, ConfigObjectAPI, _wants_deleted, find_object
from marketplaces.filtersets import MarketplaceFilterSet
from marketplaces.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.sharing import MARKETPLACE
from plexica.access import services as access
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import TenantAccess
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response
from plexica.plugins.sharing import PLUGIN

PLUGIN_ID = OpenApiParameter("plugin_id", str, OpenApiParameter.PATH, description="A plugin id (plugin-...).")
MARKETPLACE_ID = OpenApiParameter("marketplace_id", str, OpenApiParameter.PATH,
                                  description="A marketplace id (mkt_...).")
MEMBERSHIP_RESPONSES = {
    201: mutation_envelope("PluginMembershipAdded", PluginMembershipSerializer()),
    200: mutation_envelope("PluginMembershipReactivated", PluginMembershipSerializer()),
}


def find_plugin(request, plugin_id, role, doing=None):
    """The plugin (404 when it does not exist in this organization), after the role check (403)."""
    plugin = composition.get_plugin(request.tenant, plugin_id)
    access.require_role(request.principal, PLUGIN, plugin.pk, role, doing)
    return plugin


def find_marketplace(request, marketplace_id, role, doing=None, include_deleted=False):
    """The marketplace (404 when it does not exist in this organization), after the role check (403)."""
    marketplace = composition.get_marketplace(request.tenant, marketplace_id, include_deleted=include_deleted)
    access.require_role(request.principal, MARKETPLACE, marketplace.pk, role, doing)
    return marketplace


# Adding a member exposes it to everyone who can see the container, so it takes the editor role on both;
# removing one takes the editor role on the container.
MEMBERSHIP_EDIT = "Changing a plugin's config objects needs the editor role on the plugin"
MEMBER_OBJECT_EDIT = "Adding a config object to a plugin needs the editor role on the config object"


class MembershipAPI(mixins.ListModelMixin, ConfigObjectAPI):
    queryset = PluginConfigObject.objects.all()
    serializer_class = PluginMembershipSerializer
    cursor_ordering = ("-added_at", "-id")

    def _added(self, plugin, obj):
        _, created = composition.add_config_object_to_plugin(self.request.principal, plugin, obj)
        membership = composition.get_plugin_membership(self.request.tenant, plugin, obj)
        return mutation_response(PluginMembershipSerializer(membership).data, status=201 if created else 200)


class ConfigObjectPluginViewSet(MembershipAPI):
    """The plugins a config object is an active member of."""

    def config_object(self, role=access.VIEWER, doing=None):
        return find_object(self.request, self.kwargs["config_object_id"], role, doing)

    def get_queryset(self):
        memberships = composition.plugin_memberships(self.request.tenant).filter(config_object=self.config_object())
        return access.restrict(memberships, self.request.principal, PLUGIN, field="plugin_id")

    @extend_schema(operation_id="listConfigObjectPlugins", parameters=[OBJECT_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="addConfigObjectToPlugin", request=AddPluginSerializer, parameters=[OBJECT_ID],
                   responses=MEMBERSHIP_RESPONSES)
    def create(self, request, config_object_id):
        serializer = AddPluginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.config_object(access.EDITOR, MEMBER_OBJECT_EDIT)
        return self._added(find_plugin(request, serializer.validated_data["pluginId"], access.EDITOR, MEMBERSHIP_EDIT),
                           obj)

    @extend_schema(operation_id="removeConfigObjectFromPlugin", request=None, parameters=[OBJECT_ID, PLUGIN_ID],
                   responses={204: None})
    def destroy(self, request, config_object_id, plugin_id):
        obj = self.config_object()
        composition.remove_config_object_from_plugin(request.principal,
                                                     find_plugin(request, plugin_id, access.EDITOR, MEMBERSHIP_EDIT),
                                                     obj)
        return Response(status=204)


class PluginConfigObjectViewSet(MembershipAPI):
    """The config objects that are active members of a plugin."""

    schema_tags = ["plugins"]

    def plugin(self, role=access.VIEWER, doing=None):
        return find_plugin(self.request, self.kwargs["plugin_id"], role, doing)

    def get_queryset(self):
        return composition.plugin_memberships(self.request.tenant).filter(plugin=self.plugin())

    @extend_schema(operation_id="listPluginConfigObjects", parameters=[PLUGIN_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="addPluginConfigObject", request=AddConfigObjectSerializer, parameters=[PLUGIN_ID],
                   responses=MEMBERSHIP_RESPONSES)
    def create(self, request, plugin_id):
        serializer = AddConfigObjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plugin = self.plugin(access.EDITOR, MEMBERSHIP_EDIT)
        obj = find_object(request, serializer.validated_data["configObjectId"], access.EDITOR, MEMBER_OBJECT_EDIT)
        return self._added(plugin, obj)

    @extend_schema(operation_id="removePluginConfigObject", request=None, parameters=[PLUGIN_ID, OBJECT_ID],
                   responses={204: None})
    def destroy(self, request, plugin_id, config_object_id):
        plugin = self.plugin(access.EDITOR, MEMBERSHIP_EDIT)
        obj = find_object(request, config_object_id, access.VIEWER)
        composition.remove_config_object_from_plugin(request.principal, plugin, obj)
        return Response(status=204)

    @extend_schema(operation_id="getResolvedPlugin", parameters=[PLUGIN_ID],
                   responses=item_envelope("ResolvedPluginItem", ResolvedPluginSerializer()))
    def resolved(self, request, plugin_id):
        self.plugin()
        return item_response(ResolvedPluginSerializer(composition.resolve_plugin(request.tenant, plugin_id)).data)


class MarketplaceAPI(TenantViewSet):
    """Open to every principal of the organization; each action checks the caller's role on the marketplace."""

    schema_tags = ["marketplaces"]
    permission_classes = [TenantAccess]
    error_statuses = STATE_CONFLICTS


class MarketplaceViewSet(mixins.ListModelMixin, MarketplaceAPI):
    """Marketplaces: curated sets of the organization's plugins."""

    queryset = Marketplace.objects.select_related("created_by")
    serializer_class = MarketplaceSerializer
    filterset_class = MarketplaceFilterSet
    cursor_ordering = ("-created_at", "id")

    def get_queryset(self):
        return access.restrict(super().get_queryset(), self.request.principal, MARKETPLACE)

    def _item(self, marketplace, status=200):
        return mutation_response(MarketplaceSerializer(marketplace).data, status=status)

    @extend_schema(operation_id="listMarketplaces")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createMarketplace", request=MarketplaceInputSerializer,
                   responses={201: mutation_envelope("MarketplaceCreated", MarketplaceSerializer())})
    def create(self, request):
        serializer = MarketplaceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access.require_org_admin(request.principal, "Creating a marketplace")
        return self._item(composition.create_marketplace(request.principal, **serializer.changes()), status=201)

    @extend_schema(operation_id="getMarketplace", parameters=[MARKETPLACE_ID, INCLUDE_DELETED],
                   responses=item_envelope("MarketplaceItem", MarketplaceSerializer()))
    def retrieve(self, request, marketplace_id):
        marketplace = find_marketplace(request, marketplace_id, access.VIEWER, include_deleted=_wants_deleted(request))
        return item_response(MarketplaceSerializer(marketplace).data)

    @extend_schema(operation_id="updateMarketplace", request=MarketplaceInputSerializer(partial=True),
                   parameters=[MARKETPLACE_ID],
                   responses=mutation_envelope("MarketplaceUpdated", MarketplaceSerializer()))
    def partial_update(self, request, marketplace_id):
        serializer = MarketplaceInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        find_marketplace(request, marketplace_id, access.EDITOR, "Editing a marketplace needs the editor role")
        composition.update_marketplace(request.principal, marketplace_id, **serializer.changes())
        return self._item(composition.get_marketplace(request.tenant, marketplace_id))

    @extend_schema(operation_id="deleteMarketplace", request=None, parameters=[MARKETPLACE_ID],
                   responses={204: None})
    def destroy(self, request, marketplace_id):
        find_marketplace(request, marketplace_id, access.MANAGER, "Deleting a marketplace needs the manager role")
        composition.delete_marketplace(request.principal, marketplace_id)
        return Response(status=204)

    @extend_schema(operation_id="archiveMarketplace", request=None, parameters=[MARKETPLACE_ID],
                   responses=mutation_envelope("MarketplaceArchived", MarketplaceSerializer()))
    def archive(self, request, marketplace_id):
        find_marketplace(request, marketplace_id, access.MANAGER, "Archiving a marketplace needs the manager role")
        composition.archive_marketplace(request.principal, marketplace_id)
        return self._item(composition.get_marketplace(request.tenant, marketplace_id))

    @extend_schema(operation_id="restoreMarketplace", request=None, parameters=[MARKETPLACE_ID],
                   responses=mutation_envelope("MarketplaceRestored", MarketplaceSerializer()))
    def restore(self, request, marketplace_id):
        find_marketplace(request, marketplace_id, access.MANAGER, "Restoring a marketplace needs the manager role",
                         include_deleted=True)
        composition.restore_marketplace(request.principal, marketplace_id)
        return self._item(composition.get_marketplace(request.tenant, marketplace_id))

    @extend_schema(operation_id="getResolvedMarketplace", parameters=[MARKETPLACE_ID, INCLUDE_DELETED],
                   responses=item_envelope("ResolvedMarketplaceItem", ResolvedMarketplaceSerializer()))
    def resolved(self, request, marketplace_id):
        find_marketplace(request, marketplace_id, access.VIEWER, include_deleted=_wants_deleted(request))
        resolved = composition.resolve_marketplace(request.tenant, marketplace_id, _wants_deleted(request))
        return item_response(ResolvedMarketplaceSerializer(resolved).data)


MARKETPLACE_EDIT = "Changing a marketplace's plugins needs the editor role on the marketplace"


class MarketplacePluginViewSet(mixins.ListModelMixin, MarketplaceAPI):
    """The plugins a marketplace offers (active memberships)."""

    queryset = MarketplacePlugin.objects.all()
    serializer_class = MarketplacePluginSerializer
    cursor_ordering = ("-added_at", "-id")

    def marketplace(self, role=access.VIEWER, doing=None):
        return find_marketplace(self.request, self.kwargs["marketplace_id"], role, doing)

    def get_queryset(self):
        return composition.marketplace_memberships(self.request.tenant).filter(marketplace=self.marketplace())

    @extend_schema(operation_id="listMarketplacePlugins", parameters=[MARKETPLACE_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="addMarketplacePlugin", request=AddPluginSerializer, parameters=[MARKETPLACE_ID],
                   responses={201: mutation_envelope("MarketplacePluginAdded", MarketplacePluginSerializer()),
                              200: mutation_envelope("MarketplacePluginReactivated", MarketplacePluginSerializer())})
    def create(self, request, marketplace_id):
        serializer = AddPluginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marketplace = self.marketplace(access.EDITOR, MARKETPLACE_EDIT)
        plugin = find_plugin(request, serializer.validated_data["pluginId"], access.EDITOR,
                             "Offering a plugin in a marketplace needs the editor role on the plugin")
        _, created = composition.add_plugin_to_marketplace(request.principal, marketplace, plugin)
        membership = composition.marketplace_memberships(request.tenant).get(marketplace=marketplace, plugin=plugin)
        return mutation_response(MarketplacePluginSerializer(membership).data, status=201 if created else 200)

    @extend_schema(operation_id="removeMarketplacePlugin", request=None, parameters=[MARKETPLACE_ID, PLUGIN_ID],
                   responses={204: None})
    def destroy(self, request, marketplace_id, plugin_id):
        marketplace = self.marketplace(access.EDITOR, MARKETPLACE_EDIT)
        composition.remove_plugin_from_marketplace(request.principal, marketplace,
                                                   composition.get_plugin(request.tenant, plugin_id))
        return Response(status=204)
