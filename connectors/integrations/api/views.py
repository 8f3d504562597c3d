"""/api/v1/integrations: definitions, instances, OAuth2, credentials and method execution (the seed
integration-service-api.md), and an instance's access grants (who of the members may execute its methods).
Views are thin: each calls one service function with the request's principal.

Errors answer `{"error": {"code", "message", "details", "requestId"}}` with the seed's upper-case codes.
Rate limits per key and minute (the seed's): reads 100, writes 50 (INTEGRATION_API_*_PER_MINUTE), with
`X-RateLimit-*` headers; a method's execution is also limited by its own `rateLimits`.
"""

import time

from django.conf import settings
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from connectors.integrations import definitions, execution, instances
from connectors.integrations.api import serializers as s
from connectors.integrations.models import IntegrationDefinition, IntegrationExecution, IntegrationInstance
from connectors.sharing import INTEGRATION_INSTANCE
from plexica.access.api.views import grant_viewset
from plexica.api.errors import RateLimited
from plexica.api.pagination import PagePagination
from plexica.api.query import (
    bool_parameter,
    choice_parameter,
    query_bool,
    query_choice,
    query_text,
    text_parameter,
)
from plexica.api.ratelimit import PERIOD_SECONDS, RequestRateLimit
from plexica.api.views import TenantAPIView
from plexica.tenancy.models import ApiKey
from plexica.work.ratelimit import Bucket, hit_many

READ = (ApiKey.Scope.API_READ, ApiKey.Scope.API_WRITE)
WRITE = (ApiKey.Scope.API_WRITE,)
SCOPES = {"GET": READ, "HEAD": READ, "OPTIONS": READ, "POST": WRITE, "PUT": WRITE, "PATCH": WRITE, "DELETE": WRITE}
TAGS = ["integrations"]


class IntegrationAPIView(TenantAPIView):
    required_scopes = SCOPES
    schema_tags = TAGS

    def enforce_rate_limits(self, request):
        if not settings.RATELIMIT_ENABLED:
            return
        principal = request.principal
        credential = principal.api_key.pk if principal.api_key is not None else f"user:{principal.user.pk}"
        reads = request.method in ("GET", "HEAD", "OPTIONS")
        limit = settings.INTEGRATION_API_READS_PER_MINUTE if reads else settings.INTEGRATION_API_WRITES_PER_MINUTE
        bucket = Bucket(f"integrations:{'read' if reads else 'write'}:{credential}", limit, PERIOD_SECONDS)
        now = time.time()
        state = RequestRateLimit(hit_many([bucket], now=now)[0], now)
        request.rate_limit = state
        if state.exceeded:
            raise RateLimited(f"Rate limit of {state.limit} {'reads' if reads else 'writes'} per minute exceeded.",
                              retry_after=state.retry_after)


def page(view, request, queryset, body):
    paginator = PagePagination()
    rows = paginator.paginate_queryset(queryset, request, view)
    return paginator.get_paginated_response([body(row) for row in rows])


SEARCH = text_parameter("search", "Text search across name and description (name only for instances).")


# Definitions


class DefinitionListView(IntegrationAPIView):
    queryset = IntegrationDefinition.objects.none()  # for the schema; rows come from the services
    pagination_class = PagePagination
    error_statuses = {"POST": (409,)}

    @extend_schema(operation_id="listIntegrationDefinitions", summary="List integration definitions",
                   parameters=[SEARCH, choice_parameter("status", IntegrationDefinition.Status.values, "Only this status."),
                               text_parameter("type", "Only this integration type (e.g. `http`).")],
                   responses=s.DefinitionSummarySerializer(many=True))
    def get(self, request):
        queryset = definitions.visible(request.principal)
        search = query_text(request, "search")
        if search:
            queryset = queryset.filter(Q(name__icontains=search) | Q(description__icontains=search))
        status = query_choice(request, "status", IntegrationDefinition.Status.values)
        if status:
            queryset = queryset.filter(status=status)
        kind = query_text(request, "type")
        if kind:
            queryset = queryset.filter(type=kind)
        return page(self, request, queryset.order_by("name", "version", "pk"), s.definition_summary)

    @extend_schema(operation_id="createIntegrationDefinition", summary="Create an integration definition (DRAFT)",
                   request=s.DefinitionWriteSerializer, responses={201: s.DefinitionSerializer})
    def post(self, request):
        serializer = s.DefinitionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = definitions.create(request.principal, platform=serializer.validated_data["platform"],
                                        **serializer.service_fields())
        return Response(s.definition_body(definition), status=201)


class DefinitionDetailView(IntegrationAPIView):
    error_statuses = {"PATCH": (409,), "DELETE": (409,)}

    @extend_schema(operation_id="getIntegrationDefinition", summary="Get an integration definition",
                   responses=s.DefinitionSerializer)
    def get(self, request, definition_id):
        return Response(s.definition_body(definitions.get(request.principal, definition_id)))

    @extend_schema(operation_id="updateIntegrationDefinition", summary="Change a DRAFT definition",
                   request=s.DefinitionUpdateSerializer, responses=s.DefinitionSerializer)
    def patch(self, request, definition_id):
        definitions.get(request.principal, definition_id)  # 404 before the body is judged
        serializer = s.DefinitionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        definition = definitions.update(request.principal, definition_id, **serializer.service_fields(given_only=True))
        return Response(s.definition_body(definition))

    @extend_schema(operation_id="deleteIntegrationDefinition", summary="Delete a definition no instance uses",
                   request=None, responses={204: None})
    def delete(self, request, definition_id):
        definitions.delete(request.principal, definition_id)
        return Response(status=204)


def transition_view(to, verb):
    """The view of one lifecycle transition (POST .../publish, .../deprecate, .../archive)."""

    @extend_schema(operation_id=f"{verb}IntegrationDefinition", request=None, summary=f"Move a definition to {to}",
                   responses=s.DefinitionSerializer,
                   description=f"Allowed from {', '.join(definitions.TRANSITIONS[to])}; otherwise 409.")
    def post(self, request, definition_id):
        return Response(s.definition_body(definitions.transition(request.principal, definition_id, to)))

    return type(f"Definition{verb.title()}View", (IntegrationAPIView,), {"post": post, "error_statuses": (409,)})


# Instances


class InstanceListView(IntegrationAPIView):
    queryset = IntegrationInstance.objects.none()
    pagination_class = PagePagination
    error_statuses = {"POST": (409,)}

    @extend_schema(operation_id="listIntegrationInstances", summary="List integration instances",
                   parameters=[SEARCH, choice_parameter("status", IntegrationInstance.Status.values, "Only this status."),
                               text_parameter("definitionId", "Only instances of this definition (idef_...).")],
                   responses=s.InstanceSummarySerializer(many=True))
    def get(self, request):
        queryset = instances.visible(request.principal)
        search = query_text(request, "search")
        if search:
            queryset = queryset.filter(name__icontains=search)
        status = query_choice(request, "status", IntegrationInstance.Status.values)
        if status:
            queryset = queryset.filter(status=status)
        definition_id = query_text(request, "definitionId")
        if definition_id:
            queryset = queryset.filter(definition_id=definition_id)
        return page(self, request, queryset.order_by("name", "pk"), s.instance_summary)

    @extend_schema(operation_id="createIntegrationInstance", summary="Create an integration instance",
                   request=s.InstanceCreateSerializer, responses={201: s.InstanceSerializer})
    def post(self, request):
        serializer = s.InstanceCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        instance = instances.create(request.principal, definition_id=data["integrationDefinitionId"],
                                    name=data["name"], config=data["config"])
        return Response(s.instance_body(instance), status=201)


class InstanceDetailView(IntegrationAPIView):
    error_statuses = {"PATCH": (409,)}

    @extend_schema(operation_id="getIntegrationInstance", summary="Get an integration instance",
                   responses=s.InstanceSerializer)
    def get(self, request, integration_instance_id):
        return Response(s.instance_body(instances.get(request.principal, integration_instance_id)))

    @extend_schema(operation_id="updateIntegrationInstance", summary="Rename, reconfigure or move an instance",
                   request=s.InstanceUpdateSerializer, responses=s.InstanceSerializer)
    def patch(self, request, integration_instance_id):
        instances.get(request.principal, integration_instance_id)
        serializer = s.InstanceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        instance = instances.update(request.principal, integration_instance_id, name=data.get("name"), config=data.get("config"),
                                    definition_id=data.get("integrationDefinitionId"))
        return Response(s.instance_body(instance))

    @extend_schema(operation_id="deleteIntegrationInstance", summary="Delete an instance", request=None,
                   responses={204: None})
    def delete(self, request, integration_instance_id):
        instances.delete(request.principal, integration_instance_id)
        return Response(status=204)


class CredentialsView(IntegrationAPIView):
    error_statuses = (409, 502, 504)

    @extend_schema(operation_id="setIntegrationCredentials", summary="Set an api_key or basic instance's credentials",
                   request=s.CredentialsSerializer, responses=s.InstanceSerializer,
                   description="`{\"apiKey\"}` for authType api_key, `{\"username\", \"password\"}` for basic; "
                               "stored encrypted, never returned. `{}` connects an OAuth2 client credentials "
                               "instance (a token is fetched now: the provider's refusal is a 502 AUTH_ERROR).")
    def put(self, request, integration_instance_id):
        instances.get(request.principal, integration_instance_id)
        serializer = s.CredentialsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = instances.set_credentials(request.principal, integration_instance_id, dict(serializer.validated_data))
        return Response(s.instance_body(instance))


class DisconnectView(IntegrationAPIView):
    @extend_schema(operation_id="disconnectIntegrationInstance", summary="Disconnect (drop the credentials)",
                   request=None, responses=s.InstanceSerializer)
    def post(self, request, integration_instance_id):
        return Response(s.instance_body(instances.disconnect(request.principal, integration_instance_id)))


class OAuthStartView(IntegrationAPIView):
    error_statuses = (409,)

    @extend_schema(operation_id="startIntegrationOAuth2", summary="Start the OAuth2 authorization (PKCE S256)",
                   request=s.OAuthStartSerializer, responses=s.OAuthStartAnswer,
                   description="`state` is single-use, bound to this instance and organization, and expires in "
                               "10 minutes.")
    def post(self, request, integration_instance_id):
        from connectors.integrations import oauth

        instances.get(request.principal, integration_instance_id)
        serializer = s.OAuthStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url, state = oauth.start(request.principal, integration_instance_id, serializer.validated_data["redirectUri"])
        return Response({"authorizationUrl": url, "state": state})


class OAuthCallbackView(IntegrationAPIView):
    error_statuses = (409, 502, 504)

    @extend_schema(operation_id="completeIntegrationOAuth2", summary="Complete the OAuth2 authorization",
                   request=s.OAuthCallbackSerializer, responses=s.OAuthCallbackAnswer,
                   description="Exchanges the code at the definition's tokenUrl; a replayed, expired or foreign "
                               "state is refused.")
    def post(self, request, integration_instance_id):
        from connectors.integrations import oauth

        instances.get(request.principal, integration_instance_id)
        serializer = s.OAuthCallbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = oauth.callback(request.principal, integration_instance_id, serializer.validated_data["code"],
                                  serializer.validated_data["state"])
        return Response({"status": "SUCCESS", "integrationInstanceId": instance.pk})


class ExecuteView(IntegrationAPIView):
    error_statuses = (409, 502, 503, 504)

    @extend_schema(
        operation_id="executeIntegrationMethod", summary="Execute a method",
        parameters=[bool_parameter("async", "Answer 202 with the execution at once instead of waiting for it.")],
        request=s.ExecuteSerializer,
        responses={200: s.ExecuteAnswer, 202: OpenApiResponse(s.ExecutionSerializer, description="Queued.")},
        description=(
            "Validates `parameters` against the method's paramSchema (400 VALIDATION_ERROR with each failing JSON "
            "pointer), charges the method's rate limit (429 RATE_LIMIT_EXCEEDED with `Retry-After` and "
            "`X-RateLimit-*`: Limit is the burst, Reset when the bucket is full again), asks its circuit "
            "breaker (503 CIRCUIT_OPEN), then runs in a worker within the method's timeoutMs, retries "
            "included. A provider error is 502 INTEGRATION_ERROR with `details {statusCode, response}`; "
            "refused credentials 502 AUTH_ERROR (409 when the instance needs reconnecting); a timeout 504 "
            "EXECUTION_ERROR; an instance that is not CONNECTED 409 INSTANCE_NOT_CONNECTED."),
    )
    def post(self, request, integration_instance_id, method_name):
        is_async = query_bool(request, "async")
        serializer = s.ExecuteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run, headers = execution.execute(request.principal, integration_instance_id, method_name,
                                         serializer.validated_data["parameters"], is_async=is_async)
        if is_async:
            return Response(s.execution_body(run), status=202, headers=headers)
        body = {"status": "SUCCESS", "data": (run.result or {}).get("data"), "executionId": run.pk}
        if run.warnings:
            body["warnings"] = run.warnings
        return Response(body, headers=headers)

    def finalize_response(self, request, response, *args, **kwargs):
        # The method's own limit (set by the view on success, or carried by a refusal) wins over the API's.
        own = {k: v for k, v in response.items() if k.startswith("X-RateLimit-")}
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in own.items():
            response[header] = value
        return response


class ExecutionListView(IntegrationAPIView):
    queryset = IntegrationExecution.objects.none()
    pagination_class = PagePagination

    @extend_schema(operation_id="listIntegrationExecutions", summary="An instance's executions, newest first",
                   parameters=[choice_parameter("status", IntegrationExecution.Status.values, "Only this status."),
                               text_parameter("method", "Only this method.")],
                   responses=s.ExecutionSerializer(many=True))
    def get(self, request, integration_instance_id):
        instance = instances.get(request.principal, integration_instance_id)
        queryset = IntegrationExecution.objects.filter(organization=request.principal.organization, instance=instance)
        status = query_choice(request, "status", IntegrationExecution.Status.values)
        if status:
            queryset = queryset.filter(status=status)
        method = query_text(request, "method")
        if method:
            queryset = queryset.filter(method=method)
        return page(self, request, queryset.order_by("-created_at", "pk"), s.execution_body)


class ExecutionDetailView(IntegrationAPIView):
    @extend_schema(operation_id="getIntegrationExecution", summary="Get an execution (an async one's data too)",
                   responses=s.ExecutionSerializer)
    def get(self, request, integration_instance_id, execution_id):
        run = execution.get_execution(request.principal, integration_instance_id, execution_id)
        return Response(s.execution_body(run, with_data=run.is_async))


# Who of the members may execute an instance's methods (the editor role); the access service's rules.
InstanceGrantViewSet = grant_viewset(
    "IntegrationInstance", INTEGRATION_INSTANCE, "integration_instance_id",
    lambda request, pk: instances.get(request.principal, pk).pk,
    TAGS[0], "An integration instance id (iins_...).",
)
