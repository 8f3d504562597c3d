"""API of config objects, their immutable versions and their grants (`/api/v1/config-objects`).

Open to every principal of the organization; the services check the caller's role on each object.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response

from marketplaces.catalog.services import bundles
from marketplaces.config_objects import services
from marketplaces.config_objects.api.serializers import (
    ConfigObjectSerializer,
    CreateConfigObjectSerializer,
    NewVersionSerializer,
    VersionCompareSerializer,
    VersionSerializer,
    VersionSummarySerializer,
    version_input,
)
from marketplaces.config_objects.filtersets import ConfigObjectFilterSet
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.config_objects.parsing import MAX_PAYLOAD_BYTES
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access.api.views import grant_viewset
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import TenantAccess
from plexica.api.query import bool_parameter, query_bool, text_parameter
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response
from plexica.ids import PATH_ID_PATTERNS

OBJECT_ID = OpenApiParameter("config_object_id", str, OpenApiParameter.PATH,
                             description="A config object id (cfo_...).")
VERSION_ID_PATTERN = PATH_ID_PATTERNS["version_id"]
VERSION_ID = OpenApiParameter("version_id", str, OpenApiParameter.PATH, description="A version id (ver_...).")
INCLUDE_DELETED = bool_parameter("includeDeleted", "Also find a soft-deleted object.")
IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False,
    description="The latest version id you read (the ETag of the object); 409 if another version came since.",
)
NEW_VERSION_RESPONSE = inline_serializer("ConfigObjectVersionAdded", {
    "ok": serializers.BooleanField(default=True),
    "created": serializers.BooleanField(help_text="False when the content equals the latest version's."),
    "item": VersionSerializer(),
})


def _etag(version_id):
    return {"ETag": f'"{version_id}"'} if version_id else {}


def wants_deleted(request):
    return query_bool(request, "includeDeleted")


class ConfigObjectAPI(TenantViewSet):
    """Open to every principal of the organization; the services check the caller's role on the resource."""

    schema_tags = ["config objects"]
    permission_classes = [TenantAccess]
    error_statuses = STATE_CONFLICTS
    # Two 1 MiB payloads, JSON-escaped, plus the envelope.
    max_body_bytes = 4 * MAX_PAYLOAD_BYTES + 64 * 1024


class ConfigObjectViewSet(mixins.ListModelMixin, ConfigObjectAPI):
    """Config objects: stable identities whose content lives in immutable versions."""

    queryset = ConfigObject.objects.all()
    serializer_class = ConfigObjectSerializer
    filterset_class = ConfigObjectFilterSet
    cursor_ordering = ("-created_at", "id")
    lookup_url_kwarg = "config_object_id"

    def get_queryset(self):
        return services.list_config_objects(self.request.principal)

    def _item(self, obj, status=200):
        """The object as changed, read again with its latest version summary."""
        obj = services.lookup_config_object(self.request.tenant, obj.pk, include_deleted=True)
        return mutation_response(ConfigObjectSerializer(obj).data, status=status, headers=_etag(obj.latest_version_id))

    @extend_schema(operation_id="listConfigObjects")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createConfigObject", request=CreateConfigObjectSerializer,
                   responses={201: mutation_envelope("ConfigObjectCreated", ConfigObjectSerializer())})
    def create(self, request):
        serializer = CreateConfigObjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        obj, _ = bundles.create_config_object_in_plugins(
            request.principal, data["type"], data["sourceMode"], version_input(data["input"]), data["pluginIds"]
        )
        return self._item(obj, status=201)

    @extend_schema(operation_id="getConfigObject", parameters=[OBJECT_ID, INCLUDE_DELETED],
                   responses=item_envelope("ConfigObjectItem", ConfigObjectSerializer()))
    def retrieve(self, request, config_object_id):
        obj = services.get_config_object(request.principal, config_object_id, include_deleted=wants_deleted(request))
        return item_response(ConfigObjectSerializer(obj).data, headers=_etag(obj.latest_version_id))

    @extend_schema(operation_id="deleteConfigObject", request=None, parameters=[OBJECT_ID], responses={204: None})
    def destroy(self, request, config_object_id):
        services.delete_config_object(request.principal, config_object_id)
        return Response(status=204)

    @extend_schema(operation_id="archiveConfigObject", request=None, parameters=[OBJECT_ID],
                   responses=mutation_envelope("ConfigObjectArchived", ConfigObjectSerializer()))
    def archive(self, request, config_object_id):
        return self._item(services.archive_config_object(request.principal, config_object_id))

    @extend_schema(operation_id="restoreConfigObject", request=None, parameters=[OBJECT_ID],
                   responses=mutation_envelope("ConfigObjectRestored", ConfigObjectSerializer()))
    def restore(self, request, config_object_id):
        return self._item(services.restore_config_object(request.principal, config_object_id))


class ConfigObjectVersionViewSet(mixins.ListModelMixin, ConfigObjectAPI):
    """The immutable versions of one config object, newest first."""

    queryset = ConfigObjectVersion.objects.all()
    serializer_class = VersionSummarySerializer
    organization_field = "config_object__organization"
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self):
        return services.list_versions(self.request.principal, self.kwargs["config_object_id"],
                                      include_deleted=wants_deleted(self.request))

    @extend_schema(operation_id="listConfigObjectVersions", parameters=[OBJECT_ID, INCLUDE_DELETED])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="getConfigObjectVersion", parameters=[OBJECT_ID, VERSION_ID, INCLUDE_DELETED],
                   responses=item_envelope("ConfigObjectVersionItem", VersionSerializer()))
    def retrieve(self, request, config_object_id, version_id):
        version = services.get_version(request.principal, config_object_id, version_id,
                                       include_deleted=wants_deleted(request))
        return item_response(VersionSerializer(version).data)

    @extend_schema(operation_id="getLatestConfigObjectVersion", parameters=[OBJECT_ID, INCLUDE_DELETED],
                   responses=item_envelope("LatestConfigObjectVersionItem", VersionSerializer()))
    def latest(self, request, config_object_id):
        version = services.get_latest_version(request.principal, config_object_id,
                                              include_deleted=wants_deleted(request))
        return item_response(VersionSerializer(version).data, headers=_etag(version.pk))

    @extend_schema(
        operation_id="compareConfigObjectVersions",
        parameters=[text_parameter("from", "The older version id.", VERSION_ID_PATTERN, required=True),
                    text_parameter("to", "The newer version id.", VERSION_ID_PATTERN, required=True),
                    OBJECT_ID, INCLUDE_DELETED],
        responses=item_envelope("ConfigObjectVersionComparison", VersionCompareSerializer()),
    )
    def compare(self, request, config_object_id):
        old, new, diff = services.compare_versions(
            request.principal, config_object_id, request.query_params.get("from"), request.query_params.get("to"),
            include_deleted=wants_deleted(request),
        )
        body = {"fromVersionId": old.pk, "toVersionId": new.pk, "identical": old.sha256 == new.sha256, "diff": diff}
        return item_response(VersionCompareSerializer(body).data)

    @extend_schema(
        operation_id="addConfigObjectVersion", request=NewVersionSerializer, parameters=[OBJECT_ID, IF_MATCH],
        responses={201: NEW_VERSION_RESPONSE, 200: NEW_VERSION_RESPONSE,
                   409: OpenApiResponse(OpenApiTypes.OBJECT, description="Another version was added meanwhile.")},
    )
    def create(self, request, config_object_id):
        serializer = NewVersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bases = services.parse_if_match(request.headers.get("If-Match"))
        if "baseVersionId" in data:  # given both ways, they must agree
            bases = {data["baseVersionId"]} if bases is None else bases & {data["baseVersionId"]}
        version, created = services.add_version(request.principal, config_object_id,
                                                version_input(data["input"], data["reason"]), base_version_ids=bases)
        version = services.get_version(request.principal, config_object_id, version.pk)
        return Response({"ok": True, "created": created, "item": VersionSerializer(version).data},
                        status=201 if created else 200, headers=_etag(version.pk))


ConfigObjectGrantViewSet = grant_viewset(
    "ConfigObject", CONFIG_OBJECT, "config_object_id",
    lambda request, pk: services.lookup_config_object(request.tenant, pk, include_deleted=True).pk,
    "config objects", "A config object id (cfo_...).",
)
