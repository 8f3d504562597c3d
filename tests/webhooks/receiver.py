"""A real webhook receiver on 127.0.0.1 for the delivery tests: it verifies every delivery with the
`standardwebhooks` library and with the seed's `X-Plexica-Signature-256` snippet, records what came, and
answers as told (a scripted answer per request, a random fraction of failures, a hang past the timeout).
"""

import hashlib
import hmac
import json
import random
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def seed_verify(payload, signature, secret):
    """The seed's verification snippet (nexus-api.md), bytes in."""
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


def standard_verify(payload, headers, secret):
    """Standard Webhooks verification with the library (a plain secret is its UTF-8 bytes)."""
    key = secret if secret.startswith("whsec_") else secret.encode()
    try:
        Webhook(key).verify(payload, headers)
        return True
    except WebhookVerificationError:
        return False


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b"ok"
    hang: float = 0.0


@dataclass
class Delivery:
    webhook_id: str
    headers: dict
    body: bytes
    answered: int
    standard_valid: bool
    seed_valid: bool
    received_at: float

    @property
    def payload(self):
        return json.loads(self.body)

    @property
    def valid(self):
        return self.standard_valid and self.seed_valid


class Receiver:
    """The server; `secrets` are the ones a delivery may be signed with (any one verifying is enough)."""

    def __init__(self, secrets=(), seed=None):
        self.secrets = list(secrets)
        self.deliveries = []
        self.script = deque()
        self.default = Answer()
        self.fail_fraction = 0.0
        self.fail_status = 500
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                # Headers and body go out in two writes: without this, Nagle waits for the client's delayed ACK.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # Telling it how to answer

    def answer(self, status=200, headers=None, body=b"ok", hang=0.0, times=1):
        """The next `times` requests get this answer (before the default and the random failures)."""
        with self.lock:
            for _ in range(times):
                self.script.append(Answer(status, headers or {}, body, hang))

    def answer_always(self, status=200, headers=None, body=b"ok", hang=0.0):
        with self.lock:
            self.default = Answer(status, headers or {}, body, hang)

    def fail_randomly(self, fraction, status=500):
        with self.lock:
            self.fail_fraction, self.fail_status = fraction, status

    # What came

    def _handle(self, handler, body):
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self.lock:
            if self.script:
                answer = self.script.popleft()
            elif self.fail_fraction and self.random.random() < self.fail_fraction:
                answer = Answer(self.fail_status, {}, b"random failure")
            else:
                answer = self.default
        standard = any(standard_verify(body, headers, secret) for secret in self.secrets)
        seed = any(seed_verify(body, headers.get(name, ""), secret) for secret in self.secrets
                   for name in ("x-plexica-signature-256", "x-plexica-signature-256-previous"))
        delivery = Delivery(headers.get("webhook-id", ""), headers, body, answer.status, standard, seed,
                            time.monotonic())
        with self.arrived:  # recorded before answering: the sender may look as soon as it has the answer
            self.deliveries.append(delivery)
            self.arrived.notify_all()
        if answer.hang:
            time.sleep(answer.hang)
        try:
            handler.send_response(answer.status)
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(answer.body)))
            handler.end_headers()
            handler.wfile.write(answer.body)
        except OSError:
            pass  # the client gave up (a timeout)

    def wait_for(self, count, seconds=10):
        """Block until `count` deliveries arrived; returns them."""
        deadline = time.monotonic() + seconds
        with self.arrived:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.deliveries)} deliveries arrived, expected {count}")
                self.arrived.wait(left)
            return list(self.deliveries)

    def ids(self):
        with self.lock:
            return Counter(delivery.webhook_id for delivery in self.deliveries)

    def succeeded_ids(self):
        with self.lock:
            return Counter(d.webhook_id for d in self.deliveries if 200 <= d.answered < 300)


@pytest.fixture(name="receiver")
def receiver_fixture(settings):
    """A started receiver on 127.0.0.1, with loopback opened to webhooks; give it the endpoint's secret."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(name="eager_tasks")
def eager_tasks_fixture(monkeypatch):
    """Enqueued work runs right here even with a broker configured (the worker test covers the broker)."""
    from plexica.celery import app
    from plexica.work import queue

    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
