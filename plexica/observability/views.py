"""GET /metrics (and the seed's /ext/observability/metrics): the Prometheus text exposition.

Protected by a bearer token, METRICS_TOKEN, compared in constant time. Without one it is open in the embedded
mode only (one machine, one process); in full mode it refuses, saying what to set (plexica.checks warns too).
No session or tenant: the series cover every organization, and what they carry is bounded, non-secret labels.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.views import APIView

from plexica.observability.metrics import CONTENT_TYPE, exposition

_CHALLENGE = 'Bearer realm="metrics"'
_Refusal = inline_serializer("MetricsRefusal", {"error": serializers.CharField(), "message": serializers.CharField()})


class _PrometheusText(BaseRenderer):
    media_type = "text/plain"
    format = "txt"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


def metrics_refusal(request):
    """None when `request` may read the metrics, else the 401 (or 404 while METRICS_ENABLED is off)."""
    if not settings.METRICS_ENABLED:
        return JsonResponse({"error": "Not found", "message": "Metrics are off (METRICS_ENABLED=0)."}, status=404)
    token = settings.METRICS_TOKEN
    if not token:
        if not settings.REDIS_URL:
            return None  # the embedded mode: open
        return _unauthorized("METRICS_TOKEN is not set: in full mode /metrics is closed until it is "
                             "(send it as Authorization: Bearer <token>).")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _unauthorized("Send the metrics token as Authorization: Bearer <METRICS_TOKEN>.")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _unauthorized("The metrics token is not valid.", error="invalid_token")
    return None


def _unauthorized(message, error=None):
    response = JsonResponse({"error": "Unauthorized", "message": message}, status=401)
    response["WWW-Authenticate"] = _CHALLENGE + (f', error="{error}"' if error else "")
    return response


class MetricsView(APIView):
    """Every series in the Prometheus text format (see README-metrics.md for the list)."""

    authentication_classes = []
    permission_classes = []
    renderer_classes = [_PrometheusText]  # the refusals are JsonResponses of their own
    schema_tags = ["ops"]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)  # whatever Accept says: the text

    @extend_schema(
        summary="Prometheus metrics",
        description="The text exposition format 0.0.4. Needs `Authorization: Bearer <METRICS_TOKEN>` when that "
                    "is set; without it open in the embedded mode only, and refused (401) in full mode.",
        responses={
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The series."),
            (401, "application/json"): OpenApiResponse(_Refusal, description="Token missing or wrong, or not "
                                                       "configured in full mode (`WWW-Authenticate: Bearer`)."),
            (404, "application/json"): OpenApiResponse(_Refusal, description="METRICS_ENABLED is off."),
        },
    )
    def get(self, request):
        refusal = metrics_refusal(request)
        if refusal is not None:
            return refusal
        return HttpResponse(exposition(), content_type=CONTENT_TYPE)
