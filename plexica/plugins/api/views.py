"""The plugins' core API: the catalog viewset other apps extend, and the permissions granted to a plugin."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response

from plexica.api.permissions import IsOrgAdmin, TenantAccess
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantAPIView, TenantViewSet, item_response, mutation_response
from plexica.plugins import capabilities, services
from plexica.plugins.api.serializers import (
    CapabilitySerializer,
    GrantCapabilitySerializer,
    GrantPermissionSerializer,
    PermissionGrantSerializer,
    PluginSerializer,
)
from plexica.plugins.filtersets import PluginFilterSet
from plexica.plugins.models import Capability, PermissionGrant, Plugin


@extend_schema(tags=["plugins"])
class PluginViewSet(mixins.ListModelMixin, TenantViewSet):
    """The organization's plugin catalog."""

    queryset = Plugin.objects.all()
    serializer_class = PluginSerializer
    permission_classes = [TenantAccess, IsOrgAdmin]
    filterset_class = PluginFilterSet
    cursor_ordering = ("plugin_id",)
    lookup_field = "plugin_id"
    lookup_url_kwarg = "plugin_id"

    @extend_schema(responses=item_envelope("PluginItem", PluginSerializer()))
    def retrieve(self, request, *args, **kwargs):
        return item_response(self.get_serializer(self.get_object()).data)


@extend_schema(tags=["plugins"])
class PermissionGrantViewSet(mixins.ListModelMixin, TenantViewSet):
    """Permission strings the organization grants a plugin; the gateway checks them on every call."""

    queryset = PermissionGrant.objects.all()
    serializer_class = PermissionGrantSerializer
    # The services admit org admins only; IsOrgAdmin (the same rule) answers before a body is read.
    permission_classes = [TenantAccess, IsOrgAdmin]
    cursor_ordering = ("permission",)

    def get_queryset(self):
        return services.permission_grants(self.request.principal, self.kwargs["plugin_id"])

    @extend_schema(
        request=GrantPermissionSerializer,
        responses={201: mutation_envelope("PermissionGranted", PermissionGrantSerializer()),
                   200: mutation_envelope("PermissionAlreadyGranted", PermissionGrantSerializer())},
    )
    def create(self, request, plugin_id):
        serializer = GrantPermissionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        permission = serializer.validated_data["permission"]
        grant, created = services.grant_permission(request.principal, plugin_id, permission)
        return mutation_response(PermissionGrantSerializer(grant).data, status=201 if created else 200)

    @extend_schema(responses={204: None})
    def destroy(self, request, plugin_id, permission):
        services.revoke_permission(request.principal, plugin_id, permission)
        return Response(status=204)


CAPABILITY_PARAMETER = OpenApiParameter("capability", str, OpenApiParameter.PATH, enum=Capability.values,
                                        description="The capability (another name is a 404).")


@extend_schema(tags=["plugins"])
class CapabilityGrantView(TenantAPIView):
    """The capabilities the organization grants a plugin (ROUTES, TOOLS, EVENTS_PUB, EVENTS_SUB,
    BACKGROUND_TASKS, STATIC); the platform checks them when the plugin's key registers services, exposes
    tools, emits events or subscribes to them."""

    # The services admit org admins only; IsOrgAdmin (the same rule) answers before a body is read.
    permission_classes = [TenantAccess, IsOrgAdmin]

    @extend_schema(
        operation_id="listPluginCapabilities",
        responses=inline_serializer("PluginCapabilityList", {
            "items": CapabilitySerializer(many=True),
            "nextCursor": serializers.CharField(allow_null=True, help_text="Always null: one page holds them all."),
        }),
        description="What the plugin holds; a plugin whose manifest requests nothing shows its legacy default "
                    "(ROUTES, EVENTS_PUB, EVENTS_SUB) with `default: true`.",
    )
    def get(self, request, plugin_id):
        _plugin, entries = capabilities.capability_entries(request.principal, plugin_id)
        return Response({"items": CapabilitySerializer(entries, many=True).data, "nextCursor": None})

    @extend_schema(
        operation_id="grantPluginCapability", request=GrantCapabilitySerializer,
        responses={201: mutation_envelope("CapabilityGranted", CapabilitySerializer()),
                   200: mutation_envelope("CapabilityAlreadyGranted", CapabilitySerializer())},
        description="Grant a capability: 201 when new, 200 when the plugin held it already.",
    )
    def post(self, request, plugin_id):
        serializer = GrantCapabilitySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        capability = serializer.validated_data["capability"]
        grant, created = capabilities.grant_capability(request.principal, plugin_id, capability)
        plugin, entries = capabilities.capability_entries(request.principal, plugin_id)
        entry = next(e for e in entries if e["capability"] == capability)
        return mutation_response(CapabilitySerializer(entry).data, status=201 if created else 200)


@extend_schema(tags=["plugins"])
class CapabilityGrantDetailView(TenantAPIView):
    permission_classes = [TenantAccess, IsOrgAdmin]

    @extend_schema(operation_id="revokePluginCapability", parameters=[CAPABILITY_PARAMETER],
                   responses={204: None}, description="Revoke a capability; 404 when the plugin does not hold it.")
    def delete(self, request, plugin_id, capability):
        capabilities.revoke_capability(request.principal, plugin_id, capability)
        return Response(status=204)
