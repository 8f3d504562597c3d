"""Access grants on one resource: `<resource>/{id}/grants` (list, grant, revoke). Managers of the resource only.

Subclasses say which resource type they guard and how to find the resource in the caller's organization;
the connectors app reuses this for connector instances.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from marketplaces import access, composition, services
from marketplaces.api.grant_serializers import GrantInputSerializer, GrantSerializer
from marketplaces.models import AccessGrant, ResourceType
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.schema import mutation_envelope
from plexica.api.views import TenantViewSet, mutation_response

GRANT_ID = OpenApiParameter("grant_id", str, OpenApiParameter.PATH, description="An access grant id (grt_...).")
GRANT_RESPONSES = {201: mutation_envelope("AccessGrantCreated", GrantSerializer()),
                   200: mutation_envelope("AccessGrantUpdated", GrantSerializer())}


class ResourceGrantViewSet(mixins.ListModelMixin, TenantViewSet):
    """Who may use this resource, with which role."""

    queryset = AccessGrant.objects.all()
    serializer_class = GrantSerializer
    cursor_ordering = ("-created_at", "-id")
    error_statuses = STATE_CONFLICTS
    resource_type = None

    def resource_pk(self):
        """The resource's public id, after checking it exists in this organization (NotFound otherwise)."""
        raise NotImplementedError

    def _managed_resource(self, doing):
        pk = self.resource_pk()
        access.require_role(self.request.principal, self.resource_type, pk, access.MANAGER, doing)
        return pk

    def get_queryset(self):
        pk = self._managed_resource(f"Seeing who can use this {access.NOUNS[self.resource_type]}")
        return access.active_grants(self.request.tenant, self.resource_type, pk)

    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        serializer = GrantInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        grant, created = access.grant(
            request.principal, self.resource_type, self.resource_pk(), data["role"],
            membership_id=data.get("orgMembershipId"), team_id=data.get("teamId"), org_wide=data["orgWide"],
        )
        grant = access.active_grants(request.tenant, self.resource_type, grant.resource_id).get(pk=grant.pk)
        return mutation_response(GrantSerializer(grant).data, status=201 if created else 200)

    def destroy(self, request, *args, grant_id, **kwargs):
        access.revoke(request.principal, self.resource_type, self.resource_pk(), grant_id)
        return Response(status=204)


def grant_viewset(name, resource_type, path_param, lookup, tag, description):
    """A ResourceGrantViewSet for one resource type, documented for OpenAPI."""
    parameter = OpenApiParameter(path_param, str, OpenApiParameter.PATH, description=description)
    noun = name[0].lower() + name[1:]

    @extend_schema(tags=[tag])
    class ViewSet(ResourceGrantViewSet):
        def resource_pk(self):
            return lookup(self.request, self.kwargs[path_param])

        @extend_schema(operation_id=f"list{name}Grants", parameters=[parameter])
        def list(self, request, *args, **kwargs):
            return super().list(request, *args, **kwargs)

        @extend_schema(operation_id=f"grant{name}Access", parameters=[parameter], request=GrantInputSerializer,
                       responses=GRANT_RESPONSES)
        def create(self, request, *args, **kwargs):
            return super().create(request, *args, **kwargs)

        @extend_schema(operation_id=f"revoke{name}Grant", parameters=[parameter, GRANT_ID], request=None,
                       responses={204: None})
        def destroy(self, request, *args, **kwargs):
            return super().destroy(request, *args, **kwargs)

    ViewSet.resource_type = resource_type
    ViewSet.__name__ = ViewSet.__qualname__ = f"{name}GrantViewSet"
    ViewSet.__doc__ = f"Who may use this {noun.lower()}, with which role (managers only)."
    return ViewSet


ConfigObjectGrantViewSet = grant_viewset(
    "ConfigObject", ResourceType.CONFIG_OBJECT, "config_object_id",
    lambda request, pk: services.get_config_object(request.tenant, pk, include_deleted=True).pk,
    "config objects", "A config object id (cfo_...).",
)
PluginGrantViewSet = grant_viewset(
    "Plugin", ResourceType.PLUGIN, "plugin_id",
    lambda request, plugin_id: composition.get_plugin(request.tenant, plugin_id).pk,
    "plugins", "A plugin id (plugin-...).",
)
MarketplaceGrantViewSet = grant_viewset(
    "Marketplace", ResourceType.MARKETPLACE, "marketplace_id",
    lambda request, pk: composition.get_marketplace(request.tenant, pk, include_deleted=True).pk,
    "marketplaces", "A marketplace id (mkt_...).",
)
