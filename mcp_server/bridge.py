"""`/mcp` under a WSGI server (the embedded mode's runserver, or gunicorn when no ASGI process is deployed): the
same ASGI application (mcp_server.server.McpApp), run on one event loop thread per process that holds the SDK's
session manager open. Each request is one exchange (stateless, JSON answers), so a WSGI request carries it whole:
the body in, the status, headers and body out."""

import asyncio
import logging
import threading

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger("plexica.mcp")

# Long enough for the slowest tool (an integration method's timeoutMs, a plugin endpoint's timeout).
EXCHANGE_TIMEOUT = 600


class _LoopThread:
    def __init__(self):
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.loop = None
        self.app = None
        self.error = None

    def ensure(self):
        with self._lock:
            if self.loop is None:
                threading.Thread(target=self._run, name="mcp-bridge", daemon=True).start()
                self._ready.wait(30)
                if self.error is not None:
                    self.loop, error, self.error = None, self.error, None
                    raise error
        return self.loop, self.app

    def _run(self):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(loop))
        except Exception as exc:  # the manager did not start: the next request tries again
            self.error = exc
            self._ready.set()

    async def _serve(self, loop):
        from mcp_server.server import McpApp

        self.app = McpApp()
        async with self.app.manager.run():
            self.loop = loop
            self._ready.set()
            await asyncio.Event().wait()  # for the life of the process


_THREAD = _LoopThread()


def _scope(request, body):
    headers = []
    for name, value in request.META.items():
        if name.startswith("HTTP_"):
            headers.append((name[5:].replace("_", "-").lower().encode("latin-1"), value.encode("latin-1")))
    if request.META.get("CONTENT_TYPE"):
        headers.append((b"content-type", request.META["CONTENT_TYPE"].encode("latin-1")))
    headers.append((b"content-length", str(len(body)).encode()))
    server_port = int(request.get_port() or 80)
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": request.method, "scheme": request.scheme, "path": request.path,
        "raw_path": request.path.encode(), "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "root_path": "", "headers": headers, "client": (request.META.get("REMOTE_ADDR", ""), 0),
        "server": (request.get_host().rsplit(":", 1)[0], server_port), "state": {},
    }


async def _exchange(app, scope, body):
    sent = {"status": 500, "headers": [], "body": []}
    delivered = asyncio.Event()

    async def receive():
        if not delivered.is_set():
            delivered.set()
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer is complete

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"], sent["headers"] = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            sent["body"].append(message.get("body", b""))

    await app(scope, receive, send)
    return sent


def _refused(status, message, code):
    return JsonResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message,
                                                                  "data": {"code": code}}}, status=status)


@csrf_exempt
def mcp_view(request):
    try:
        body = request.body
    except RequestDataTooBig:
        return _refused(413, "The request body is over the size limit.", "payload_too_large")
    try:
        loop, app = _THREAD.ensure()
        future = asyncio.run_coroutine_threadsafe(_exchange(app, _scope(request, body), body), loop)
        sent = future.result(EXCHANGE_TIMEOUT)
    except Exception:
        logger.exception("The MCP bridge failed on %s %s", request.method, request.path)
        return _refused(500, "An unexpected error occurred.", "internal_error")
    response = HttpResponse(b"".join(sent["body"]), status=sent["status"])
    for name, value in sent["headers"]:
        name = name.decode("latin-1")
        if name.lower() not in ("content-length", "transfer-encoding", "connection"):
            response[name] = value.decode("latin-1")
    return response
