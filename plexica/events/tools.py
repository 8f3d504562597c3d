"""The event log's platform tool (plexica.tools): `plexica.emit_event`.

What `POST /api/v1/events` does, through the same service (plexica.events.services.emit_custom): org keys,
owners, admins, superusers and plugin keys emit (a plain member does not, so the tool is not listed for one);
a plugin key's plugin needs the EVENTS_PUB capability (without it the tool is not listed either) and emits
only types under its own plugin id; a key needs the `events:emit` scope. The event is recorded with the caller
as its actor and delivered to webhooks and streams as any other.
"""

from plexica.events import patterns, services
from plexica.events import types as event_types
from plexica.events.stream import event_payload
from plexica.plugins.capabilities import Capability, holds_capability
from plexica.tenancy.models import ApiKey
from plexica.tools import END, Tool, register_provider


def emit_event(principal, arguments):
    """The HTTP answer `{ok, item}` (item: the event as the log shows it); `replayed: true` when an earlier
    call with the same idempotencyKey recorded it (HTTP's `Idempotent-Replayed` header)."""
    subject = arguments.get("subject")
    event, replayed = services.emit_custom(
        principal, arguments["type"], data=arguments.get("data", {}),
        subject=(subject["type"], subject["id"]) if subject else None,
        idempotency_key=arguments.get("idempotencyKey"),
    )
    body = {"ok": True, "item": event_payload(event)}
    if replayed:
        body["replayed"] = True
    return body


def emit_schema(principal):
    plugin = principal.plugin
    namespace = (f"This key acts as {plugin.plugin_id}: it emits only types under its plugin id, such as "
                 f"'{plugin.plugin_id}.contact.created'." if plugin is not None else
                 "Its first part is not one of the platform's own: "
                 f"{', '.join(sorted(event_types.reserved_prefixes()))}.")
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "pattern": patterns.TYPE_PATTERN + END,
                     "maxLength": patterns.MAX_TYPE_LENGTH,
                     "description": "Two or more dot-separated parts of letters, digits, '_' and '-'. "
                                    + namespace},
            "data": {"type": "object",
                     "description": "A JSON object (at most EVENTS_MAX_DATA_BYTES as compact UTF-8 JSON; "
                                    "larger is a 413). Empty by default."},
            "subject": {
                "type": ["object", "null"],
                "properties": {
                    "type": {"type": "string", "pattern": services.SUBJECT_TYPE_PATTERN + END,
                             "maxLength": services.SUBJECT_TYPE_MAX_LENGTH,
                             "description": "The resource type the event is about, e.g. contact."},
                    "id": {"type": "string", "pattern": r"\S", "maxLength": services.SUBJECT_ID_MAX_LENGTH,
                           "description": "The resource's id."},
                },
                "required": ["type", "id"],
                "additionalProperties": False,
                "description": "What the event is about (optional).",
            },
            "idempotencyKey": {
                "type": "string", "pattern": services.IDEMPOTENCY_KEY_PATTERN + END,
                "description": "Any unique string of yours (1 to 255 printable ASCII characters): a "
                               "retry with the same key and the same type, subject and data answers with "
                               "the event the first call recorded (replayed: true) instead of emitting "
                               "another; another request with that key is a 409.",
            },
        },
        "required": ["type"],
        "additionalProperties": False,
    }


def may_emit(principal):
    """emit_custom's rules of who: an org admin, or a plugin key whose plugin holds EVENTS_PUB."""
    if principal.plugin is not None:
        return holds_capability(principal.plugin, Capability.EVENTS_PUB)
    return principal.is_org_admin


def platform_tools(principal):
    if not may_emit(principal):
        return []
    return [Tool(
        name="plexica.emit_event",
        title="Emit an event",
        description=(
            "Record a custom event in the organization's event log (delivered to its webhooks and live "
            "streams), with you as its actor: {ok, item: {id, type, occurredAt, actor, subject, data, "
            "requestId, position}}."),
        input_schema=emit_schema(principal),
        run=emit_event,
        meta={"http": ["POST /api/v1/events"]},
        scopes=(ApiKey.Scope.EVENTS_EMIT,),
    )]


def register():
    register_provider(platform_tools)
