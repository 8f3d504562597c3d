"""Access grants on one resource: `<resource>/{id}/grants` (list, grant, revoke). Managers of the resource only.

Every shareable resource type gets its grant endpoints from `grant_viewset` (which says how to find the
resource in the caller's organization) and `grant_routes`; the rules are the access service's.
"""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from plexica.access import services as access
from plexica.access.api.serializers import GrantInputSerializer, GrantSerializer
from plexica.access.models import AccessGrant
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

    def get_queryset(self):
        return access.list_grants(self.request.principal, self.resource_type, self.resource_pk())

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



def grant_routes(prefix, viewset, name):
    """The URL patterns of one resource type's grants, under the resource's own path `prefix`."""
    return [
        path(f"{prefix}/grants", viewset.as_view({"get": "list", "post": "create"}), name=f"{name}-grant-list"),
        path(f"{prefix}/grants/<str:grant_id>", viewset.as_view({"delete": "destroy"}), name=f"{name}-grant-detail"),
    ]
