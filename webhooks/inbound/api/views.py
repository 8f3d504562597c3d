"""The public webhook ingress (`POST /api/v1/webhooks/connectors/<provider>`): the signature is the auth."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from webhooks.inbound import services

WebhookAccepted = inline_serializer("WebhookAccepted", {
    "ok": serializers.BooleanField(default=True),
    "accepted": serializers.BooleanField(default=True),
    "deliveryId": serializers.CharField(),
    "event": serializers.CharField(),
    "queued": serializers.IntegerField(help_text="Sync events this delivery queued."),
    "duplicate": serializers.BooleanField(required=False, help_text="Present (true) on a redelivery of a "
                                          "delivery id already stored: nothing was done."),
})
WebhookNotAccepted = inline_serializer("WebhookNotAccepted", {
    "ok": serializers.BooleanField(default=True),
    "accepted": serializers.BooleanField(default=False),
    "reason": serializers.CharField(),
})
WebhookRejected = inline_serializer("WebhookRejected", {
    "ok": serializers.BooleanField(default=False),
    "error": serializers.CharField(),
})
WebhookError = inline_serializer("WebhookError", {
    "error": inline_serializer("WebhookErrorDetail", {
        "code": serializers.CharField(),
        "message": serializers.CharField(),
        "details": serializers.DictField(),
        "requestId": serializers.CharField(allow_null=True),
    }),
})
WebhookForm = inline_serializer("WebhookForm", {
    "payload": serializers.CharField(help_text="The event's JSON payload, URL-encoded."),
})
HEADERS = [
    OpenApiParameter("provider", str, OpenApiParameter.PATH, description="The provider, e.g. `github`."),
    OpenApiParameter("X-Hub-Signature-256", str, OpenApiParameter.HEADER, required=True,
                     description="`sha256=` + hex HMAC-SHA256 of the raw body with the webhook secret."),
    OpenApiParameter("X-GitHub-Event", str, OpenApiParameter.HEADER, required=True,
                     description="Handled: push, installation, installation_repositories, repository."),
    OpenApiParameter("X-GitHub-Delivery", str, OpenApiParameter.HEADER, required=True,
                     description="The delivery's unique id; a redelivery of a stored id does nothing."),
]


class ProviderWebhookView(APIView):
    """Public: no API key, no tenant header, no session (so no CSRF); the provider signs the raw body."""

    authentication_classes = []
    permission_classes = []
    parser_classes = []  # the body is read raw by the service; nothing is parsed before verification
    schema_tags = ["webhooks"]

    @extend_schema(
        operation_id="receiveConnectorWebhook", auth=[], parameters=HEADERS,
        request={
            "application/json": OpenApiTypes.OBJECT,
            "application/x-www-form-urlencoded": WebhookForm,
        },
        responses={
            202: OpenApiResponse(WebhookAccepted, description="Verified and stored; sync work queued."),
            200: OpenApiResponse(WebhookNotAccepted, description="Verified, but missing event or delivery "
                                 "headers, an event that is not handled (ping included), or a delivery of a "
                                 "repository or organization webhook (no installation); kept as ignored."),
            401: OpenApiResponse(WebhookRejected, description="Missing or wrong signature.", examples=[
                OpenApiExample("invalid", {"ok": False, "error": "invalid signature"})]),
            400: OpenApiResponse(WebhookError, description="Malformed JSON, a form body without one "
                                 "`payload` field, or a payload missing a field."),
            404: OpenApiResponse(WebhookError, description="Unknown provider."),
            413: OpenApiResponse(WebhookError, description="Body over WEBHOOK_MAX_BODY_BYTES."),
            500: OpenApiResponse(WebhookError, description="Handling failed; the delivery is kept as failed "
                                 "and a redelivery retries it."),
            503: OpenApiResponse(WebhookError, description="The provider's webhook secret is not set."),
        },
        description=(
            "A provider's webhook delivery. Order: 503 without a configured secret, 413 over the body cap, "
            "401 on a bad signature, 200 (not accepted) without event/delivery headers or for an event not "
            "handled, 400 on malformed JSON, 200 (not accepted) for a payload without an installation, else "
            "202. Each delivery id is stored once. The body is the JSON (`application/json`) or, as GitHub "
            "sends a hook whose content type is form, `payload=<the JSON>` "
            "(`application/x-www-form-urlencoded`); the signature covers the raw body either way."
        ),
    )
    def post(self, request, provider):
        receipt = services.receive_delivery(
            provider, request.headers, request.stream,
            content_length=request.META.get("CONTENT_LENGTH"), max_body_bytes=settings.WEBHOOK_MAX_BODY_BYTES,
        )
        return Response(receipt.body, status=receipt.status)
