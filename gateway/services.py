"""The gateway's calls: identity, routing, permissions, circuit breaker, upstream request.

`call_plugin` is the plugin-to-plugin call (POST /api/plugin-gateway/call, and plugin keys' tools): the caller
plugin must hold the target endpoint's permissions. `call_as_member` is a person's or an org key's call of a
tool endpoint (gateway/tools.py) with no caller plugin: org admins call any tool endpoint, members those an
org admin exposed (ExposedTool). Both go through the same lookup, endpoint match, circuit breaker, timeout,
network policy and metrics (`_call`).
"""

import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import urllib3
from django.conf import settings

from gateway.callstats import record_call
from gateway.client import upstream_pool
from gateway.models import ExposedTool
from plexica.access.services import require_member_capability
from plexica.errors import BadGateway, Forbidden, GatewayTimeout, Invalid, NotFound, ServiceUnavailable
from plexica.events.log import actor_of
from plexica.network import NetworkPolicyError
from plexica.observability.metrics import ExtensionCall
from plexica.plugins.models import Plugin
from plexica.plugins.services import granted_permissions
from plexica.work.breaker import Breaker
from registry.models import ServiceStatus
from registry.services import find_service, service_not_found
from registry.tool_endpoints import declares_tool, tool_name

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
}
# Never forwarded from the caller: its platform credential and anything we set ourselves.
_STRIPPED = {"authorization", "cookie", "x-caller-plugin-id", "x-caller-actor-type", "x-caller-actor-id",
             "x-request-id", "traceparent", "tracestate"}
# W3C trace context: version ff is invalid, and so are all-zero trace and parent ids.
_TRACEPARENT = re.compile(r"^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")
_NO_BODY_STATUSES = {204, 304}


@dataclass
class CallRequest:
    caller_plugin_id: str | None  # None for call_as_member
    target_plugin_id: str
    target_service_name: str
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    body: object = None
    has_body: bool = False
    # The registered path template the caller means (a tool's endpoint): a path that matches another is Invalid.
    endpoint_path: str | None = None


@dataclass
class CallResult:
    status: int
    data: object
    headers: dict


def resolve_caller(principal, caller_plugin_id):
    """The caller plugin's primary key: a plugin key is its own plugin; an org admin names any of the org's."""
    principal.check_acts_for(caller_plugin_id, doing="call as")
    if principal.plugin is not None:
        return principal.plugin.pk
    pk = (
        Plugin.objects.filter(organization=principal.organization, plugin_id=caller_plugin_id)
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        raise Invalid(f"callerPluginId: no plugin {caller_plugin_id} in this organization.")
    return pk


def match_endpoint(endpoints, method, path):
    """The endpoint for `method path`: an exact path first, then the most literal `:param` template."""
    for endpoint in endpoints:
        if endpoint["method"] == method and endpoint["path"] == path:
            return endpoint
    segments = path.split("/")
    best, best_literals = None, -1
    for endpoint in endpoints:
        if endpoint["method"] != method:
            continue
        template = endpoint["path"].split("/")
        if len(template) != len(segments):
            continue
        literals = 0
        for expected, actual in zip(template, segments):
            if expected.startswith(":"):
                if not actual:
                    break
            elif expected != actual:
                break
            else:
                literals += 1
        else:
            if literals > best_literals:
                best, best_literals = endpoint, literals
    return best


def caller_traceparent(http_traceparent, call_headers):
    """The trace context the caller sent: its own traceparent header, else one named in the call's headers."""
    if http_traceparent:
        return http_traceparent
    return next((value for name, value in call_headers.items() if name.lower() == "traceparent"), None)


def upstream_headers(organization, caller, caller_headers, request_id, traceparent):
    """The headers the upstream gets: the caller's own (less hop-by-hop ones and those we set), the tenant, the
    request id, `caller` (the headers naming who calls: `caller_identity`) and a well-formed traceparent."""
    headers = {
        name: str(value)
        for name, value in caller_headers.items()
        if name.lower() not in HOP_BY_HOP and name.lower() not in _STRIPPED and not name.lower().startswith("x-tenant-")
    }
    headers.update(
        {
            "X-Tenant-ID": organization.pk,
            "X-Tenant-Slug": organization.slug,
            **caller,
            "X-Request-ID": request_id,
        }
    )
    if traceparent and _TRACEPARENT.match(traceparent):
        headers["traceparent"] = traceparent
    return headers


def upstream_url(base_url, path, query):
    parts = urlsplit(base_url)
    url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{path}"
    if query:
        url += "?" + urlencode(query, doseq=True)
    return url


def _encode_body(call, headers):
    if not call.has_body or call.body is None:
        return None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if isinstance(call.body, str) and content_type and "json" not in content_type.lower():
        return call.body.encode()
    if content_type is None:
        headers["Content-Type"] = "application/json"
    return json.dumps(call.body, separators=(",", ":")).encode()


def _read_capped(response, deadline, service_name):
    limit = settings.GATEWAY_MAX_RESPONSE_BYTES
    declared = response.headers.get("content-length")
    # ASCII digits only: "²" is a str.isdigit() digit that int() refuses (the stream's cap still holds).
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BadGateway(f"Upstream response is larger than {limit} bytes.", serviceName=service_name)
    chunks, size = [], 0
    for chunk in response.stream(65536):
        size += len(chunk)
        if size > limit:
            raise BadGateway(f"Upstream response is larger than {limit} bytes.", serviceName=service_name)
        if time.monotonic() > deadline:
            raise GatewayTimeout("Upstream did not finish answering in time.", serviceName=service_name)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body, content_type):
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    if "json" in (content_type or "").lower():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


# extension_errors_total's error_type of each refusal or failure the gateway answers itself.
_ERROR_TYPES = {Invalid: "invalid", NotFound: "not_found", Forbidden: "forbidden", BadGateway: "bad_gateway",
                GatewayTimeout: "timeout", ServiceUnavailable: "circuit_open"}


def call_plugin(principal, call, request_id, traceparent=None):
    """Proxy `call` to the target service and return its CallResult; raises DomainErrors in check order.

    A key with `ext:{pluginId}:routes` scopes calls only those target plugins (Forbidden otherwise, before
    anything is looked up). `traceparent` is the caller's own header; without it, a traceparent in
    `call.headers` is used. Once the caller is known, the call is counted (gateway.callstats, no database
    query; and the extension_* series of plexica.observability, an in-memory write): an error when the
    gateway refuses or fails it, or the upstream answers 5xx.
    """
    caller_pk = resolve_caller(principal, call.caller_plugin_id)
    principal.check_may_call(call.target_plugin_id)

    def authorize(service, endpoint):
        required = endpoint["permissions"]
        if required:
            missing = sorted(set(required) - granted_permissions(caller_pk))
            if missing:
                raise Forbidden(
                    f"{call.caller_plugin_id} lacks the permission(s) {', '.join(missing)} "
                    f"required by {call.method} {endpoint['path']}.",
                    missingPermissions=missing,
                )

    return _counted(principal, call, authorize, {"X-Caller-Plugin-ID": call.caller_plugin_id}, request_id,
                    traceparent, caller_pk)


def caller_identity(principal):
    """The headers naming a caller that is not a plugin: `X-Caller-Actor-Type` and `X-Caller-Actor-ID`, as the
    event log names actors (member + username, key + key id, superuser + username, system)."""
    actor_type, actor_id = actor_of(principal)
    return {"X-Caller-Actor-Type": str(actor_type), "X-Caller-Actor-ID": str(actor_id or "")}


def is_exposed(organization, plugin_id, service_name, method, path):
    """True when an org admin exposed the endpoint `method path` (its template) of `plugin_id`'s service."""
    return ExposedTool.objects.filter(organization=organization, plugin__plugin_id=plugin_id,
                                      service_name=service_name, method=method, path=path).exists()


def call_as_member(principal, call, request_id, traceparent=None):
    """Call a tool endpoint (one that declares an `inputSchema`) as a person or an org key, with no caller plugin.

    Instead of the caller plugin's permissions: org admins (and org keys, superusers, the system) call any tool
    endpoint, members (sessions and member keys) only those an org admin exposed (ExposedTool); a plugin's key
    is refused (it calls as its plugin, `call_plugin`). The upstream gets `caller_identity` instead of
    X-Caller-Plugin-ID. Everything else is `call_plugin`'s: the `ext:{pluginId}:routes` scopes, the lookup and
    endpoint match, circuit breaker, timeout, network policy and the extension_* metrics; the hourly call
    statistics (GatewayCallStat, per calling plugin) count plugin callers only.
    """
    require_member_capability(principal, "Calling a plugin's tool")
    principal.check_may_call(call.target_plugin_id)
    organization = principal.organization

    def authorize(service, endpoint):
        where = f"{call.method} {endpoint['path']} of {call.target_service_name}"
        if not declares_tool(endpoint):
            raise Forbidden(f"{where} is not a tool (its registration declares no inputSchema).",
                            code="not_a_tool")
        if principal.is_org_admin:
            return
        if not is_exposed(organization, service["pluginId"], call.target_service_name, call.method,
                          endpoint["path"]):
            name = tool_name(service["pluginId"], call.target_service_name, endpoint)
            raise Forbidden(f"{where} is not exposed to members: an organization admin exposes it (PUT "
                            f"/api/v1/plugins/{service['pluginId']}/tools/{name}/exposure).",
                            code="tool_not_exposed", tool=name)

    return _counted(principal, call, authorize, caller_identity(principal), request_id, traceparent, None)


def _counted(principal, call, authorize, caller, request_id, traceparent, caller_pk):
    """`_call`, counted: the extension_* metrics always, the hourly call statistics when there is a caller plugin."""
    started, reached = time.monotonic(), []
    metric = ExtensionCall(principal.organization.slug, call.method)
    try:
        result = _call(principal, call, authorize, caller, request_id, traceparent, reached, metric)
    except Exception as exc:
        elapsed = time.monotonic() - started
        if caller_pk is not None:
            record_call(caller_pk, reached[0] if reached else "", failed=True, duration_ms=elapsed * 1000)
        metric.finished(getattr(exc, "status", 500), elapsed, _ERROR_TYPES.get(type(exc), "internal"))
        raise
    elapsed = time.monotonic() - started
    if caller_pk is not None:
        record_call(caller_pk, reached[0], failed=result.status >= 500, duration_ms=elapsed * 1000)
    metric.finished(result.status, elapsed, "upstream_5xx" if result.status >= 500 else None)
    return result


def _call(principal, call, authorize, caller, request_id, traceparent, reached, metric):
    organization = principal.organization
    service = find_service(organization, call.target_service_name)
    if service is None or service["status"] == ServiceStatus.UNAVAILABLE:
        raise service_not_found(call.target_service_name)
    if service["pluginId"] != call.target_plugin_id:
        raise Invalid(
            f"Service {call.target_service_name} belongs to {service['pluginId']}, not {call.target_plugin_id}."
        )
    reached.append(service["pluginId"])  # a real target: counted under its plugin
    metric.target(service["pluginId"])
    endpoint = match_endpoint(service["endpoints"], call.method, call.path)
    if endpoint is None:
        raise NotFound(
            title="Endpoint not found",
            serviceName=call.target_service_name,
            method=call.method,
            path=call.path,
            availableEndpoints=[f"{e['method']} {e['path']}" for e in service["endpoints"]],
        )
    metric.target(service["pluginId"], endpoint["path"])  # the registered template, never the raw path
    if call.endpoint_path is not None and endpoint["path"] != call.endpoint_path:
        raise Invalid(
            f"{call.method} {call.path} is the endpoint {call.method} {endpoint['path']} of "
            f"{call.target_service_name}, not {call.endpoint_path}: a path parameter's value makes another "
            "endpoint's path.",
            endpoint=f"{call.method} {endpoint['path']}",
        )
    authorize(service, endpoint)
    if not service["baseUrl"]:
        raise BadGateway(f"Service {call.target_service_name} registered no baseUrl.", serviceName=call.target_service_name)

    breaker = service_breaker(service["id"])
    allowed, retry_after = breaker.allow()
    if not allowed:
        error = ServiceUnavailable(
            f"Circuit open for {call.target_service_name} after repeated failures; retry in {int(retry_after) + 1}s.",
            serviceName=call.target_service_name,
        )
        error.headers = {"Retry-After": str(int(retry_after) + 1)}
        raise error

    timeout = _timeout_for(endpoint)
    traceparent = caller_traceparent(traceparent, call.headers)
    headers = upstream_headers(organization, caller, call.headers, request_id, traceparent)
    body = _encode_body(call, headers)
    metric.sending()
    try:
        result = _send(service, call, headers, body, timeout)
    except (BadGateway, GatewayTimeout):
        breaker.record_failure()
        raise
    if result.status >= 500:
        breaker.record_failure()
    else:
        breaker.record_success()
    return result


def service_breaker(service_id):
    """The circuit breaker of one target service, with the gateway's thresholds."""
    return Breaker(service_id, failures=settings.GATEWAY_BREAKER_FAILURES, cooldown=settings.GATEWAY_BREAKER_COOLDOWN)


def _timeout_for(endpoint):
    timeout_ms = (endpoint.get("metadata") or {}).get("timeoutMs")
    if isinstance(timeout_ms, int) and not isinstance(timeout_ms, bool) and timeout_ms > 0:
        return timeout_ms / 1000
    return float(settings.GATEWAY_TIMEOUT_SECONDS)


def _send(service, call, headers, body, timeout):
    name = call.target_service_name
    url = upstream_url(service["baseUrl"], call.path, call.query)
    deadline = time.monotonic() + timeout
    try:
        response = upstream_pool().request(
            call.method, url, body=body, headers=headers, redirect=False, retries=False, preload_content=False,
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        )
    except NetworkPolicyError as exc:
        raise BadGateway(f"Upstream address refused by the network policy: {exc}.", serviceName=name) from None
    except urllib3.exceptions.ReadTimeoutError:
        raise GatewayTimeout(f"Upstream did not answer within {timeout:g}s.", serviceName=name) from None
    except urllib3.exceptions.HTTPError as exc:
        raise BadGateway(f"Upstream unreachable: {type(exc).__name__}.", serviceName=name) from None
    try:
        if not 100 <= response.status <= 599:
            raise BadGateway(f"Upstream answered with an invalid status {response.status}.", serviceName=name)
        raw = _read_capped(response, deadline, name)
    except urllib3.exceptions.ReadTimeoutError:
        _discard(response)
        raise GatewayTimeout(f"Upstream did not answer within {timeout:g}s.", serviceName=name) from None
    except urllib3.exceptions.HTTPError as exc:
        _discard(response)
        raise BadGateway(f"Upstream connection failed: {type(exc).__name__}.", serviceName=name) from None
    except BaseException:
        _discard(response)
        raise
    response.release_conn()  # fully read: the connection goes back to the pool for keep-alive
    return CallResult(status=response.status, data=_decode(raw, response.headers.get("content-type")),
                      headers=_response_headers(response.headers))


def _discard(response):
    """Close a connection whose answer was not read to the end, so the rest never reaches the next caller."""
    response.close()
    response.release_conn()


def _response_headers(headers):
    # The body is handed back decoded, so an encoding urllib3 undid no longer applies to it.
    decoded = {part.strip().lower() for part in headers.get("content-encoding", "").split(",") if part.strip()}
    undone = decoded and decoded <= set(urllib3.response.HTTPResponse.CONTENT_DECODERS)
    # A repeated header (Set-Cookie, Link) keeps all its values, joined as HTTP allows.
    return {
        name.lower(): value
        for name, value in headers.itermerged()
        if name.lower() not in HOP_BY_HOP and not (undone and name.lower() == "content-encoding")
    }
