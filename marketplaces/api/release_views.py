"""/api/v1/plugins/{pluginId}/releases: immutable snapshots of a plugin, and the pinned one delivery serves.

Reading needs the viewer role on the plugin; creating, pinning and unpinning need the manager role. The
rules live in marketplaces.releases. Unpinning is `POST .../releases/unpin` (a POST, like pin, archive and
restore), answering with the release that was pinned, or `item: null` when none was.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins

from marketplaces import releases
from marketplaces.api.release_serializers import (
    CreateReleaseSerializer,
    ReleaseDetailSerializer,
    ReleaseSerializer,
)
from marketplaces.models import PluginRelease
from plexica.access import services as access
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import TenantAccess
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response

PLUGIN_ID = OpenApiParameter("plugin_id", str, OpenApiParameter.PATH, description="A plugin id (plugin-...).")
RELEASE_ID = OpenApiParameter("release_id", str, OpenApiParameter.PATH, description="A release id (rel_...).")


class PluginReleaseViewSet(mixins.ListModelMixin, TenantViewSet):
    """A plugin's releases, newest first."""

    schema_tags = ["releases"]
    permission_classes = [TenantAccess]  # the service checks the caller's role on the plugin
    error_statuses = STATE_CONFLICTS
    queryset = PluginRelease.objects.all()
    serializer_class = ReleaseSerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self):
        plugin = releases.find_plugin(self.request.principal, self.kwargs["plugin_id"], access.VIEWER)
        return releases.releases_of(plugin)

    def _detail(self, release):
        return ReleaseDetailSerializer(releases.with_items(release)).data

    @extend_schema(operation_id="listPluginReleases", parameters=[PLUGIN_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createPluginRelease", request=CreateReleaseSerializer,
                   parameters=[PLUGIN_ID],
                   responses={201: mutation_envelope("PluginReleaseCreated", ReleaseDetailSerializer())})
    def create(self, request, plugin_id):
        serializer = CreateReleaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        release = releases.create_release(request.principal, plugin_id, **serializer.validated_data)
        return mutation_response(self._detail(release), status=201)

    @extend_schema(operation_id="getPluginRelease", parameters=[PLUGIN_ID, RELEASE_ID],
                   responses=item_envelope("PluginReleaseDetail", ReleaseDetailSerializer()))
    def retrieve(self, request, plugin_id, release_id):
        plugin = releases.find_plugin(request.principal, plugin_id, access.VIEWER)
        return item_response(self._detail(releases.get_release(plugin, release_id)))

    @extend_schema(operation_id="pinPluginRelease", request=None, parameters=[PLUGIN_ID, RELEASE_ID],
                   responses=mutation_envelope("PluginReleasePinned", ReleaseDetailSerializer()))
    def pin(self, request, plugin_id, release_id):
        return mutation_response(self._detail(releases.pin_release(request.principal, plugin_id, release_id)))

    @extend_schema(operation_id="unpinPluginRelease", request=None, parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginReleaseUnpinned", ReleaseSerializer(allow_null=True)),
                   description="Delivery returns to the rolling latest. `item` is the release that was "
                               "pinned, or null when none was.")
    def unpin(self, request, plugin_id):
        release = releases.unpin_release(request.principal, plugin_id)
        return mutation_response(ReleaseSerializer(release).data if release is not None else None)
