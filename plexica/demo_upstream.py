"""The demo's stand-in for plugin-crm's service: what the README registers as `crm.contacts` at
http://127.0.0.1:3100, so its gateway `/call` example answers without writing a plugin first.

`manage.py serve --demo-upstream 3100` (what `make run` does) runs it on a thread of the server process:

    GET /contacts?limit=&offset=   a JSON list of contacts
    GET /contacts/<id>             one contact, or 404
    GET /health                    {"status": "pass"} as application/health+json (the platform's checks)
    POST /webhooks                 a webhook receiver for the README's outbound webhook example: 204
    GET /webhooks                  the last 50 deliveries it received (webhook-id, type, signature headers)

Every answer echoes the gateway headers it received as `X-Received-Caller-Plugin-ID`,
`X-Received-Tenant-Slug` and `X-Received-Request-ID`, so a caller sees what the target was told.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEFAULT_PORT = 3100
HOST = "127.0.0.1"
CONTACTS = [
    {"id": "cnt_001", "name": "John Doe", "email": "john@example.com", "company": "Acme Corp"},
    {"id": "cnt_002", "name": "Jane Smith", "email": "jane@example.com", "company": "Globex"},
    {"id": "cnt_003", "name": "Ada Lovelace", "email": "ada@example.com", "company": "Analytical Engines"},
    {"id": "cnt_004", "name": "Grace Hopper", "email": "grace@example.com", "company": "Initech"},
]
ECHOED_HEADERS = ["X-Caller-Plugin-ID", "X-Tenant-Slug", "X-Request-ID"]
WEBHOOK_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature", "X-Plexica-Signature-256"]
KEPT_DELIVERIES = 50
_deliveries = []
_deliveries_lock = threading.Lock()


def _count(query, name, default):
    value = query.get(name, [str(default)])[-1]
    return int(value) if value.isascii() and value.isdigit() else default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway's pooled client expects
    server_version = "plexica-demo-upstream"

    def do_GET(self):
        url = urlsplit(self.path)
        parts = [part for part in url.path.split("/") if part]
        if parts == ["health"]:
            self._answer(200, {"status": "pass", "version": "1", "description": "demo contacts"},
                         content_type="application/health+json")
        elif parts == ["webhooks"]:
            with _deliveries_lock:
                self._answer(200, list(reversed(_deliveries)))
        elif parts == ["contacts"]:
            query = parse_qs(url.query)
            offset, limit = _count(query, "offset", 0), _count(query, "limit", len(CONTACTS))
            self._answer(200, CONTACTS[offset:offset + limit])
        elif len(parts) == 2 and parts[0] == "contacts":
            contact = next((c for c in CONTACTS if c["id"] == parts[1]), None)
            if contact is None:
                self._answer(404, {"error": "Not Found", "message": f"No contact {parts[1]}."})
            else:
                self._answer(200, contact)
        else:
            self._answer(404, {"error": "Not Found",
                               "message": "The demo serves GET /contacts, /contacts/<id>, /health and /webhooks."})

    def _not_allowed(self):
        self._answer(405, {"error": "Method Not Allowed",
                           "message": "The demo contacts are read-only; webhooks are POSTed to /webhooks."})

    def do_POST(self):
        if [part for part in urlsplit(self.path).path.split("/") if part] != ["webhooks"]:
            return self._not_allowed()
        length = _count({"n": [self.headers.get("Content-Length", "0")]}, "n", 0)
        body = self.rfile.read(min(length, 1024 * 1024))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        delivery = {name: self.headers.get(name) for name in WEBHOOK_HEADERS}
        delivery["body"] = payload if payload is not None else body.decode("utf-8", "replace")
        with _deliveries_lock:
            _deliveries.append(delivery)
            del _deliveries[:-KEPT_DELIVERIES]
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_PATCH = do_DELETE = _not_allowed

    def _answer(self, status, payload, content_type="application/json"):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name in ECHOED_HEADERS:
            if self.headers.get(name) is not None:
                self.send_header("X-Received-" + name.removeprefix("X-"), self.headers[name])
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass  # the gateway logs each call already; a second line per request is noise


def start_demo_upstream(port=DEFAULT_PORT):
    """Serve the demo contacts on 127.0.0.1:`port` from a daemon thread; return the server.

    Raises OSError when the port is taken (or not ours to bind). `port=0` picks a free one
    (`server.server_port`). Stop it with `server.shutdown(); server.server_close()`.
    """
    server = ThreadingHTTPServer((HOST, port), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-upstream", daemon=True).start()
    return server
