"""The service registry's platform tool (plexica.tools): `plexica.discover_services`.

What the plugin gateway's `GET /services` and `GET /services/discover/{serviceName}` answer, through the same
services (registry.services.list_services, discover_service). Anyone in the organization may discover, as over
HTTP; a key needs the `gateway` scope, as every plugin gateway path does.
"""

from plexica.ids import PLUGIN_ID_PATTERN
from plexica.tenancy.models import ApiKey
from plexica.tools import END, Tool, register_provider, timestamp
from registry import services
from registry.api.serializers import SERVICE_NAME_PATTERN
from registry.models import ServiceStatus


DISCOVER_SERVICES_SCHEMA = {
    "type": "object",
    "properties": {
        "serviceName": {
            "type": "string", "pattern": SERVICE_NAME_PATTERN + END, "maxLength": 200,
            "description": "Discover this one service (dotted lowercase words, e.g. crm.contacts): its base "
                           "URL, endpoints and metadata. Without it, the list of services.",
        },
        "pluginId": {
            "type": "string", "pattern": PLUGIN_ID_PATTERN + END, "maxLength": 100,
            "description": "Only this plugin's services (plugin-{name}).",
        },
        "status": {
            "type": "string", "enum": list(ServiceStatus.values),
            "description": "Only services in this state now (derived from heartbeats and health checks).",
        },
    },
    "additionalProperties": False,
}


def discover_services(principal, arguments):
    """`{"services", "count"}` as `GET /services` answers, or with `serviceName` `{"service"}` as discovery
    does; `pluginId` and `status` given with `serviceName` must match that service (else Service not
    found)."""
    plugin_id, status = arguments.get("pluginId"), arguments.get("status")
    service_name = arguments.get("serviceName")
    if service_name is not None:
        found = services.discover_service(principal, service_name)  # NotFound when unknown or UNAVAILABLE
        if (plugin_id is not None and found["pluginId"] != plugin_id) or (
                status is not None and found["status"] != status):
            raise services.service_not_found(service_name)
        return {"service": {**found, "status": str(found["status"])}}
    found = services.list_services(principal, plugin_id, status)
    return {
        "services": [{**service, "status": str(service["status"]), "lastSeenAt": timestamp(service["lastSeenAt"])}
                     for service in found],
        "count": len(found),
    }


DISCOVER_SERVICES = Tool(
    name="plexica.discover_services",
    title="Discover services",
    description=(
        "The organization's plugin services with their health now (HEALTHY, DEGRADED, UNAVAILABLE), filtered "
        "by pluginId and status: {services: [{id, pluginId, serviceName, version, status, lastSeenAt}], "
        "count}. With serviceName, that one service in full as discovery answers it: {service: {id, "
        "pluginId, serviceName, version, status, baseUrl, endpoints: [{method, path, description, "
        "permissions, metadata}], metadata, lastSeenAt}}; an unknown or UNAVAILABLE service (or one not "
        "matching pluginId/status) is a 404 Service not found."),
    input_schema=DISCOVER_SERVICES_SCHEMA,
    run=discover_services,
    read_only=True,
    idempotent=True,
    meta={"http": ["GET /api/plugin-gateway/services",
                   "GET /api/plugin-gateway/services/discover/{serviceName}"]},
    scopes=(ApiKey.Scope.GATEWAY,),
)


def platform_tools(principal):
    """Discovery is open to everyone in the organization (registry.services)."""
    return [DISCOVER_SERVICES]


def register():
    register_provider(platform_tools)
