"""GET /api/v1/events/stream: the organization's events as Server-Sent Events, resumable with Last-Event-ID."""

from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer

from plexica.api.query import MUST_NOT_BE_EMPTY, query_text, query_whole_number, text_parameter, whole_number_parameter
from plexica.api.views import TenantAPIView
from plexica.events import stream
from plexica.events.patterns import FILTER_PATTERN
from plexica.ids import public_id_pattern
from plexica.tenancy.models import ApiKey

_FILTER = FILTER_PATTERN.removeprefix("^").removesuffix("$")
TYPE_FILTERS_PATTERN = f"^{_FILTER}(,{_FILTER})*$"
EVENT_ID_PATTERN = public_id_pattern("evt")
MAX_EVENTS = 100_000
MAX_SECONDS = 86_400

STREAM_DESCRIPTION = f"""\
The organization's events as they commit, as `text/event-stream` (Server-Sent Events). Each event is

    id: evt_...
    event: <type>
    data: {{"id", "type", "occurredAt", "actor", "subject", "data", "requestId", "position"}}

in position order; a `: heartbeat` comment comes every `EVENTS_STREAM_HEARTBEAT_SECONDS` (15 by default)
while nothing else is sent, and the stream opens with a `retry: {stream.RETRY_MILLISECONDS}` hint.

Without `Last-Event-ID` the stream starts from now. With it (the header, which an `EventSource` sends on
its own when it reconnects, or the `lastEventId` parameter for clients that cannot set headers; the header
wins) the stream resumes right after that event: no gap and no duplicate, even when the live buffer has
moved past it (the rest is read from the log). An id that names no event of this organization (unknown,
another organization's, or purged by retention) is a 400 `unknown_last_event_id`.

Needs the `events:subscribe` scope; org keys, owners, admins, superusers and plugin keys may follow it, a
member may not (403). The stream does not end on its own; `maxEvents` and `maxSeconds` end it for
clients that want a bounded answer (scripts, tests)."""


class EventStreamRenderer(JSONRenderer):
    """Documents the 200's media type; errors are JSON whatever the Accept header asked for."""

    media_type = "text/event-stream"
    format = "event-stream"


class EventStreamView(TenantAPIView):
    required_scopes = {"GET": (ApiKey.Scope.EVENTS_SUBSCRIBE,)}
    schema_tags = ["Events"]

    def perform_content_negotiation(self, request, force=False):
        # An EventSource sends Accept: text/event-stream; errors still answer JSON, never a 406.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        operation_id="events_stream",
        summary="Follow the organization's events (Server-Sent Events)",
        description=STREAM_DESCRIPTION,
        parameters=[
            text_parameter("type", pattern=TYPE_FILTERS_PATTERN, description=(
                "Only events whose type matches this filter (`*` matches anything, e.g. `config_object.*`); "
                "several filters separated by commas, or the parameter repeated, select the events that match "
                "any of them.")),
            OpenApiParameter("Last-Event-ID", str, OpenApiParameter.HEADER,
                             pattern=EVENT_ID_PATTERN,
                             description="Resume after this event (`evt_...`) of the organization."),
            text_parameter("lastEventId", "`Last-Event-ID` for clients that cannot set headers.",
                           pattern=EVENT_ID_PATTERN),
            whole_number_parameter("maxEvents", 1, MAX_EVENTS, "End the stream after this many events."),
            whole_number_parameter("maxSeconds", 1, MAX_SECONDS, "End the stream after this many seconds."),
        ],
        responses={(200, "text/event-stream"): OpenApiResponse(
            OpenApiTypes.STR, description="The event stream (it ends only with `maxEvents` or `maxSeconds`)."
        )},
    )
    def get(self, request):
        patterns = []
        for raw in request.query_params.getlist("type"):
            patterns += raw.split(",")
        last_event_id = request.headers.get("Last-Event-ID")
        if last_event_id is None:
            last_event_id = query_text(request, "lastEventId")
        elif last_event_id == "":
            raise ValidationError({"Last-Event-ID": [MUST_NOT_BE_EMPTY]})
        max_events = query_whole_number(request, "maxEvents", 1, MAX_EVENTS)
        max_seconds = query_whole_number(request, "maxSeconds", 1, MAX_SECONDS)
        subscription = stream.subscribe(request.principal, last_event_id=last_event_id, patterns=patterns)
        if request.method == "HEAD":  # the checks above, without a stream that would never end
            return self._headers(HttpResponse(content_type="text/event-stream; charset=utf-8"))
        if isinstance(request._request, ASGIRequest):
            # The request's connection would stay checked out of the pool until the stream ends; the
            # stream reads the log on connections it hands back after each read.
            connection.close()
            follow = stream.follow_async
        else:
            follow = stream.follow
        response = StreamingHttpResponse(
            follow(subscription, max_events=max_events, max_seconds=max_seconds),
            content_type="text/event-stream; charset=utf-8",
        )
        return self._headers(response)

    @staticmethod
    def _headers(response):
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return response
