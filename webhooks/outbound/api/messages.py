"""An endpoint's messages and their attempts, redelivery and recovery:
`/api/v1/webhooks/{endpoint_id}/messages...` and `/api/v1/webhooks/{endpoint_id}/recover`.

Whoever may manage the endpoint (webhooks.outbound.endpoints) reads and redelivers its messages; the rules
are webhooks.outbound.messages'. Reading needs `api:read` or `events:subscribe`, redelivering and
recovering `api:write` or `events:subscribe`.
"""

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response
from plexica.ids import public_id_pattern
from webhooks.outbound import messages
from webhooks.outbound.api.endpoints import ENDPOINT_ID, READ_SCOPES, WRITE_SCOPES
from webhooks.outbound.api.message_serializers import (
    RecoveredSerializer,
    RecoverSerializer,
    WebhookAttemptSerializer,
    WebhookMessageDetailSerializer,
    WebhookMessageSerializer,
)
from webhooks.outbound.message_filtersets import MessageFilterSet
from webhooks.outbound.models import WebhookAttempt, WebhookMessage

MESSAGE_ID = OpenApiParameter("message_id", {"type": "string", "pattern": public_id_pattern("msg")},
                              OpenApiParameter.PATH, description="A message id (msg_...), its `webhook-id`.")
DETAIL_ATTEMPTS = 50
SCOPES = {"GET": READ_SCOPES, "HEAD": READ_SCOPES, "OPTIONS": READ_SCOPES, "POST": WRITE_SCOPES}


class WebhookMessageViewSet(mixins.ListModelMixin, TenantViewSet):
    """The messages of one endpoint: each event it was sent, with its status and attempts."""

    queryset = WebhookMessage.objects.all()
    serializer_class = WebhookMessageSerializer
    filterset_class = MessageFilterSet
    cursor_ordering = ("-created_at", "id")
    schema_tags = ["webhooks"]
    required_scopes = SCOPES
    error_statuses = {"redeliver": (409,)}

    def get_queryset(self):
        return messages.list_messages(self.request.principal, self.kwargs["endpoint_id"])

    @extend_schema(operation_id="listWebhookMessages", parameters=[ENDPOINT_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _detail(self, request, endpoint_id, message):
        attempts = list(WebhookAttempt.objects.filter(message=message).order_by("-number")[:DETAIL_ATTEMPTS])
        return WebhookMessageDetailSerializer(message, context={"attempts": attempts}).data

    @extend_schema(operation_id="getWebhookMessage", parameters=[ENDPOINT_ID, MESSAGE_ID],
                   responses=item_envelope("WebhookMessageItem", WebhookMessageDetailSerializer()))
    def retrieve(self, request, endpoint_id, message_id):
        message = messages.get_message(request.principal, endpoint_id, message_id)
        return item_response(self._detail(request, endpoint_id, message))

    @extend_schema(operation_id="redeliverWebhookMessage", request=None, parameters=[ENDPOINT_ID, MESSAGE_ID],
                   responses={202: mutation_envelope("WebhookMessageRedelivered", WebhookMessageSerializer())})
    def redeliver(self, request, endpoint_id, message_id):
        message = messages.redeliver(request.principal, endpoint_id, message_id)
        return Response({"ok": True, "item": WebhookMessageSerializer(message).data}, status=202)


class WebhookAttemptViewSet(mixins.ListModelMixin, TenantViewSet):
    """The attempts of one message, newest first."""

    queryset = WebhookAttempt.objects.all()
    serializer_class = WebhookAttemptSerializer
    cursor_ordering = ("-started_at", "-id")
    schema_tags = ["webhooks"]
    required_scopes = SCOPES

    def get_queryset(self):
        return messages.list_attempts(self.request.principal, self.kwargs["endpoint_id"], self.kwargs["message_id"])

    @extend_schema(operation_id="listWebhookAttempts", parameters=[ENDPOINT_ID, MESSAGE_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class WebhookRecoverViewSet(TenantViewSet):
    """Send an endpoint's failed messages again."""

    queryset = WebhookMessage.objects.none()
    serializer_class = RecoverSerializer
    schema_tags = ["webhooks"]
    required_scopes = SCOPES
    error_statuses = (409,)

    @extend_schema(operation_id="recoverWebhookMessages", request=RecoverSerializer, parameters=[ENDPOINT_ID],
                   responses={202: mutation_envelope("WebhookMessagesRecovered", RecoveredSerializer())})
    def create(self, request, endpoint_id):
        serializer = RecoverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        since = serializer.validated_data["since"]
        count = messages.recover(request.principal, endpoint_id, since)
        body = RecoveredSerializer({"endpointId": endpoint_id, "since": since, "recovered": count}).data
        return Response({"ok": True, "item": body}, status=202)


_ENDPOINT = r"(?P<endpoint_id>whe_[^/]+)"
_MESSAGE = r"(?P<message_id>msg_[^/]+)"

urlpatterns = [
    re_path(rf"^webhooks/{_ENDPOINT}/messages$", WebhookMessageViewSet.as_view({"get": "list"}),
            name="webhook-message-list"),
    re_path(rf"^webhooks/{_ENDPOINT}/messages/{_MESSAGE}$", WebhookMessageViewSet.as_view({"get": "retrieve"}),
            name="webhook-message-detail"),
    re_path(rf"^webhooks/{_ENDPOINT}/messages/{_MESSAGE}/redeliver$",
            WebhookMessageViewSet.as_view({"post": "redeliver"}), name="webhook-message-redeliver"),
    re_path(rf"^webhooks/{_ENDPOINT}/messages/{_MESSAGE}/attempts$",
            WebhookAttemptViewSet.as_view({"get": "list"}), name="webhook-attempt-list"),
    re_path(rf"^webhooks/{_ENDPOINT}/recover$", WebhookRecoverViewSet.as_view({"post": "create"}),
            name="webhook-recover"),
]
