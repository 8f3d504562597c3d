from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from gateway.api.serializers import CallResponseSerializer, CallSerializer
from gateway.services import call_plugin
from plexica.api.views import TenantAPIView

# Statuses that cannot carry our JSON envelope are answered 200; the envelope keeps the real one.
_ENVELOPE_UNSAFE = {204, 304}


class CallView(TenantAPIView):
    schema_tags = ["plugin gateway: calls"]
    accepts_nul_characters = True  # the call's body is the upstream's business, passed on as given
    error_statuses = (404, 502, 503, 504)  # no such target service or endpoint; upstream failures
    upstream_answer = CallResponseSerializer  # any status may also be the upstream's own, in the envelope
    # A key with `ext:{pluginId}:routes` scopes may call those plugins without the gateway scope (the service
    # refuses any other target with a 403 naming the scope).
    plugin_routes_scopes_admit = True

    @extend_schema(
        operation_id="callPluginApi",
        request=CallSerializer,
        responses={
            200: CallResponseSerializer,
            "default": OpenApiResponse(CallResponseSerializer, description="The upstream's own status, passed on."),
        },
        description=(
            "Call an endpoint of another plugin's service. The answer carries the upstream's status code, "
            "parsed body and headers. A key carrying `ext:{pluginId}:routes` scopes may call only those "
            "plugins: another target is a 403 whose `required_scopes` names the scope it needs."
        ),
    )
    def post(self, request):
        serializer = CallSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = call_plugin(
            request.principal, serializer.call_request(), request_id=request._request.request_id,
            traceparent=request.headers.get("traceparent"),
        )
        status = 200 if result.status in _ENVELOPE_UNSAFE or result.status < 200 else result.status
        return Response({"status": result.status, "data": result.data, "headers": result.headers}, status=status)
