"""The organization's webhook endpoints, `/api/v1/webhooks` (Nexus: `{"url", "events", "secret"}`).

Organization admins and org keys manage every endpoint; a plugin's key only those it created; members
are refused (webhooks.outbound.endpoints holds the rules). Reading needs the `api:read` or
`events:subscribe` scope, changing `api:write` or `events:subscribe`.
"""

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response
from plexica.ids import public_id_pattern
from plexica.tenancy.models import ApiKey
from webhooks.outbound import endpoints
from webhooks.outbound.api.serializers import (
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEndpointWithSecretSerializer,
    WebhookSecretRotateSerializer,
    WebhookTestEventSerializer,
)
from webhooks.outbound.filtersets import EndpointFilterSet
from webhooks.outbound.models import WebhookEndpoint

ENDPOINT_ID_PATTERN = public_id_pattern("whe")
ENDPOINT_ID = OpenApiParameter("endpoint_id", {"type": "string", "pattern": ENDPOINT_ID_PATTERN},
                               OpenApiParameter.PATH, description="A webhook endpoint id (whe_...).")
READ_SCOPES = (ApiKey.Scope.API_READ, ApiKey.Scope.API_WRITE, ApiKey.Scope.EVENTS_SUBSCRIBE)
WRITE_SCOPES = (ApiKey.Scope.API_WRITE, ApiKey.Scope.EVENTS_SUBSCRIBE)


class WebhookEndpointViewSet(mixins.ListModelMixin, TenantViewSet):
    """Webhook endpoints: URLs that receive the organization's events, signed with their secret."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    filterset_class = EndpointFilterSet
    cursor_ordering = ("-created_at", "id")
    schema_tags = ["webhooks"]
    required_scopes = {"GET": READ_SCOPES, "HEAD": READ_SCOPES, "OPTIONS": READ_SCOPES,
                       "POST": WRITE_SCOPES, "PATCH": WRITE_SCOPES, "DELETE": WRITE_SCOPES}
    error_statuses = {"test": (409,)}

    def get_queryset(self):
        return endpoints.list_endpoints(self.request.principal)

    @extend_schema(operation_id="listWebhookEndpoints")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createWebhookEndpoint", request=WebhookEndpointCreateSerializer,
                   responses={201: mutation_envelope("WebhookEndpointCreated",
                                                     WebhookEndpointWithSecretSerializer())})
    def create(self, request):
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint, secret = endpoints.create_endpoint(
            request.principal, url=data["url"], events=data["events"], secret=data.get("secret"),
            description=data["description"], enabled=data["enabled"], ordered=data["ordered"],
        )
        endpoint.secret = secret
        return mutation_response(WebhookEndpointWithSecretSerializer(endpoint).data, status=201)

    @extend_schema(operation_id="getWebhookEndpoint", parameters=[ENDPOINT_ID],
                   responses=item_envelope("WebhookEndpointItem", WebhookEndpointSerializer()))
    def retrieve(self, request, endpoint_id):
        endpoint = endpoints.get_endpoint(request.principal, endpoint_id)
        return item_response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="updateWebhookEndpoint", parameters=[ENDPOINT_ID],
                   request=WebhookEndpointUpdateSerializer,
                   responses=mutation_envelope("WebhookEndpointUpdated", WebhookEndpointSerializer()))
    def partial_update(self, request, endpoint_id):
        endpoints.get_endpoint(request.principal, endpoint_id)  # 403 or 404 before the body is judged
        serializer = WebhookEndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = {name: serializer.validated_data[name]
                   for name in ("url", "events", "description", "enabled", "ordered")
                   if name in serializer.validated_data}
        endpoint = endpoints.update_endpoint(request.principal, endpoint_id, **changes)
        return mutation_response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="deleteWebhookEndpoint", parameters=[ENDPOINT_ID], request=None,
                   responses={204: None})
    def destroy(self, request, endpoint_id):
        endpoints.delete_endpoint(request.principal, endpoint_id)
        return Response(status=204)

    @extend_schema(operation_id="rotateWebhookEndpointSecret", parameters=[ENDPOINT_ID],
                   request=WebhookSecretRotateSerializer,
                   responses=mutation_envelope("WebhookEndpointSecretRotated",
                                               WebhookEndpointWithSecretSerializer()))
    def rotate_secret(self, request, endpoint_id):
        endpoints.get_endpoint(request.principal, endpoint_id)
        serializer = WebhookSecretRotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = endpoints.rotate_secret(request.principal, endpoint_id,
                                                   secret=serializer.validated_data.get("secret"))
        endpoint.secret = secret
        return mutation_response(WebhookEndpointWithSecretSerializer(endpoint).data)

    @extend_schema(operation_id="testWebhookEndpoint", parameters=[ENDPOINT_ID], request=None,
                   responses={202: mutation_envelope("WebhookEndpointTestSent",
                                                     WebhookTestEventSerializer())})
    def test(self, request, endpoint_id):
        event = endpoints.send_test_event(request.principal, endpoint_id)
        body = {"eventId": event.public_id, "type": event.type, "endpointId": endpoint_id}
        return mutation_response(WebhookTestEventSerializer(body).data, status=202)


# The id is matched by its prefix, so sibling routes such as webhooks/messages stay free.
_ID = r"(?P<endpoint_id>whe_[^/]+)"

urlpatterns = [
    re_path(r"^webhooks$", WebhookEndpointViewSet.as_view({"get": "list", "post": "create"}),
            name="webhook-endpoint-list"),
    re_path(rf"^webhooks/{_ID}$", WebhookEndpointViewSet.as_view(
        {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}), name="webhook-endpoint-detail"),
    re_path(rf"^webhooks/{_ID}/rotate-secret$", WebhookEndpointViewSet.as_view({"post": "rotate_secret"}),
            name="webhook-endpoint-rotate-secret"),
    re_path(rf"^webhooks/{_ID}/test$", WebhookEndpointViewSet.as_view({"post": "test"}),
            name="webhook-endpoint-test"),
]
