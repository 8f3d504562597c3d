"""The benchmark's upstream: a small keep-alive HTTP/1.1 JSON server on asyncio.

It stands in for a plugin's service (crm.contacts). It must never be the bottleneck and must use as
little CPU as possible, because it shares the machine with gunicorn, PostgreSQL, Redis and the
clients: an asyncio protocol answering prepared bytes costs a few microseconds a request, where a
WSGI server costs a few hundred. Several processes can share the port (SO_REUSEPORT).

Run alone: python bench/upstream.py --port 3100 [--procs 2]
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import sys

CONTACTS = [
    {"id": f"cnt_{n:03d}", "name": f"Contact {n}", "email": f"contact{n}@example.com", "company": "Acme Corp"}
    for n in range(1, 11)
]


def _json(status, payload):
    return status, json.dumps(payload, separators=(",", ":")).encode()


# (method, path) -> (status, body). Add a route here when an operation needs one.
ROUTES = {
    ("GET", "/contacts"): _json(200, CONTACTS),
    ("POST", "/contacts"): _json(201, CONTACTS[0]),
    ("GET", "/healthz"): _json(200, {"status": "ok"}),
}
# GET /contacts/:id answers any id with the first contact.
PREFIX_ROUTES = {("GET", "/contacts/"): _json(200, CONTACTS[0])}
NOT_FOUND = _json(404, {"error": "Not found"})
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 501: "Not Implemented"}
MAX_HEAD = 64 * 1024


def answer(method, target):
    path = target.split("?", 1)[0]
    found = ROUTES.get((method, path))
    if found is None:
        prefixed = (v for (m, p), v in PREFIX_ROUTES.items() if m == method and path.startswith(p))
        found = next(prefixed, NOT_FOUND)
    return found


def render(status, body, keep_alive):
    head = (
        f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode() + body


class UpstreamProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data):
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._reply_and_close(400)
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self._reply_and_close(400)
                return
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._reply_and_close(501)  # nothing in the benchmark sends chunked bodies
                return
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return  # wait for the rest of the body
            del self.buffer[: end + 4 + length]
            keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            status, body = answer(method, target)
            self.transport.write(render(status, body, keep_alive))
            if not keep_alive:
                self.transport.close()
                self.transport = None

    def _reply_and_close(self, status):
        self.transport.write(render(status, json.dumps({"error": REASONS[status]}).encode(), False))
        self.transport.close()
        self.transport = None

    def connection_lost(self, exc):
        self.transport = None


def serve(sock):
    async def main():
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
        server = await loop.create_server(UpstreamProtocol, sock=sock, backlog=1024)
        async with server:
            await stop

    asyncio.run(main())


def listening_socket(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed on stdout)")
    parser.add_argument("--procs", type=int, default=1, help="processes sharing the port")
    args = parser.parse_args(argv)
    first = listening_socket(args.host, args.port)
    port = first.getsockname()[1]
    children = []
    for _ in range(args.procs - 1):
        pid = os.fork()
        if pid == 0:
            first.close()
            serve(listening_socket(args.host, port))
            os._exit(0)
        children.append(pid)
    print(f"listening on http://{args.host}:{port}", flush=True)
    try:
        serve(first)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
