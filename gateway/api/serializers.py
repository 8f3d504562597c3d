import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.services import CallRequest
from plexica.api.serializers import WHITESPACE_CHARACTERS, PatternTextField, StrictSerializer
from plexica.plugins.models import PLUGIN_ID_PATTERN
from registry.api.serializers import HttpMethodField
from registry.models import ServiceStatus

_CALL_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%-]*")
_PLUGIN_ID_ERRORS = {"invalid": "Must look like plugin-{name}: lowercase letters, digits and hyphens."}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Encoded slash, backslash and control characters: an upstream decoding them would see another path.
_FORBIDDEN_ESCAPE = re.compile(r"%(2F|5C|[01][0-9A-F]|7F)")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Visible characters, space, tab and Latin-1 (what HTTP/1.1 can carry); never CR, LF or NUL.
_HEADER_VALUE_CHARS = r"[\t\x20-\x7e\x80-\xff]"
_HEADER_VALUE = re.compile(f"{_HEADER_VALUE_CHARS}*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}")
MAX_HEADERS = 100
MAX_HEADER_VALUE = 8192
_WHITESPACE = f"[{WHITESPACE_CHARACTERS}]"

# validate_call_path as one pattern, for the OpenAPI schema: '/'-separated segments of URL-safe characters
# and %XX escapes (never of '/', '\\' or control characters), none of them '.' or '..' (also escaped).
_CALL_PATH_ESCAPE = r"%(?![01]|2[Ff]|5[Cc]|7[Ff])[0-9A-Fa-f]{2}"
_CALL_PATH_DOT_SEGMENT = r"(?:\.|%2[Ee]){1,2}(?:[;/]|$)"
_CALL_PATH_SEGMENT = rf"(?!{_CALL_PATH_DOT_SEGMENT})(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|{_CALL_PATH_ESCAPE})*"
CALL_PATH_PATTERN = rf"^(?:/{_CALL_PATH_SEGMENT})+$"
# A header value as sent: DRF trims the whitespace around it before validate_headers checks the rest.
HEADER_VALUE_PATTERN = rf"^{_WHITESPACE}*{_HEADER_VALUE_CHARS}*{_WHITESPACE}*$"


def _normalize_escapes(path):
    """RFC 3986 normalization: escaped unreserved characters decoded (%65 is e), other escapes upper-cased."""

    def replace(match):
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _ESCAPE.sub(replace, path)


def validate_call_path(value):
    """A concrete path, normalized so that endpoint matching sees what the upstream will route.

    Escaped letters are decoded ("/contacts/%65xport" is "/contacts/export", not a value of
    "/contacts/:id"); dot segments (also "..;" and encoded ones), encoded slashes and control
    characters are refused, since an upstream could resolve them to another path.
    """
    if not value.startswith("/"):
        raise serializers.ValidationError("Must start with '/'.")
    if _BROKEN_ESCAPE.search(value):
        raise serializers.ValidationError("'%' must start a percent-encoded byte such as %20.")
    value = _normalize_escapes(value)
    segments = value[1:].split("/")
    if any(segment.split(";")[0] in (".", "..") for segment in segments) or _FORBIDDEN_ESCAPE.search(value):
        raise serializers.ValidationError(
            "Must not contain '.' or '..' segments, encoded slashes or encoded control characters."
        )
    if any(not _CALL_SEGMENT.fullmatch(segment) for segment in segments):
        raise serializers.ValidationError("Contains characters that are not allowed in a path (put the query in 'query').")
    return value


_QUERY_SCALARS = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]


@extend_schema_field({"oneOf": [*_QUERY_SCALARS, {"type": "array", "items": {"oneOf": _QUERY_SCALARS},
                                                   "minItems": 1}]})
class QueryValueField(serializers.Field):
    """A query value: a string, number or boolean, or a list of them (repeated parameter)."""

    def to_internal_value(self, data):
        values = data if isinstance(data, list) else [data]
        if not values or any(isinstance(v, (dict, list)) or v is None for v in values):
            raise serializers.ValidationError("Query values must be strings, numbers, booleans or lists of them.")
        converted = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        return converted if isinstance(data, list) else converted[0]

    def to_representation(self, value):
        return value


@extend_schema_field({
    "type": "object", "maxProperties": MAX_HEADERS,
    "additionalProperties": {"type": "string", "maxLength": MAX_HEADER_VALUE,
                             "pattern": HEADER_VALUE_PATTERN},
})
class HeadersField(serializers.DictField):
    """Headers to pass on, checked by CallSerializer.validate_headers (the schema cannot state the rule of
    the names: OpenAPI 3.0 has no propertyNames)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=MAX_HEADER_VALUE, allow_blank=True), **kwargs)


class CallSerializer(StrictSerializer):
    # Non-strings never reach a RegexField (the strict base refuses them): its "invalid" message has a "{name}"
    # that DRF would str.format() for them (a KeyError, so a 500).
    callerPluginId = serializers.RegexField(PLUGIN_ID_PATTERN, max_length=100,
                                            error_messages=_PLUGIN_ID_ERRORS)
    targetPluginId = serializers.RegexField(PLUGIN_ID_PATTERN, max_length=100,
                                            error_messages=_PLUGIN_ID_ERRORS)
    targetServiceName = serializers.CharField(max_length=200)
    method = HttpMethodField()
    path = PatternTextField(CALL_PATH_PATTERN, max_length=2000,
                            help_text="The path on the target service, from '/'; the query goes in `query`.")
    headers = HeadersField(required=False, default=dict,
                           help_text=f"At most {MAX_HEADERS}; names are HTTP tokens of 1 to 256 characters.")
    query = serializers.DictField(child=QueryValueField(), required=False, default=dict)
    body = serializers.JSONField(required=False, allow_null=True)

    def validate_path(self, value):
        return validate_call_path(value)

    def validate_headers(self, headers):
        if len(headers) > MAX_HEADERS:
            raise serializers.ValidationError(f"At most {MAX_HEADERS} headers.")
        for name in headers:
            if not _HEADER_NAME.fullmatch(name):
                raise serializers.ValidationError(f"'{name}' is not a valid header name.")
            if not _HEADER_VALUE.fullmatch(headers[name]):
                raise serializers.ValidationError(
                    f"'{name}' has a value with control characters (CR, LF...) or characters beyond Latin-1."
                )
        return headers

    def call_request(self):
        data = self.validated_data
        return CallRequest(
            caller_plugin_id=data["callerPluginId"],
            target_plugin_id=data["targetPluginId"],
            target_service_name=data["targetServiceName"],
            method=data["method"],
            path=data["path"],
            headers=data["headers"],
            query=data["query"],
            body=data.get("body"),
            has_body="body" in data,
        )


class CallResponseSerializer(StrictSerializer):
    status = serializers.IntegerField(help_text="The upstream's status code (also the HTTP status, except 204/304).")
    data = serializers.JSONField(allow_null=True, help_text="Parsed JSON when the upstream sent JSON, else text.")
    headers = serializers.DictField(child=serializers.CharField())


class PluginToolSerializer(StrictSerializer):
    """One tool endpoint of a plugin, with its exposure to members (a read-only answer)."""

    name = serializers.CharField(help_text="The tool's name: `<pluginId>.<serviceName>.<toolName>`.")
    pluginId = serializers.CharField()
    serviceName = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField(help_text="The endpoint's path template, e.g. /contacts/:id.")
    description = serializers.CharField(allow_blank=True)
    permissions = serializers.ListField(child=serializers.CharField(),
                                        help_text="What a plugin key's plugin must hold to use it.")
    inputSchema = serializers.JSONField(allow_null=True, help_text="The tool's arguments (JSON Schema 2020-12); "
                                        "null for an exposure whose endpoint is registered no more.")
    readOnly = serializers.BooleanField(help_text="A GET endpoint.")
    serviceStatus = serializers.ChoiceField(choices=ServiceStatus.choices, allow_null=True,
                                            help_text="Its service's health now; null when not registered.")
    registered = serializers.BooleanField(help_text="False for an exposure left from an earlier registration.")
    offered = serializers.BooleanField(help_text="Callers are offered it now: its service is HEALTHY or DEGRADED "
                                       "and the plugin holds the TOOLS capability.")
    exposed = serializers.BooleanField(help_text="Members may call it (org admins may call every tool).")
    exposedAt = serializers.DateTimeField(allow_null=True)
    exposedBy = serializers.CharField(allow_null=True, help_text="The username of who exposed it.")
