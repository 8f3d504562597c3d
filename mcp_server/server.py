"""The MCP server at `/mcp`: the official `mcp` SDK's low-level Server over Streamable HTTP, serving the tools
of `plexica.tools` to whoever the request's API key is.

- Revisions: 2026-07-28 (one self-contained POST a request) and the handshake revisions up to 2025-11-25
  (`initialize`, then requests), as the SDK negotiates them.
- Stateless (`stateless=True`, JSON answers): no session lives in a process, so any web process answers any
  request of a client, with no sticky sessions. The session manager runs in the host's lifespan (the ASGI
  process, plexica.asgi) or in the WSGI bridge's event loop (mcp_server.bridge, the embedded mode).
- Each request: Host and Origin checked (DNS rebinding: `ALLOWED_HOSTS`, and `MCP_ALLOWED_ORIGINS` or the server's
  own origin), the body capped
  (`MCP_MAX_BODY_BYTES`), then the key authenticated (401 with `WWW-Authenticate: Bearer`, 403 for another
  organization), before the SDK reads the message. Handlers run the tool services in a worker thread.
- `tools/list`: the caller's tools in name order, 100 a page (an opaque cursor), with the 2026-07-28 caching
  hint (private: each caller has its own list). `tools/call`: an unknown tool is the protocol's -32602; arguments
  that fail the input schema and a tool's own failure are a result with `isError` and the problem as JSON, so
  the assistant can correct itself.
"""

import base64
import contextvars
import json
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from mcp.server.caching import CacheHint
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.exceptions import MCPError
import mcp_types as types
from starlette.requests import Request

import plexica
from mcp_server.auth import TENANT_HEADER, Refused, authenticate
from plexica import tools
from plexica.api.middleware import incoming_request_id
from plexica.events.log import request_id_var

logger = logging.getLogger("plexica.mcp")

PAGE_SIZE = 100
LIST_TTL_MS = 30_000
INSTRUCTIONS = ("Plexica's tools for this organization: its connected integrations' methods, the plugin endpoints "
                "you may call, and the platform's own (service discovery, shared data, installable plugins, "
                "dependency resolution, events). Tool names are `<instance>.<method>`, "
                "`<plugin>.<service>.<endpoint>` or `plexica.<operation>`.")

_principal = contextvars.ContextVar("plexica_mcp_principal", default=None)


def _principal_of(ctx):
    request = getattr(ctx, "request", None)
    state = getattr(request, "state", None)
    principal = getattr(state, "principal", None) if state is not None else None
    return principal or _principal.get()


def _in_thread(function, *args):
    """Run a database-using function in a worker thread, its connection closed or returned after."""

    def run():
        try:
            return function(*args)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)()


def _cursor(offset):
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(cursor):
    if not cursor:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["o"]
    except (ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise MCPError(types.INVALID_PARAMS, "The cursor is not one this server gave out.")
    return offset


def mcp_tool(tool):
    """A plexica.tools.Tool as the protocol's Tool."""
    return types.Tool(
        name=tool.name, title=tool.title, description=tool.description, input_schema=tool.input_schema,
        output_schema=tool.output_schema,
        annotations=types.ToolAnnotations(title=tool.title, read_only_hint=tool.read_only,
                                          destructive_hint=False if tool.read_only else None,
                                          idempotent_hint=tool.idempotent or None,
                                          open_world_hint=tool.open_world),
    )


def call_result(result, tool=None):
    """A ToolResult as the protocol's CallToolResult: the JSON as text, the data as structured content."""
    structured = None
    if not result.is_error and isinstance(result.data, dict):
        structured = result.data
    elif not result.is_error and tool is not None and tool.output_schema is not None:
        structured = {"result": result.data}
    return types.CallToolResult(content=[types.TextContent(type="text", text=result.text())],
                                structured_content=structured, is_error=result.is_error)


async def list_tools(ctx, params):
    principal = _principal_of(ctx)
    offset = _offset(getattr(params, "cursor", None) if params is not None else None)
    found = await _in_thread(tools.list_tools, principal)
    page = found[offset:offset + PAGE_SIZE]
    more = offset + PAGE_SIZE < len(found)
    return types.ListToolsResult(tools=[mcp_tool(tool) for tool in page],
                                 next_cursor=_cursor(offset + PAGE_SIZE) if more else None)


def _call(principal, name, arguments):
    """(Tool or None, ToolResult): invalid arguments as the tool's error result."""
    try:
        tool = tools.find_tool(principal, name)
    except tools.UnknownTool:
        return None, None
    try:
        return tool, tools.call_tool(principal, name, arguments)
    except tools.InvalidArguments as exc:
        return tool, tools.ToolResult(error=tools.error_of(exc))


async def call_tool(ctx, params):
    principal = _principal_of(ctx)
    tool, result = await _in_thread(_call, principal, params.name, params.arguments or {})
    if result is None:
        raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}. tools/list names the tools this "
                       "caller may call.")
    return call_result(result, tool)


SERVER = Server(
    "plexica", version=plexica.__version__, title="Plexica control plane", instructions=INSTRUCTIONS,
    cache_hints={"tools/list": CacheHint(ttl_ms=LIST_TTL_MS, scope="private")},
    on_list_tools=list_tools, on_call_tool=call_tool,
)


def security_settings():
    """Host and Origin rules (DNS rebinding): ALLOWED_HOSTS (any port) and MCP_ALLOWED_ORIGINS."""
    hosts = [host for host in settings.ALLOWED_HOSTS if host]
    if "*" in hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    allowed_hosts = []
    for host in hosts:
        host = host.lstrip(".")  # Django's ".example.com" (subdomains): the apex only here
        allowed_hosts += [host, f"{host}:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=allowed_hosts,
                                     allowed_origins=list(settings.MCP_ALLOWED_ORIGINS))


class HostAndOrigin(TransportSecurityMiddleware):
    """The SDK's DNS-rebinding checks (the Host one of the allowed hosts, then the Origin one of the allowed
    origins), with the server's own origin allowed too: an `Origin` equal to the request's `scheme://Host` is a
    page of this very server, a same-origin request, which the SDK accepts when the Origin is absent. A rebound
    name is no such thing: the browser sends it as the Host too, and the Host check refuses it first."""

    async def validate_request(self, request, is_post=False):
        origin = request.headers.get("origin")
        if origin and origin == f"{request.url.scheme}://{request.headers.get('host', '')}":
            scope = {**request.scope, "headers": [(name, value) for name, value in request.scope["headers"]
                                                  if name.lower() != b"origin"]}
            request = Request(scope, request.receive)
        return await super().validate_request(request, is_post=is_post)


def new_session_manager():
    """The SDK's session manager. Its own Host and Origin checks are off: McpApp makes them (HostAndOrigin) before
    anything reaches the manager; the transport still checks the Content-Type of a POST."""
    return StreamableHTTPSessionManager(app=SERVER, stateless=True, json_response=True,
                                        security_settings=TransportSecuritySettings(
                                            enable_dns_rebinding_protection=False),
                                        max_request_body_size=settings.MCP_MAX_BODY_BYTES)


async def refuse(send, status, code, message, extra_headers=()):
    rpc_code = {401: -32001, 403: -32003, 405: -32000, 413: -32600}.get(status, -32000)
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {
        "code": rpc_code, "message": message, "data": {"code": code}}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class McpApp:
    """The ASGI application of `/mcp`: security checks, the key, then the SDK's session manager (entered by the
    host: `async with app.manager.run()`)."""

    def __init__(self):
        self.manager = new_session_manager()
        self.security = HostAndOrigin(security_settings())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        refusal = await self.security.validate_request(request, is_post=False)
        if refusal is not None:  # wrong Host or Origin: before anything else is read
            await refusal(scope, receive, send)
            return
        if scope["method"] != "POST":
            # Stateless: no session to delete, and no stream of server-initiated messages to open (GET), which
            # Streamable HTTP lets a server decline with 405.
            await refuse(send, 405, "method_not_allowed", "This MCP server keeps no sessions and sends no "
                          "server-initiated messages: send each request as a POST.", ((b"allow", b"POST"),))
            return
        try:
            principal = await _in_thread(authenticate, request.headers.get("authorization", ""),
                                         request.headers.get(TENANT_HEADER, ""))
        except Refused as refused:
            challenge = ((b"www-authenticate", b'Bearer realm="plexica"'),) if refused.status == 401 else ()
            await refuse(send, refused.status, refused.code, refused.message, challenge)
            return
        scope.setdefault("state", {})["principal"] = principal
        principal_token = _principal.set(principal)
        request_token = request_id_var.set(incoming_request_id(request.headers.get("x-request-id")))
        listing = tools.begin()  # the SDK's header check, the lookup and the call share one tools list
        try:
            await self.manager.handle_request(scope, receive, send)
        finally:
            tools.end(listing)
            request_id_var.reset(request_token)
            _principal.reset(principal_token)
