"""API of releases (`/api/v1/plugins/{pluginId}/releases`) and delivery to clients (`/api/v1/delivery/`).

Releases are immutable snapshots of a plugin and the pinned one delivery serves; reading needs the viewer role
on the plugin, creating, pinning and unpinning the manager role (the rules live in
marketplaces.delivery.releases). Unpinning is `POST .../releases/unpin` (a POST, like pin, archive and
restore), answering with the release that was pinned, or `item: null` when none was.

Delivery is what clients (desktop apps, CLIs) install, and what they report they have installed. It is open
to every principal of the organization; marketplaces.delivery.services filters by access (a plugin key sees
its own plugin only). Update checks are `GET clients/{clientId}/check-updates`, computed against the state
the client last POSTed to `clients/{clientId}/state`, so a read-only key can check (it cannot post state).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins

from marketplaces.delivery import releases
from marketplaces.delivery import services as delivery
from marketplaces.delivery.api.serializers import (
    ClientStateInputSerializer,
    ClientStateSerializer,
    CreateReleaseSerializer,
    DeliveryPluginSerializer,
    DownloadSerializer,
    ManifestSerializer,
    PayloadSerializer,
    ReleaseDetailSerializer,
    ReleaseSerializer,
    UpdateReportSerializer,
)
from marketplaces.delivery.models import ClientState, PluginRelease
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import TenantAccess
from plexica.api.query import query_text, text_parameter
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response
from plexica.errors import Invalid
from plexica.plugins.models import Plugin

PLUGIN_ID = OpenApiParameter("plugin_id", str, OpenApiParameter.PATH, description="A plugin id (plugin-...).")
RELEASE_ID = OpenApiParameter("release_id", str, OpenApiParameter.PATH, description="A release id (rel_...).")
OBJECT_ID = OpenApiParameter("config_object_id", str, OpenApiParameter.PATH,
                             description="A config object id (cfo_...).")
CLIENT_ID = OpenApiParameter("client_id", {"type": "string", "pattern": f"^{delivery.CLIENT_ID.pattern}$"},
                             OpenApiParameter.PATH,
                             description="The client's own id: 1 to 100 letters, digits and . _ : -")
RELEASE = text_parameter("release", "A release id (rel_...) of this plugin to serve instead of the pinned "
                                    "release or the rolling latest.")


class PluginReleaseViewSet(mixins.ListModelMixin, TenantViewSet):
    """A plugin's releases, newest first."""

    schema_tags = ["releases"]
    permission_classes = [TenantAccess]  # the release services check the caller's role on the plugin
    error_statuses = STATE_CONFLICTS
    queryset = PluginRelease.objects.all()
    serializer_class = ReleaseSerializer
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self):
        return releases.list_releases(self.request.principal, self.kwargs["plugin_id"])

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
        return mutation_response(ReleaseDetailSerializer(release).data, status=201)

    @extend_schema(operation_id="getPluginRelease", parameters=[PLUGIN_ID, RELEASE_ID],
                   responses=item_envelope("PluginReleaseDetail", ReleaseDetailSerializer()))
    def retrieve(self, request, plugin_id, release_id):
        release = releases.get_release(request.principal, plugin_id, release_id)
        return item_response(ReleaseDetailSerializer(release).data)

    @extend_schema(operation_id="pinPluginRelease", request=None, parameters=[PLUGIN_ID, RELEASE_ID],
                   responses=mutation_envelope("PluginReleasePinned", ReleaseDetailSerializer()))
    def pin(self, request, plugin_id, release_id):
        release = releases.pin_release(request.principal, plugin_id, release_id)
        return mutation_response(ReleaseDetailSerializer(release).data)

    @extend_schema(operation_id="unpinPluginRelease", request=None, parameters=[PLUGIN_ID],
                   responses=mutation_envelope("PluginReleaseUnpinned", ReleaseSerializer(allow_null=True)),
                   description="Delivery returns to the rolling latest. `item` is the release that was "
                               "pinned, or null when none was.")
    def unpin(self, request, plugin_id):
        release = releases.unpin_release(request.principal, plugin_id)
        return mutation_response(ReleaseSerializer(release).data if release is not None else None)


class DeliveryAPI(TenantViewSet):
    schema_tags = ["delivery"]
    permission_classes = [TenantAccess]  # the delivery services check the caller's role on each resource


class DeliveryPluginViewSet(mixins.ListModelMixin, DeliveryAPI):
    """Plugins the caller can install, their manifests and their payloads."""

    queryset = Plugin.objects.all()
    serializer_class = DeliveryPluginSerializer
    cursor_ordering = ("plugin_id",)

    def get_queryset(self):
        return delivery.accessible_plugins(self.request.principal)

    @extend_schema(operation_id="listDeliveryPlugins")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="getDeliveryPlugin", parameters=[PLUGIN_ID],
                   responses=item_envelope("DeliveryPluginItem", DeliveryPluginSerializer()))
    def retrieve(self, request, plugin_id):
        return item_response(DeliveryPluginSerializer(delivery.get_plugin(request.principal, plugin_id)).data)

    @extend_schema(operation_id="getDeliveryPluginManifest", parameters=[PLUGIN_ID, RELEASE],
                   responses=item_envelope("DeliveryManifest", ManifestSerializer()))
    def manifest(self, request, plugin_id):
        found = delivery.manifest(request.principal, plugin_id, query_text(request, "release"))
        return item_response(ManifestSerializer(found).data)

    @extend_schema(operation_id="downloadDeliveryPlugin", parameters=[PLUGIN_ID, RELEASE],
                   responses=item_envelope("DeliveryDownload", DownloadSerializer()))
    def download(self, request, plugin_id):
        found = delivery.download(request.principal, plugin_id, query_text(request, "release"))
        return item_response(DownloadSerializer(found).data)


class DeliveryConfigObjectViewSet(DeliveryAPI):
    """One config object's latest version with its payload."""

    serializer_class = PayloadSerializer

    @extend_schema(operation_id="downloadDeliveryConfigObject", parameters=[OBJECT_ID],
                   responses=item_envelope("DeliveryConfigObjectDownload", PayloadSerializer()))
    def download(self, request, config_object_id):
        return item_response(PayloadSerializer(delivery.download_config_object(request.principal,
                                                                               config_object_id)).data)


class ClientStateViewSet(DeliveryAPI):
    """What one client of the caller has installed, and how it compares with what is delivered now."""

    queryset = ClientState.objects.all()
    serializer_class = ClientStateSerializer

    @extend_schema(operation_id="getClientState", parameters=[CLIENT_ID],
                   responses=item_envelope("ClientStateDetail", ClientStateSerializer()))
    def retrieve(self, request, client_id):
        state = delivery.get_client_state(request.principal, client_id)
        return item_response(ClientStateSerializer(state).data)

    @extend_schema(operation_id="saveClientState", request=ClientStateInputSerializer, parameters=[CLIENT_ID],
                   responses=mutation_envelope("ClientStateSaved", ClientStateSerializer()),
                   description="Replaces the installed list of this client (of the calling member or key).")
    def replace(self, request, client_id):
        body = request.data
        if not isinstance(body, dict) or "items" not in body:
            raise Invalid("Missing required field: items", field="items")
        unknown = sorted(body.keys() - {"items"})
        if unknown:
            raise Invalid(f"{unknown[0]}: Unknown field.", field=unknown[0])
        state = delivery.save_client_state(request.principal, client_id, body["items"])
        return mutation_response(ClientStateSerializer(state).data)

    @extend_schema(operation_id="checkClientUpdates", parameters=[CLIENT_ID],
                   responses=item_envelope("ClientUpdateReport", UpdateReportSerializer()),
                   description="Compares the stored state with what each plugin delivers now (its pinned "
                               "release or the rolling latest); 404 when the client never posted its state.")
    def check_updates(self, request, client_id):
        report = delivery.check_updates(request.principal, client_id)
        return item_response(UpdateReportSerializer(report).data)
