"""POST/GET /api/v1/events and GET /api/v1/events/{id}: emit a custom event, read the organization's log.

Open to org keys, owners, admins, superusers and plugin keys (plexica.events.services says who may what);
a plain member is refused with a 403 before a body or a filter is read. Scopes: `events:emit` to emit;
`api:read` (or `api:write`) or `events:subscribe` to read.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions

from plexica.api.openapi_errors import error_serializer
from plexica.api.query import query_choice
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantAPIView, item_response, mutation_response
from plexica.events import services
from plexica.events.api.serializers import EmitEventSerializer, EventSerializer
from plexica.events.filtersets import ORDERS, EventFilterSet
from plexica.events.models import Event
from plexica.tenancy.models import ApiKey

READ_SCOPES = (ApiKey.Scope.API_WRITE, ApiKey.Scope.API_READ, ApiKey.Scope.EVENTS_SUBSCRIBE)
EVENT_ID = OpenApiParameter("event_id", {"type": "string", "pattern": services.EVENT_ID_PATTERN},
                            OpenApiParameter.PATH, description="An event id (evt_...).")
IDEMPOTENCY_KEY = OpenApiParameter(
    services.IDEMPOTENCY_HEADER, {"type": "string", "pattern": services.IDEMPOTENCY_KEY_PATTERN},
    OpenApiParameter.HEADER, required=False,
    description=("Any unique string of yours (1 to 255 printable ASCII characters, a UUID for instance): a retry "
                 "with the same key and the same body answers with the event the first request recorded "
                 "(`Idempotent-Replayed: true`) instead of emitting a second one; the same key with another "
                 "body is a 409. Keys are per caller and live as long as their event."),
)
REPLAYED = OpenApiParameter(
    "Idempotent-Replayed", {"type": "string", "enum": ["true"]}, OpenApiParameter.HEADER, response=[201],
    description="Present when the answer is the first one of an earlier request with this Idempotency-Key.",
)


class EventLogAccess(permissions.BasePermission):
    """The services' rule (plexica.events.services.require_log_access), checked before a body is read."""

    def has_permission(self, request, view):
        principal = getattr(request, "principal", None)
        if principal is None:
            return False
        doing = "Emitting an event" if request.method == "POST" else "Reading the event log"
        services.require_log_access(principal, doing)
        return True


class EventAPI(TenantAPIView):
    schema_tags = ["events"]
    permission_classes = [*TenantAPIView.permission_classes, EventLogAccess]
    required_scopes = {"GET": READ_SCOPES, "HEAD": READ_SCOPES, "POST": (ApiKey.Scope.EVENTS_EMIT,)}
    queryset = Event.objects.none()
    serializer_class = EventSerializer


class EventListView(mixins.ListModelMixin, EventAPI):
    """The organization's events, newest first; emit a custom event."""

    filterset_class = EventFilterSet
    error_statuses = {"POST": (409, 413)}

    @property
    def cursor_ordering(self):
        # Positions are unique per organization: the cursor needs nothing else.
        ascending = query_choice(self.request, "order", [value for value, _ in ORDERS], default="desc") == "asc"
        return ("position",) if ascending else ("-position",)

    def get_queryset(self):
        return services.list_events(self.request.principal)

    @extend_schema(operation_id="listEvents", description=(
        "The organization's events, newest first (`order=asc`: oldest first), in pages of `{items, nextCursor}`. "
        "To follow the log by polling, pass the last `position` seen as `after` with `order=asc`."))
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(
        operation_id="emitEvent", request=EmitEventSerializer, description=(
            "Emit a custom event, recorded in the organization's log (and delivered to its webhooks and "
            "streams) with the caller as its actor. Needs the `events:emit` scope."), parameters=[IDEMPOTENCY_KEY, REPLAYED],
        responses={
            201: mutation_envelope("EventEmitted", EventSerializer()),
            413: OpenApiResponse(error_serializer("/api/v1/events", 413), description=(
                "The body is over the request size limit, or `data` over EVENTS_MAX_DATA_BYTES (`details.field` "
                "is `data`, with `limit` and `size`).")),
            409: OpenApiResponse(error_serializer("/api/v1/events", 409), description=(
                "`idempotency_key_reused`: the Idempotency-Key was used by an earlier request with another "
                "type, subject or data (`details.eventId` is the event it recorded).")),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = EmitEventSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = request.headers.get(services.IDEMPOTENCY_HEADER)
        event, replayed = services.emit_custom(request.principal, data["type"], data=data["data"],
                                               subject=serializer.subject_tuple(), idempotency_key=key)
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return mutation_response(EventSerializer(event).data, status=201, headers=headers)


class EventDetailView(EventAPI):
    """One event of the organization."""

    @extend_schema(operation_id="getEvent", parameters=[EVENT_ID],
                   responses=item_envelope("EventItem", EventSerializer()))
    def get(self, request, event_id):
        return item_response(EventSerializer(services.get_event(request.principal, event_id)).data)
