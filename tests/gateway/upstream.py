"""A real HTTP server on 127.0.0.1 standing in for a plugin's service: records what it saw, answers as told.

Plain standard library (no pytest, no Django) so tests and the benchmark can both use it:

    with Upstream() as upstream:
        upstream.reply("/v2/contacts", json=[{"id": "cnt_1"}], headers={"X-Total": "1"})
        upstream.reply("/v2/slow", delay=2)
        ...  # call http://127.0.0.1:{upstream.port}/v2/contacts
        upstream.requests[0].headers["x-tenant-id"]

It speaks HTTP/1.1 with keep-alive (every answer has a Content-Length unless `chunked=True`), records
the client's port per request (to see connection reuse), and stops cleanly: delays are interrupted,
open keep-alive connections are shut down and every handler thread is joined.
"""

import gzip
import json as jsonlib
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_UNSET = object()


@dataclass
class Reply:
    """What the upstream answers on one path (see Upstream.reply for the meaning of each field)."""

    status: int = 200
    json: object = _UNSET
    text: str | None = None
    body: bytes | None = None
    headers: dict | list = field(default_factory=dict)  # a list of (name, value) may repeat a name
    delay: float = 0.0
    body_delay: float = 0.0
    redirect: str | None = None
    oversized: int | None = None
    chunked: bool = False
    gzip: bool = False

    def payload(self, request):
        """(content type or None, body bytes) for `request`."""
        if self.oversized is not None:
            return "application/octet-stream", b"x" * self.oversized
        if self.body is not None:
            return None, self.body
        if self.text is not None:
            return "text/plain; charset=utf-8", self.text.encode()
        if self.json is not _UNSET:
            return "application/json", jsonlib.dumps(self.json).encode()
        if self.redirect is not None or self.status in (204, 304) or self.status < 200:
            return None, b""
        # Nothing configured: echo what was asked, handy for tests that only look at the request.
        return "application/json", jsonlib.dumps({"method": request.method, "path": request.path}).encode()


@dataclass
class RecordedRequest:
    """One request as the upstream received it."""

    method: str
    path: str  # with the query string, exactly as sent on the request line
    headers: dict  # lower-cased names; repeated headers joined with ", "
    raw_headers: list  # [(name, value)] in the order and spelling received
    body: bytes
    client_port: int

    @property
    def path_only(self):
        return urlsplit(self.path).path

    @property
    def query(self):
        """The query as {name: [values]}."""
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    @property
    def query_string(self):
        return urlsplit(self.path).query

    def json(self):
        return jsonlib.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is observable
    disable_nagle_algorithm = True  # else every keep-alive answer waits ~40 ms for the client's delayed ACK
    server_version = "upstream-stub"

    def setup(self):
        super().setup()
        threading.current_thread().name = f"upstream-{self.server.server_address[1]}-handler"
        self.server.track(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format, *args):  # quiet: the tests assert on `requests` instead
        pass

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self):
        raw_headers = list(self.headers.items())
        headers = {}
        for name, value in raw_headers:
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        recorded = RecordedRequest(
            method=self.command, path=self.path, headers=headers, raw_headers=raw_headers,
            body=self._read_body(), client_port=self.client_address[1],
        )
        reply = self.server.upstream.record(recorded)
        if reply.delay and self.server.upstream.stopping.wait(reply.delay):
            self.close_connection = True
            return
        content_type, body = reply.payload(recorded)
        if reply.gzip:
            body = gzip.compress(body)
        self.send_response(reply.status)
        if reply.redirect is not None:
            self.send_header("Location", reply.redirect)
        extra = list(reply.headers.items()) if isinstance(reply.headers, dict) else list(reply.headers)
        if content_type and "content-type" not in {name.lower() for name, _ in extra}:
            self.send_header("Content-Type", content_type)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        for name, value in extra:
            self.send_header(name, value)
        no_body = reply.status in (204, 304) or reply.status < 200 or self.command == "HEAD"
        if reply.chunked and not no_body:
            self.send_header("Transfer-Encoding", "chunked")
        elif not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        if no_body:
            return
        if reply.body_delay and self.server.upstream.stopping.wait(reply.body_delay):
            self.close_connection = True
            return
        if reply.chunked:
            for start in range(0, len(body), 16384):
                piece = body[start:start + 16384]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        self.wfile.flush()

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, OSError):
            # The client gave up (a gateway timeout, a size cap): nothing left to answer.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every handler thread

    def __init__(self, upstream):
        self.upstream = upstream
        self._connections = set()
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, connection):
        with self._connections_lock:
            if self._closing:
                _shut(connection)
            else:
                self._connections.add(connection)

    def untrack(self, connection):
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self):
        """Shut down idle keep-alive connections so their handler threads return."""
        with self._connections_lock:
            self._closing = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def handle_error(self, request, client_address):  # a client hanging up is not an error here
        pass


def _shut(connection):
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Upstream:
    """A threaded HTTP/1.1 server on 127.0.0.1 (port chosen by the OS) that records requests."""

    def __init__(self):
        self.requests = []
        self.stopping = threading.Event()
        self._routes = {}
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self):
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"upstream-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self.stopping.set()  # interrupts delays
        self._server.shutdown()  # no new connections
        self._server.close_connections()
        self._server.server_close()  # joins the handler threads
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # --- addresses -------------------------------------------------------------------------------

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def base_url(self, prefix=""):
        """The URL a service registers, e.g. base_url("/v2") -> http://127.0.0.1:PORT/v2."""
        return self.url + prefix

    # --- behaviour -------------------------------------------------------------------------------

    def reply(self, path, status=200, *, json=_UNSET, text=None, body=None, headers=None, delay=0.0,
              body_delay=0.0, redirect=None, oversized=None, chunked=False, gzip=False, method=None):
        """Answer requests for `path` (without query; optionally only `method`) like this from now on.

        json/text/body: the body (JSON, text/plain, raw bytes); none of them: an echo of method and path.
        headers: extra response headers, a dict or a list of (name, value) to repeat a name. delay: seconds before answering. body_delay: seconds between the
        headers and the body. redirect: a Location to send (give status=302/307...). oversized: a body of
        that many bytes. chunked: send the body with chunked transfer encoding (no Content-Length).
        gzip: compress the body and say Content-Encoding: gzip.
        """
        if redirect is not None and status == 200:
            status = 302
        with self._lock:
            self._routes[(method, path)] = Reply(
                status=status, json=json, text=text, body=body, headers=headers or {}, delay=delay,
                body_delay=body_delay, redirect=redirect, oversized=oversized, chunked=chunked, gzip=gzip,
            )

    def record(self, request):
        with self._lock:
            self.requests.append(request)
            path = request.path_only
            return self._routes.get((request.method, path)) or self._routes.get((None, path)) or Reply()

    def requests_to(self, path):
        """The recorded requests whose path (without query) is `path`."""
        with self._lock:
            return [request for request in self.requests if request.path_only == path]

    @property
    def last(self):
        with self._lock:
            return self.requests[-1]

    def wait_for_requests(self, count, timeout=2.0):
        """Wait until `count` requests were recorded (a handler may record just after a client returns)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.requests) >= count


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
