"""The `stream` phase of make bench: emit-to-event-received latency on many concurrent stream clients.

The benchmark starts the ASGI process of full mode (uvicorn serving plexica.asgi, with its bounded
database pool) beside gunicorn, opens `--stream-clients` (100) Server-Sent Events clients on
GET /api/v1/events/stream?type=plugin-crm.bench.* as plugin-crm, waits until every one has its opening
message, then emits `--stream-events` events through gunicorn (POST /api/v1/events) at `--stream-rate`
a second. Each event's data carries the time its POST was sent; each client notes when the event's
`data:` line arrived. Latency is arrival minus sending, over every (client, event) pair; the row also
counts events that never arrived (missing) and any that arrived twice.

The clients are asyncio connections in one process of the harness, so its event loop's own delay is in
the figures: they are an upper bound of what the server adds.
"""

import asyncio
import http.client
import json
import subprocess
import sys
import threading
import time

STREAM_TYPE = "plugin-crm.bench.delivered"
START_TIMEOUT = 60.0


def start_asgi(supervisor, env, log, port, root, workers=1):
    """uvicorn serving plexica.asgi on `port`, with its lifespan (which holds the MCP session manager open: /mcp
    needs it), as production runs it, in `workers` processes; returns once /healthz answers."""
    command = [sys.executable, "-m", "uvicorn", "plexica.asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--lifespan", "on", "--no-access-log", "--log-level", "warning"]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = supervisor.start("asgi", command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {process.returncode}; see {log.name}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not become ready in {START_TIMEOUT:g}s; see {log.name}")


async def _client(port, context, ready, arrivals, stop):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (f"GET /api/v1/events/stream?type={STREAM_TYPE} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Accept: text/event-stream\r\nX-Tenant-Slug: {context['org']}\r\n"
               f"Authorization: Bearer {context['crm_key']}\r\n\r\n")
    writer.write(request.encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"the stream answered {status!r}")
    opened = False
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                return
            if not opened and line.startswith(b": connected"):
                opened = True
                ready()
            elif line.startswith(b"data: "):
                now = time.time()
                payload = json.loads(line[6:])
                arrivals.append((payload["data"]["seq"], now - payload["data"]["sentAt"]))
    finally:
        writer.close()


def _emit(port, context, count, rate):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "X-Tenant-Slug": context["org"],
               "Authorization": f"Bearer {context['crm_key']}"}
    start = time.monotonic()
    for seq in range(count):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = json.dumps({"type": STREAM_TYPE, "data": {"seq": seq, "sentAt": time.time()}})
        connection.request("POST", "/api/v1/events", body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 201 and answer.status != 200:
            raise RuntimeError(f"POST /api/v1/events answered {answer.status}")


def _percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def _run(asgi_port, wsgi_port, context, clients, events, rate):
    opened = 0
    all_open = asyncio.Event()
    stop = asyncio.Event()

    def ready():
        nonlocal opened
        opened += 1
        if opened == clients:
            all_open.set()

    per_client = [[] for _ in range(clients)]
    tasks = [asyncio.create_task(_client(asgi_port, context, ready, per_client[n], stop)) for n in range(clients)]
    try:
        await asyncio.wait_for(all_open.wait(), 60)
        emitter = threading.Thread(target=_emit, args=(wsgi_port, context, events, rate), daemon=True)
        emitter.start()
        deadline = time.monotonic() + events / rate + 15
        while time.monotonic() < deadline:
            if all(len(arrivals) >= events for arrivals in per_client):
                break
            await asyncio.sleep(0.1)
        emitter.join(timeout=5)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return per_client


def measure_stream(asgi_port, wsgi_port, context, *, clients=100, events=100, rate=20.0):
    """One row: clients, events, deliveries expected and received, missing, duplicated, latency ms."""
    per_client = asyncio.run(_run(asgi_port, wsgi_port, context, clients, events, rate))
    latencies = sorted(latency * 1000 for arrivals in per_client for _, latency in arrivals)
    duplicated = sum(len(arrivals) - len({seq for seq, _ in arrivals}) for arrivals in per_client)
    missing = sum(events - len({seq for seq, _ in arrivals}) for arrivals in per_client)

    def ms(value):
        return round(value, 2) if value is not None else None

    return {
        "name": "stream", "clients": clients, "events": events, "rate": rate,
        "expected": clients * events, "received": len(latencies), "missing": missing, "duplicated": duplicated,
        "p50_ms": ms(_percentile(latencies, 0.50)), "p95_ms": ms(_percentile(latencies, 0.95)),
        "p99_ms": ms(_percentile(latencies, 0.99)), "max_ms": ms(latencies[-1] if latencies else None),
    }


def render(row):
    return (f"stream: {row['clients']} clients x {row['events']} events at {row['rate']:g}/s: "
            f"{row['received']}/{row['expected']} received, {row['missing']} missing, "
            f"{row['duplicated']} duplicated; emit-to-received p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, "
            f"p99 {row['p99_ms']} ms, max {row['max_ms']} ms")
