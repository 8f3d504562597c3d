"""The plugins' core API: the catalog viewset other apps extend, and the permissions granted to a plugin."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from plexica.api.permissions import IsOrgAdmin, TenantAccess
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response
from plexica.plugins import services
from plexica.plugins.api.serializers import GrantPermissionSerializer, PermissionGrantSerializer, PluginSerializer
from plexica.plugins.filtersets import PluginFilterSet
from plexica.plugins.models import PermissionGrant, Plugin


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
