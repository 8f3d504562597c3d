"""Plugin gateway endpoints 7-10: set, get, delete and list shared data (the seed's wire format)."""

import re

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from plexica.api.views import TenantAPIView
from plexica.errors import Invalid
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
        entry = services.get_entry(request.tenant, namespace, key)
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
            OpenApiParameter("ownerId", str, description="Only keys owned by this plugin."),
            OpenApiParameter("limit", int, description=f"Page size (1 to {settings.SHAREDDATA_LIST_MAX_KEYS})."),
            OpenApiParameter("cursor", str, description="The nextCursor of the previous page."),
        ],
        responses={200: KeyListSerializer},
    )
    def get(self, request, namespace):
        limit = request.query_params.get("limit")
        # ASCII digits only: "²" is a str.isdigit() digit that int() refuses.
        if limit is not None and (
            not re.fullmatch(r"[0-9]{1,9}", limit) or not 1 <= int(limit) <= settings.SHAREDDATA_LIST_MAX_KEYS
        ):
            raise Invalid(f"limit: must be a whole number from 1 to {settings.SHAREDDATA_LIST_MAX_KEYS}.")
        cursor = request.query_params.get("cursor")
        keys, total, next_cursor = services.list_keys(
            request.tenant, namespace, owner_id=request.query_params.get("ownerId") or None,
            limit=int(limit) if limit else None, after=services.decode_cursor(cursor) if cursor else None,
        )
        body = {"namespace": namespace, "keys": keys, "count": total}
        if next_cursor:
            body["nextCursor"] = next_cursor
        return Response(body)


