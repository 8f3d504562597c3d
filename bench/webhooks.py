"""The `webhooks` phase of the benchmark: emit-to-first-delivery-attempt latency and deliveries per second.

bench/run.py starts a real Celery worker (one solo process) beside gunicorn; this module starts the test
suite's verifying receiver (tests/webhooks/receiver.py) in a thread, subscribes it with the plugin key
(POST /api/v1/webhooks), then:

- latency: emits `--webhook-events` events through gunicorn (POST /api/v1/events) at `--webhook-rate`/s and
  times each from sending its POST to its first delivery attempt reaching the receiver (p50/p99);
- throughput: emits a burst of as many events from 8 threads and counts deliveries per second at the
  receiver from the burst's first delivery to its last (one worker process: deliveries/s per worker).

Every delivery is verified (standardwebhooks and X-Plexica-Signature-256); the endpoint is deleted after.
"""

import http.client
import importlib.util
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TYPE = "plugin-crm.bench.hook"
SECRET = "bench-webhook-secret-0123456789"
TIMEOUT_SECONDS = 120.0


def environment():
    """What gunicorn and the worker need for a receiver on loopback."""
    return {"WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}


def _receiver_module():
    """tests/webhooks/receiver.py, loaded by its path: its package imports Django models, this process none."""
    path = Path(__file__).resolve().parents[1] / "tests" / "webhooks" / "receiver.py"
    spec = importlib.util.spec_from_file_location("bench_webhook_receiver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _request(port, context, method, path, body=None):
    headers = {"Content-Type": "application/json", "X-Tenant-Slug": context["org"],
               "Authorization": f"Bearer {context['crm_key']}"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                           headers=headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise RuntimeError(f"{method} {path} answered {response.status}: {answer[:300]!r}")
    return json.loads(answer) if answer else None


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def _first_arrivals(receiver, phase):
    """{seq: monotonic time of its first delivery} for the events of `phase`."""
    first = {}
    with receiver.lock:
        for delivery in receiver.deliveries:
            data = delivery.payload["data"]
            if data.get("phase") == phase and data["seq"] not in first:
                first[data["seq"]] = delivery.received_at
    return first


def _wait(receiver, phase, count):
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if len(_first_arrivals(receiver, phase)) >= count:
            return
        time.sleep(0.02)
    raise RuntimeError(f"{phase}: {len(_first_arrivals(receiver, phase))} of {count} events delivered in "
                       f"{TIMEOUT_SECONDS:g}s")


def measure_webhooks(wsgi_port, context, *, events=200, rate=20.0):
    """One row: latency p50/p99 (ms) from POST /api/v1/events to the first attempt, deliveries/s of a burst."""
    receiver = _receiver_module().Receiver([SECRET]).start()
    endpoint = _request(wsgi_port, context, "POST", "/api/v1/webhooks",
                        {"url": receiver.url, "events": [TYPE], "secret": SECRET,
                         "description": "bench receiver"})["item"]
    try:
        sent = {}
        for seq in range(events):
            sent[seq] = time.monotonic()
            _request(wsgi_port, context, "POST", "/api/v1/events", {"type": TYPE, "data": {"phase": "latency",
                                                                                           "seq": seq}})
            time.sleep(max(0.0, sent[seq] + 1 / rate - time.monotonic()))
        _wait(receiver, "latency", events)
        first = _first_arrivals(receiver, "latency")
        latencies = [(first[seq] - sent[seq]) * 1000 for seq in range(events)]

        def emit(seq):
            _request(wsgi_port, context, "POST", "/api/v1/events", {"type": TYPE, "data": {"phase": "burst",
                                                                                           "seq": seq}})

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(emit, range(events)))
        _wait(receiver, "burst", events)
        arrivals = sorted(_first_arrivals(receiver, "burst").values())
        span = arrivals[-1] - arrivals[0]
        invalid = sum(1 for delivery in receiver.deliveries if not delivery.valid)
    finally:
        try:
            _request(wsgi_port, context, "DELETE", f"/api/v1/webhooks/{endpoint['id']}")
        finally:
            receiver.stop()
    return {
        "name": "webhooks", "events": events, "rate": rate,
        "p50_ms": _percentile(latencies, 0.50), "p99_ms": _percentile(latencies, 0.99),
        "max_ms": max(latencies), "deliveries_per_s": (len(arrivals) - 1) / span if span > 0 else None,
        "invalid_signatures": invalid,
    }


def render(row):
    rate = f"{row['deliveries_per_s']:.0f}" if row["deliveries_per_s"] else "-"
    return (f"webhooks: emit -> first delivery attempt over {row['events']} events at {row['rate']:g}/s: "
            f"p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms (goal < 1000 ms), max {row['max_ms']:.1f} ms; "
            f"a burst of {row['events']}: {rate} deliveries/s on one worker process; "
            f"{row['invalid_signatures']} invalid signatures")


