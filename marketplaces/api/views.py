"""Admin API of config objects and their immutable versions (`/api/v1/config-objects`), org admins only."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response

from marketplaces import composition, services
from marketplaces.api.serializers import (
    ConfigObjectSerializer,
    CreateConfigObjectSerializer,
    NewVersionSerializer,
    VersionCompareSerializer,
    VersionSerializer,
    VersionSummarySerializer,
    version_input,
)
from marketplaces.filtersets import ConfigObjectFilterSet
from marketplaces.models import ConfigObject, ConfigObjectVersion
from marketplaces.parsing import MAX_PAYLOAD_BYTES
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access import services as access
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import TenantAccess
from plexica.api.query import bool_parameter, query_bool, text_parameter
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response
from plexica.ids import PATH_ID_PATTERNS

OBJECT_ID = OpenApiParameter("config_object_id", str, OpenApiParameter.PATH, description="A config object id (cfo_...).")
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


def _wants_deleted(request):
    return query_bool(request, "includeDeleted")


def require_object_role(request, obj_or_id, role, doing=None):
    """403 unless the caller holds `role` on the config object (see plexica.access)."""
    pk = getattr(obj_or_id, "pk", obj_or_id)
    return access.require_role(request.principal, CONFIG_OBJECT, pk, role, doing)


def find_object(request, object_id, role, doing=None, include_deleted=False):
    """The config object (404 when it does not exist in this organization), after the role check (403)."""
    obj = services.get_config_object(request.tenant, object_id, include_deleted=include_deleted)
    require_object_role(request, obj, role, doing)
    return obj


class ConfigObjectAPI(TenantViewSet):
    """Open to every principal of the organization; each action checks the caller's role on the resource."""

    schema_tags = ["config objects"]
    permission_classes = [TenantAccess]
    error_statuses = STATE_CONFLICTS
    # Two 1 MiB payloads, JSON-escaped, plus the envelope.
    max_body_bytes = 4 * MAX_PAYLOAD_BYTES + 64 * 1024


class ConfigObjectViewSet(mixins.ListModelMixin, ConfigObjectAPI):
    """Config objects: stable identities whose content lives in immutable versions."""

    queryset = ConfigObject.objects.select_related("created_by")
    serializer_class = ConfigObjectSerializer
    filterset_class = ConfigObjectFilterSet
    cursor_ordering = ("-created_at", "id")
    lookup_url_kwarg = "config_object_id"

    def get_queryset(self):
        queryset = access.restrict(super().get_queryset(), self.request.principal, CONFIG_OBJECT)
        return services.with_latest_version(queryset)

    def _item(self, obj, status=200, mutation=False):
        obj = services.get_config_object(self.request.tenant, obj.pk, include_deleted=True)
        data = ConfigObjectSerializer(obj).data
        respond = mutation_response if mutation else item_response
        return respond(data, status=status, headers=_etag(obj.latest_version_id))

    @extend_schema(operation_id="listConfigObjects")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createConfigObject", request=CreateConfigObjectSerializer,
                   responses={201: mutation_envelope("ConfigObjectCreated", ConfigObjectSerializer())})
    def create(self, request):
        serializer = CreateConfigObjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        access.require_member_capability(request.principal, "Creating a config object")
        obj, _ = composition.create_config_object_in_plugins(
            request.principal, data["type"], data["sourceMode"], version_input(data["input"]), data["pluginIds"]
        )
        return self._item(obj, status=201, mutation=True)

    @extend_schema(operation_id="getConfigObject", parameters=[OBJECT_ID, INCLUDE_DELETED],
                   responses=item_envelope("ConfigObjectItem", ConfigObjectSerializer()))
    def retrieve(self, request, config_object_id):
        obj = find_object(request, config_object_id, access.VIEWER, include_deleted=_wants_deleted(request))
        return item_response(ConfigObjectSerializer(obj).data, headers=_etag(obj.latest_version_id))

    @extend_schema(operation_id="deleteConfigObject", request=None, parameters=[OBJECT_ID], responses={204: None})
    def destroy(self, request, config_object_id):
        find_object(request, config_object_id, access.MANAGER, "Deleting a config object needs the manager role")
        services.delete_config_object(request.principal, config_object_id)
        return Response(status=204)

    @extend_schema(operation_id="archiveConfigObject", request=None, parameters=[OBJECT_ID],
                   responses=mutation_envelope("ConfigObjectArchived", ConfigObjectSerializer()))
    def archive(self, request, config_object_id):
        find_object(request, config_object_id, access.MANAGER, "Archiving a config object needs the manager role")
        return self._item(services.archive_config_object(request.principal, config_object_id), mutation=True)

    @extend_schema(operation_id="restoreConfigObject", request=None, parameters=[OBJECT_ID],
                   responses=mutation_envelope("ConfigObjectRestored", ConfigObjectSerializer()))
    def restore(self, request, config_object_id):
        find_object(request, config_object_id, access.MANAGER, "Restoring a config object needs the manager role",
                    include_deleted=True)
        return self._item(services.restore_config_object(request.principal, config_object_id), mutation=True)


class ConfigObjectVersionViewSet(mixins.ListModelMixin, ConfigObjectAPI):
    """The immutable versions of one config object, newest first."""

    queryset = ConfigObjectVersion.objects.all()
    serializer_class = VersionSummarySerializer
    organization_field = "config_object__organization"
    cursor_ordering = ("-created_at", "-id")

    def config_object(self, role=access.VIEWER, doing=None):
        return find_object(self.request, self.kwargs["config_object_id"], role, doing,
                           include_deleted=_wants_deleted(self.request))

    def get_queryset(self):
        return services.versions_of(self.config_object())

    @extend_schema(operation_id="listConfigObjectVersions", parameters=[OBJECT_ID, INCLUDE_DELETED])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="getConfigObjectVersion", parameters=[OBJECT_ID, VERSION_ID, INCLUDE_DELETED],
                   responses=item_envelope("ConfigObjectVersionItem", VersionSerializer()))
    def retrieve(self, request, config_object_id, version_id):
        version = services.get_version(self.config_object(), version_id)
        return item_response(VersionSerializer(version).data)

    @extend_schema(operation_id="getLatestConfigObjectVersion", parameters=[OBJECT_ID, INCLUDE_DELETED],
                   responses=item_envelope("LatestConfigObjectVersionItem", VersionSerializer()))
    def latest(self, request, config_object_id):
        obj = self.config_object()
        version = services.get_version(obj, obj.latest_version_id)
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
            self.config_object(), request.query_params.get("from"), request.query_params.get("to")
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
        self.config_object(access.EDITOR, "Adding a version needs the editor role")
        bases = services.parse_if_match(request.headers.get("If-Match"))
        if "baseVersionId" in data:  # given both ways, they must agree
            bases = {data["baseVersionId"]} if bases is None else bases & {data["baseVersionId"]}
        version, created = services.add_version(request.principal, config_object_id,
                                                version_input(data["input"], data["reason"]), base_version_ids=bases)
        version = services.get_version(version.config_object, version.pk)
        return Response({"ok": True, "created": created, "item": VersionSerializer(version).data},
                        status=201 if created else 200, headers=_etag(version.pk))
