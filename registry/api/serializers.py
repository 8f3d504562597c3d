import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from plexica.api.serializers import PatternTextField, StrictSerializer
from plexica.network import NetworkPolicyError, check_url
from plexica.plugins.api.serializers import SemanticVersionField
from plexica.plugins.models import PERMISSION_PATTERN, PLUGIN_ID_PATTERN
from registry.models import HttpMethod, ServiceStatus
from registry.services import Registration

SERVICE_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$"
# Literal segments of URL-safe characters, or `:param` segments.
_PATH_SEGMENT_PATTERN = r"(?::[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9._~!$&'()*+,;=@%-]*)"
_PATH_SEGMENT = re.compile(_PATH_SEGMENT_PATTERN)
ENDPOINT_PATH_PATTERN = rf"^/{_PATH_SEGMENT_PATTERN}(?:/{_PATH_SEGMENT_PATTERN})*$"
MAX_ENDPOINTS = 200
# A health path: from "/", URL-safe characters, an optional query; never "//host" nor a ".." segment.
_HEALTH_PATH = re.compile(r"/(?!/)[A-Za-z0-9._~!$&'()*+,;=:@%/-]*(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?")


def validate_health_check(options):
    """`metadata.healthCheck`: {"path": a path relative to the base URL, "enabled": false to switch the checks
    off}; raises ValidationError naming the key."""
    if not isinstance(options, dict):
        raise serializers.ValidationError('healthCheck must be an object, e.g. {"path": "/health"}.')
    if "enabled" in options and not isinstance(options["enabled"], bool):
        raise serializers.ValidationError("healthCheck.enabled must be true or false.")
    path = options.get("path")
    if path is not None:
        if (not isinstance(path, str) or len(path) > 500 or not _HEALTH_PATH.fullmatch(path)
                or ".." in path.split("?")[0].split("/")):
            raise serializers.ValidationError(
                "healthCheck.path must be a path relative to the base URL, starting with '/' (e.g. /health), "
                "of URL-safe characters, without '..' segments, at most 500 characters.")


def validate_endpoint_path(value):
    if not value.startswith("/"):
        raise serializers.ValidationError("Must start with '/'.")
    if any(not _PATH_SEGMENT.fullmatch(segment) for segment in value[1:].split("/")):
        raise serializers.ValidationError(
            "Use literal segments of URL-safe characters or ':name' parameters, separated by '/'."
        )
    return value


def _any_case(word):
    return "".join(f"[{ch.upper()}{ch.lower()}]" for ch in word)


@extend_schema_field({
    "type": "string", "pattern": "^(" + "|".join(_any_case(method) for method in HttpMethod.values) + ")$",
    "description": f"{', '.join(HttpMethod.values)}, in any case (`get` is GET).", "example": "GET",
})
class HttpMethodField(serializers.ChoiceField):
    """An HTTP method, whatever its case, as HTTP clients and SDKs spell it; stored and matched in capitals."""

    def __init__(self, **kwargs):
        super().__init__(choices=HttpMethod.choices, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data.upper() if isinstance(data, str) else data)


class EndpointSerializer(StrictSerializer):
    method = HttpMethodField()
    path = PatternTextField(ENDPOINT_PATH_PATTERN, max_length=500, validators=[validate_endpoint_path],
                            help_text="From '/': literal segments and :name parameters, e.g. /contacts/:id.")
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    permissions = serializers.ListField(
        child=serializers.RegexField(PERMISSION_PATTERN,
                                     error_messages={"invalid": "Not a valid permission string."}),
        required=False, default=list, max_length=50,
    )
    metadata = serializers.DictField(
        required=False, default=dict,
        help_text="Free-form, except the tool keys: `inputSchema` (a JSON Schema 2020-12 object schema of the "
                  "arguments) makes the endpoint a tool (the plugin key then needs the TOOLS capability), named "
                  "`<pluginId>.<serviceName>.<toolName>` by `toolName` (`^[A-Za-z0-9_-]{1,64}$`; by default "
                  "derived from method and path: `get_contacts_id`); `outputSchema` (a JSON Schema of the answer) "
                  "and `argumentsIn` (`body` or `query`) are optional. Path parameters must be required "
                  "properties of `inputSchema`.")


class RegisterServiceSerializer(StrictSerializer):
    pluginId = serializers.RegexField(
        PLUGIN_ID_PATTERN, max_length=100,
        error_messages={"invalid": "Must look like plugin-{name}: lowercase letters, digits and hyphens."},
    )
    serviceName = serializers.RegexField(
        SERVICE_NAME_PATTERN, max_length=200,
        error_messages={"invalid": "Must be dotted lowercase words, e.g. crm.contacts."},
    )
    version = SemanticVersionField()
    baseUrl = serializers.CharField(max_length=2000, required=False, allow_blank=True)  # absent: keep it
    endpoints = EndpointSerializer(many=True, required=False, max_length=MAX_ENDPOINTS)
    metadata = serializers.DictField(
        required=False,
        help_text='Free-form, except `healthCheck`: `{"path": "/health", "enabled": true}`, the path the platform\'s '
                  "active health checks call (relative to baseUrl; /health by default), or enabled false for none.")

    def validate_baseUrl(self, value):
        if value:
            try:
                check_url(value)
            except NetworkPolicyError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value.rstrip("/")

    def validate_metadata(self, metadata):
        if "healthCheck" in metadata:
            validate_health_check(metadata["healthCheck"])
        return metadata

    def validate_endpoints(self, endpoints):
        seen = set()
        for index, endpoint in enumerate(endpoints):
            key = (endpoint["method"], endpoint["path"])
            if key in seen:
                raise serializers.ValidationError(f"endpoints[{index}] repeats {key[0]} {key[1]}.")
            seen.add(key)
        return endpoints

    def registration(self):
        data = self.validated_data
        return Registration(
            plugin_id=data["pluginId"],
            service_name=data["serviceName"],
            version=data["version"],
            base_url=data.get("baseUrl"),
            endpoints=[dict(endpoint) for endpoint in data["endpoints"]] if "endpoints" in data else None,
            metadata=data.get("metadata"),
        )


class RegisteredSerializer(StrictSerializer):
    success = serializers.BooleanField()
    serviceId = serializers.CharField()
    message = serializers.CharField()


class SuccessSerializer(StrictSerializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class DiscoveredEndpointSerializer(StrictSerializer):
    method = serializers.CharField()
    path = serializers.CharField()
    description = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()


class DiscoveredServiceSerializer(StrictSerializer):
    id = serializers.CharField()
    pluginId = serializers.CharField()
    serviceName = serializers.CharField()
    version = serializers.CharField()
    status = serializers.ChoiceField(choices=ServiceStatus.choices)
    baseUrl = serializers.CharField()
    endpoints = DiscoveredEndpointSerializer(many=True)
    metadata = serializers.DictField()
    lastSeenAt = serializers.DateTimeField()


class DiscoverResponseSerializer(StrictSerializer):
    service = DiscoveredServiceSerializer()


class ServiceSummarySerializer(StrictSerializer):
    id = serializers.CharField()
    pluginId = serializers.CharField()
    serviceName = serializers.CharField()
    version = serializers.CharField()
    status = serializers.ChoiceField(choices=ServiceStatus.choices)
    lastSeenAt = serializers.DateTimeField()


class ServiceListSerializer(StrictSerializer):
    services = ServiceSummarySerializer(many=True)
    count = serializers.IntegerField()
