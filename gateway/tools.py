"""Plugin endpoints as tools (plexica.tools): every endpoint whose registration declares an `inputSchema` is a
tool `<pluginId>.<serviceName>.<toolName>` (registry.tool_endpoints names it), called through the gateway. No HTTP.

Who sees which (`endpoint_tools`, the provider GatewayConfig.ready() registers), among the endpoints of the
organization's HEALTHY and DEGRADED services whose plugin holds the TOOLS capability now:

- a plugin's key: the endpoints it could call through the gateway, its own plugin's included, whose required
  permissions its plugin holds; a call is `call_plugin` as that plugin (its permission check, call statistics).
- org admins, org keys (and superusers, the system): every tool endpoint; members (sessions, member keys): those
  an org admin exposed (ExposedTool, `expose_tool`). A call is `call_as_member`: no caller plugin, the
  exposure check instead of the permissions, headers naming the person or key.
- a key with `ext:{pluginId}:routes` scopes: only those plugins' endpoints.

Arguments: each `:name` of the path template is filled from the argument `name` (percent-encoded; a value with
'/', '\\' or control characters, or '.' / '..', is refused); the other arguments are the JSON body for POST,
PUT and PATCH and the query for GET and DELETE (scalars, or lists of them for a repeated parameter; a null
leaves the parameter out), unless the endpoint's `metadata.argumentsIn` says "body" or "query". The result is
`{"status": <upstream status>, "data": <its body>}`; an upstream 4xx or 5xx is the tool's error
(`upstream_error`, the status and body in its details), as are the gateway's own refusals and failures.

Scopes a key needs (any one): a plugin key the gateway's (`gateway`), others `api:read` or `api:write` for a GET
and `api:write` otherwise; `ext:{pluginId}:routes` of the target plugin admits the key too.

Listing costs a constant number of queries: the tool endpoints (with their exposure), the capabilities of their
plugins, and for a plugin key its permissions.
"""

import re
import uuid
from functools import partial
from urllib.parse import quote

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from gateway import events
from gateway.models import ExposedTool
from gateway.services import CallRequest, call_as_member, call_plugin
from plexica.access.services import require_org_admin
from plexica.errors import DomainError, Invalid, NotFound
from plexica.events.log import request_id_var
from plexica.plugins.capabilities import Capability, granted_capabilities, plugins_lacking
from plexica.plugins.models import Plugin
from plexica.plugins.services import granted_permissions
from plexica.tenancy.models import ApiKey, plugin_routes_scope
from plexica.tools import TOOL_NAME, Tool
from registry.models import ServiceEndpoint, ServiceStatus
from registry.services import derive_status
from registry.tool_endpoints import (
    TOOL_SCHEMA_KEY,
    arguments_in,
    derived_tool_name,
    endpoint_tool_name,
    output_schema,
    path_parameters,
    tool_name,
)

IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE"})
_UNSAFE_PATH_VALUE = re.compile(r"[/\\\x00-\x1f\x7f]")


class UpstreamError(DomainError):
    """The upstream answered a 4xx or 5xx: the tool's error, with the upstream's status (`status`) and body
    (`details.status`, `details.data`)."""

    title, code = "Upstream error", "upstream_error"

    def __init__(self, status, data, where):
        super().__init__(f"{where} answered {status}.", status=status, data=data)
        self.status = status


def _endpoint_dict(row):
    return {"method": row.method, "path": row.path, "description": row.description, "permissions": row.permissions,
            "metadata": row.metadata}


def _usable(plugin_id, service_name, endpoint):
    """An endpoint stored before its registration's checks existed may still be malformed: offered only when its
    schema is an object schema and its name a tool name."""
    schema = endpoint["metadata"].get(TOOL_SCHEMA_KEY)
    name = f"{plugin_id}.{service_name}.{endpoint_tool_name(endpoint)}"
    return isinstance(schema, dict) and schema.get("type") == "object" and bool(TOOL_NAME.match(name))


def _tool_endpoints(organization, *, plugin_ids=None, exposed_only=False, now=None):
    """[(endpoint row, endpoint dict, exposed)] of the organization's tool endpoints callable now (service HEALTHY
    or DEGRADED, plugin holding TOOLS): two queries."""
    now = now or timezone.now()
    exposure = ExposedTool.objects.filter(
        organization=organization, plugin_id=OuterRef("service__plugin_id"),
        service_name=OuterRef("service__service_name"), method=OuterRef("method"), path=OuterRef("path"))
    rows = (ServiceEndpoint.objects
            .filter(service__organization=organization, metadata__has_key=TOOL_SCHEMA_KEY)
            .select_related("service__plugin")
            .annotate(exposed=Exists(exposure))
            .order_by("service__service_name", "position", "id"))
    if plugin_ids is not None:
        rows = rows.filter(service__plugin__plugin_id__in=plugin_ids)
    if exposed_only:
        rows = rows.filter(exposed=True)
    found = [row for row in rows
             if derive_status(row.service.last_seen_at, now, row.service.check_status) != ServiceStatus.UNAVAILABLE]
    lacking = plugins_lacking({row.service.plugin_id for row in found}, Capability.TOOLS)
    usable = []
    for row in found:
        endpoint = _endpoint_dict(row)
        if row.service.plugin_id not in lacking and _usable(row.service.plugin.plugin_id, row.service.service_name,
                                                              endpoint):
            usable.append((row, endpoint, row.exposed))
    return usable


def endpoint_tools(principal):
    """The plugin endpoint tools `principal` may use now (see the module's docstring for who sees which)."""
    organization = principal.organization
    plugin = principal.plugin
    if plugin is None and principal.membership is None and not principal.is_org_admin:
        return []
    routes = principal.api_key.routes_scope_plugins if principal.api_key is not None else None
    as_member = plugin is None and not principal.is_org_admin
    found = _tool_endpoints(organization, plugin_ids=routes, exposed_only=as_member)
    if plugin is not None:
        granted = granted_permissions(plugin.pk) if found else set()
        found = [entry for entry in found if set(entry[1]["permissions"]) <= granted]
    return [_tool(principal, row, endpoint, exposed) for row, endpoint, exposed in found]


def _tool(principal, row, endpoint, exposed):
    service = row.service
    target = service.plugin.plugin_id
    method, path = endpoint["method"], endpoint["path"]
    routes_scope = plugin_routes_scope(target)
    if principal.plugin is not None:
        scopes = (ApiKey.Scope.GATEWAY.value, routes_scope)
        meta = {}
    else:
        scopes = ((ApiKey.Scope.API_READ.value, ApiKey.Scope.API_WRITE.value, routes_scope) if method == "GET"
                  else (ApiKey.Scope.API_WRITE.value, routes_scope))
        meta = {"exposed": exposed}
    return Tool(
        name=tool_name(target, service.service_name, endpoint),
        description=endpoint["description"] or f"{method} {path} of the service {service.service_name} ({target}).",
        input_schema=endpoint["metadata"][TOOL_SCHEMA_KEY],
        output_schema=output_schema(endpoint),
        run=partial(_run, target, service.service_name, endpoint),
        source="plugin",
        read_only=method == "GET",
        idempotent=method in IDEMPOTENT_METHODS,
        meta={"pluginId": target, "serviceName": service.service_name, "method": method, "path": path, **meta},
        scopes=scopes,
    )


# Calling


def _path_value(name, value):
    if isinstance(value, bool):
        value = "true" if value else "false"
    if not isinstance(value, (str, int, float)) or value == "":
        raise Invalid(f"arguments.{name}: a path parameter is a non-empty string or a number.", field=name)
    value = str(value)
    if value in (".", "..") or _UNSAFE_PATH_VALUE.search(value):
        raise Invalid(f"arguments.{name}: a path parameter cannot be '.' or '..' nor contain '/', '\\' or control "
                      "characters.", field=name)
    return quote(value, safe="")


def _query_value(name, value):
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, (dict, list)) or v is None for v in values):
        raise Invalid(f"arguments.{name}: a query parameter is a string, number or boolean, or a list of them.",
                      field=name)
    converted = [("true" if v else "false") if isinstance(v, bool) else str(v) for v in values]
    return converted if isinstance(value, list) else converted[0]


def call_request(target_plugin_id, service_name, endpoint, arguments, caller_plugin_id=None):
    """The gateway call of the tool of `endpoint` with `arguments` (see the module's docstring for where they go)."""
    names = set(path_parameters(endpoint["path"]))
    segments = []
    for segment in endpoint["path"].split("/"):
        if segment.startswith(":"):
            if segment[1:] not in arguments:
                raise Invalid(f"arguments.{segment[1:]}: required (the path {endpoint['path']}).", field=segment[1:])
            segment = _path_value(segment[1:], arguments[segment[1:]])
        segments.append(segment)
    rest = {name: value for name, value in arguments.items() if name not in names}
    call = CallRequest(caller_plugin_id=caller_plugin_id, target_plugin_id=target_plugin_id,
                       target_service_name=service_name, method=endpoint["method"], path="/".join(segments),
                       endpoint_path=endpoint["path"])
    if arguments_in(endpoint) == "body":
        call.body, call.has_body = rest, True
    else:
        call.query = {name: _query_value(name, value) for name, value in rest.items() if value is not None}
    return call


def _run(target_plugin_id, service_name, endpoint, principal, arguments):
    request_id = request_id_var.get() or uuid.uuid4().hex
    if principal.plugin is not None:
        call = call_request(target_plugin_id, service_name, endpoint, arguments, principal.plugin.plugin_id)
        result = call_plugin(principal, call, request_id)
    else:
        call = call_request(target_plugin_id, service_name, endpoint, arguments)
        result = call_as_member(principal, call, request_id)
    if result.status >= 400:
        raise UpstreamError(result.status, result.data, f"{endpoint['method']} {call.path} of {service_name}")
    return {"status": result.status, "data": result.data}


# Exposing tools to members (org admins)


def _plugin(principal, plugin_id):
    plugin = Plugin.objects.filter(organization=principal.organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")
    return plugin


def plugin_tool_entries(principal, plugin_id, now=None):
    """(plugin, entries): the tool endpoints `plugin_id` registered (every service, whatever its health), each with
    its exposure, then the exposures whose endpoint is registered no more (`registered` False); org admins only.

    An entry: name, pluginId, serviceName, method, path, description, permissions, inputSchema, readOnly,
    serviceStatus, registered, offered (callers are offered it now: its service is HEALTHY or DEGRADED and the
    plugin holds TOOLS), exposed, exposedAt, exposedBy (a username or None). Four queries.
    """
    require_org_admin(principal, "This")
    plugin = _plugin(principal, plugin_id)
    now = now or timezone.now()
    exposures = {(row.service_name, row.method, row.path): row
                 for row in ExposedTool.objects.filter(plugin=plugin).select_related("exposed_by")}
    holds_tools = Capability.TOOLS in granted_capabilities(plugin)
    rows = (ServiceEndpoint.objects.filter(service__plugin=plugin, metadata__has_key=TOOL_SCHEMA_KEY)
            .select_related("service").order_by("service__service_name", "position", "id"))
    entries = []
    for row in rows:
        endpoint = _endpoint_dict(row)
        status = derive_status(row.service.last_seen_at, now, row.service.check_status)
        exposure = exposures.pop((row.service.service_name, row.method, row.path), None)
        entries.append(_entry(plugin, row.service.service_name, endpoint, exposure, status=status,
                              offered=holds_tools and status != ServiceStatus.UNAVAILABLE))
    for (service_name, method, path), exposure in sorted(exposures.items()):
        endpoint = {"method": method, "path": path, "description": "", "permissions": [], "metadata": {}}
        entries.append(_entry(plugin, service_name, endpoint, exposure, status=None, offered=False))
    return plugin, entries


def _entry(plugin, service_name, endpoint, exposure, *, status, offered):
    registered = status is not None
    part = endpoint_tool_name(endpoint) if registered else derived_tool_name(endpoint["method"], endpoint["path"])
    return {
        "name": f"{plugin.plugin_id}.{service_name}.{part}", "pluginId": plugin.plugin_id,
        "serviceName": service_name, "method": endpoint["method"], "path": endpoint["path"],
        "description": endpoint["description"], "permissions": endpoint["permissions"],
        "inputSchema": endpoint["metadata"].get(TOOL_SCHEMA_KEY), "readOnly": endpoint["method"] == "GET",
        "serviceStatus": status, "registered": registered, "offered": offered,
        "exposed": exposure is not None, "exposedAt": exposure.created_at if exposure else None,
        "exposedBy": exposure.exposed_by.get_username() if exposure and exposure.exposed_by else None,
    }


def _find_entry(principal, plugin_id, name):
    plugin, entries = plugin_tool_entries(principal, plugin_id)
    entry = next((entry for entry in entries if entry["name"] == name), None)
    if entry is None:
        raise NotFound(f"{plugin_id} has no tool {str(name)[:140]!r}: GET /api/v1/plugins/{plugin_id}/tools lists "
                       "its tools.", title="Tool not found", code="tool_not_found", tool=str(name)[:140])
    return plugin, entry


def expose_tool(principal, plugin_id, name):
    """Expose the tool `name` of the organization's plugin `plugin_id` to its members; org admins only. Returns
    (entry, created): created is False when it was exposed already (nothing changes, nothing is emitted).
    Emits tool.exposed in the transaction of the change. NotFound for a plugin or tool it did not register."""
    plugin, entry = _find_entry(principal, plugin_id, name)
    if not entry["registered"]:
        raise NotFound(f"{plugin_id} registers no tool {name!r} now (an exposure of it is left from an earlier "
                       "registration).", title="Tool not found", code="tool_not_found", tool=name)
    if entry["exposed"]:
        return entry, False
    user = principal.user if getattr(principal.user, "pk", None) else None
    key = {"organization": principal.organization, "service_name": entry["serviceName"], "method": entry["method"],
           "path": entry["path"]}
    try:
        with transaction.atomic():
            # The service name may have been another plugin's once: its old exposure is replaced.
            ExposedTool.objects.filter(**key).exclude(plugin=plugin).delete()
            row = ExposedTool.objects.create(plugin=plugin, exposed_by=user, **key)
            events.tool_exposed(principal, entry)
    except IntegrityError:  # exposed concurrently: one of the two wins, the other finds it exposed
        return _find_entry(principal, plugin_id, name)[1], False
    return {**entry, "exposed": True, "exposedAt": row.created_at,
            "exposedBy": user.get_username() if user else None}, True


def unexpose_tool(principal, plugin_id, name):
    """Stop exposing the tool `name` of the organization's plugin `plugin_id` to members; org admins only.
    Emits tool.unexposed in the transaction of the change; NotFound when it is not exposed."""
    plugin, entry = _find_entry(principal, plugin_id, name)
    with transaction.atomic():
        deleted, _ = ExposedTool.objects.filter(plugin=plugin, service_name=entry["serviceName"],
                                                method=entry["method"], path=entry["path"]).delete()
        if not deleted:
            raise NotFound(f"The tool {name} of {plugin_id} is not exposed to members.", title="Tool not exposed",
                           code="tool_not_exposed", tool=name)
        events.tool_unexposed(principal, entry)
