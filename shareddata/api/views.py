"""Plugin gateway endpoints 7-10: set, get, delete and list shared data (the seed's wire format)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from plexica.api.query import query_text, query_whole_number, text_parameter, whole_number_parameter
from plexica.api.views import TenantAPIView
from registry.api.serializers import SuccessSerializer
from shareddata import services
from shareddata.api.serializers import KeyListSerializer, SetSharedDataSerializer, SharedEntrySerializer

IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=False,
    description="Only act if the entry's ETag still matches (read-modify-write without lost updates).",
)


def _etag_header(entry):
    return {"ETag": f'"{entry.etag}"'}


class SharedDataView(TenantAPIView):
    schema_tags = ["plugin gateway: shared data"]


class SetSharedDataView(SharedDataView):
    error_statuses = (412,)
    @property
    def max_body_bytes(self):
        return settings.SHAREDDATA_MAX_VALUE_BYTES + 64 * 1024

    @extend_schema(operation_id="setSharedData", request=SetSharedDataSerializer, parameters=[IF_MATCH],
                   responses={201: SuccessSerializer})
    def post(self, request):
        serializer = SetSharedDataSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry, _ = services.set_entry(request.principal, serializer.write(), if_match=request.headers.get("If-Match"))
        return Response({"success": True, "message": "Data stored successfully"}, status=201,
                        headers=_etag_header(entry))


class SharedEntryView(SharedDataView):
    error_statuses = {"DELETE": (412,)}
    @extend_schema(operation_id="getSharedData", responses={200: SharedEntrySerializer})
    def get(self, request, namespace, key):
        entry = services.get_entry(request.principal, namespace, key)
        body = {"namespace": entry.namespace, "key": entry.key, "value": entry.value,
                "ownerId": entry.owner.plugin_id, "expiresAt": entry.expires_at}
        return Response(SharedEntrySerializer(body).data, headers=_etag_header(entry))

    @extend_schema(operation_id="deleteSharedData", parameters=[IF_MATCH], responses={200: SuccessSerializer})
    def delete(self, request, namespace, key):
        services.delete_entry(request.principal, namespace, key, if_match=request.headers.get("If-Match"))
        return Response({"success": True, "message": "Data deleted successfully"})


class ListKeysView(SharedDataView):
    @extend_schema(
        operation_id="listSharedDataKeys",
        parameters=[
            text_parameter("ownerId", "Only keys owned by this plugin."),
            whole_number_parameter("limit", 1, settings.SHAREDDATA_LIST_MAX_KEYS,
                                   f"Page size (1 to {settings.SHAREDDATA_LIST_MAX_KEYS})."),
            text_parameter("cursor", "The nextCursor of the previous page."),
        ],
        responses={200: KeyListSerializer},
    )
    def get(self, request, namespace):
        limit = query_whole_number(request, "limit", 1, settings.SHAREDDATA_LIST_MAX_KEYS)
        cursor = query_text(request, "cursor")
        keys, total, next_cursor = services.list_keys(
            request.principal, namespace, owner_id=query_text(request, "ownerId"), limit=limit,
            after=services.decode_cursor(cursor) if cursor is not None else None,
        )
        body = {"namespace": namespace, "keys": keys, "count": total}
        if next_cursor:
            body["nextCursor"] = next_cursor
        return Response(body)


