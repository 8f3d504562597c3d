"""Benchmark the plugin gateway against a real server: gunicorn, PostgreSQL, Redis, a real upstream.

    make bench                                  # or: .venv/bin/python bench/run.py --help
    make bench BENCH_ARGS="--duration 3 --ops discover,call,direct"

Starts an upstream server (bench/upstream.py) and gunicorn serving plexica.wsgi on free ports,
creates, migrates and seeds the benchmark database, then runs each operation of
bench/operations.py in turn: concurrent keep-alive clients for a warm-up and a fixed duration.
Prints a table (requests, errors, req/s, p50/p95/p99) and writes it as JSON. Every process it
starts is stopped on exit, Ctrl-C and failure.
"""

import argparse
import base64
import hashlib
import hmac
import itertools
import ctypes
import http.client
import json
import math
import multiprocessing
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from array import array
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(1, str(ROOT))  # the sync phase runs the test suite's stub GitHub server

import integrations  # noqa: E402
import stream  # noqa: E402
import sync  # noqa: E402
import webhooks as webhook_phase  # noqa: E402  (bench/webhooks.py, not the app: this process never loads Django)
from operations import DIFFERENCES, OPERATIONS, TARGETS  # noqa: E402

SYNC = "sync"  # not a request loop: the delivery-to-completed-sync phase (bench/sync.py)
STREAM = "stream"  # not a request loop: emit-to-received on concurrent stream clients (bench/stream.py)
WEBHOOKS = "webhooks"  # not a request loop: emit-to-first-delivery-attempt and deliveries/s (bench/webhooks.py)
PHASES = (SYNC, STREAM, WEBHOOKS)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/plexica_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
REQUEST_TIMEOUT = 30.0
START_TIMEOUT = 60.0
RATELIMIT_NOTE = "rate limiting off (RATELIMIT_ENABLED=0) so the limiter does not answer 429"
CELERY_POOLS = ("prefork", "threads", "solo")
# How long the integration operations wait for the worker to finish what is queued (before measuring,
# after measuring, before stopping it). An async window can leave thousands of executions behind it.
DRAIN_TIMEOUT = 180.0
# The worker is idle once it uses less than this share of one CPU over IDLE_SAMPLE seconds (it may still be
# running a task of another kind that an earlier operation queued: an event fan-out, a sync).
IDLE_CPU_SHARE = 0.05
IDLE_SAMPLE = 0.5

try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


class BenchError(Exception):
    """A step failed; the message says which and what to look at."""


# --- Options ------------------------------------------------------------------------------------


def parse_args(argv=None):
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description="Benchmark the plugin gateway (see bench/README.md).",
        epilog="Every option can also be set as BENCH_<OPTION> in the environment (BENCH_DURATION=3).",
    )
    add = parser.add_argument
    # String defaults go through `type` too, so a bad BENCH_* value is reported like a bad option.
    add("--duration", type=float, default=env("BENCH_DURATION", "10"), help="seconds measured per operation")
    add("--warmup", type=float, default=env("BENCH_WARMUP", "2"), help="unmeasured seconds before each")
    add("--concurrency", type=int, default=env("BENCH_CONCURRENCY", "16"), help="concurrent clients")
    add("--client-procs", type=int, default=env("BENCH_CLIENT_PROCS", "0"),
        help="processes the clients are spread over (0: one per client, at most 32)")
    add("--workers", type=int, default=env("BENCH_WORKERS", "4"), help="gunicorn workers")
    add("--worker-class", default=env("BENCH_WORKER_CLASS", "sync"), help="gunicorn worker class")
    add("--threads", type=int, default=env("BENCH_THREADS", "1"), help="threads per gunicorn worker")
    add("--upstream-procs", type=int, default=env("BENCH_UPSTREAM_PROCS", "1"), help="upstream processes")
    add("--asgi-workers", type=int, default=env("BENCH_ASGI_WORKERS", "1"),
        help="uvicorn processes of the MCP operations (1, as `make asgi` runs)")
    add("--celery-pool", choices=CELERY_POOLS, default=env("BENCH_CELERY_POOL", "prefork"),
        help="pool of the Celery worker of the integration operations (the sync and webhooks phases: solo)")
    add("--celery-concurrency", type=int, default=env("BENCH_CELERY_CONCURRENCY", "0"),
        help="its processes (prefork) or threads (threads); 0: the CPU count, as `make worker` runs")
    add("--database-url", default=env("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    add("--redis-url", default=env("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    add("--output", default=env("BENCH_OUTPUT", "var/bench.json"), help="JSON results file")
    add("--stream-clients", type=int, default=env("BENCH_STREAM_CLIENTS", "100"), help="stream phase clients")
    add("--stream-events", type=int, default=env("BENCH_STREAM_EVENTS", "100"), help="stream phase events")
    add("--stream-rate", type=float, default=env("BENCH_STREAM_RATE", "20"), help="stream phase events/s")
    add("--webhook-events", type=int, default=env("BENCH_WEBHOOK_EVENTS", "200"), help="webhooks phase events")
    add("--webhook-rate", type=float, default=env("BENCH_WEBHOOK_RATE", "20"), help="webhooks phase events/s")
    add("--ops", default=env("BENCH_OPS", ""),
        help="comma-separated operations, in the order given (default: all default ones)")
    args = parser.parse_args(argv)
    known = [op.name for op in OPERATIONS] + list(PHASES)
    args.ops = [name.strip() for name in args.ops.split(",") if name.strip()] or [
        op.name for op in OPERATIONS if op.default
    ] + list(PHASES)
    unknown = sorted(set(args.ops) - set(known))
    if unknown:
        parser.error(f"unknown operation(s) {', '.join(unknown)}; known: {', '.join(known)}")
    if args.concurrency < 1 or args.duration <= 0 or args.warmup < 0 or args.workers < 1 or args.asgi_workers < 1:
        parser.error("concurrency, workers and asgi-workers must be >= 1, duration > 0, warmup >= 0")
    if args.client_procs <= 0:
        args.client_procs = min(args.concurrency, 32)
    if args.celery_concurrency < 0:
        parser.error("--celery-concurrency must be >= 0")
    if args.celery_concurrency == 0:
        args.celery_concurrency = 1 if args.celery_pool == "solo" else _nproc()
    args.client_procs = min(args.client_procs, args.concurrency)
    args.database_name = unquote(urlsplit(args.database_url).path.lstrip("/"))
    return args


# --- Processes we start -------------------------------------------------------------------------


def _die_with_parent():
    """In a child: get SIGKILL if the benchmark itself is killed, so nothing outlives it (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Supervisor:
    """The server processes we started; stop_all() ends each one's whole process group."""

    def __init__(self):
        self.started = []

    def start(self, name, command, **kwargs):
        process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
        self.started.append((name, process))
        return process

    def pid(self, name):
        return next(process.pid for started, process in self.started if started == name)

    def stop(self, process, timeout=15):
        """End a process we started (its whole group) and forget it: stop_all must not signal a reaped id."""
        self._signal(process, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(process, signal.SIGKILL)
            process.wait()
        self.started = [(name, started) for name, started in self.started if started is not process]

    def stop_all(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        for name, process in reversed(self.started):
            self._signal(process, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, process in reversed(self.started):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # Only while the leader is unreaped: its group id cannot belong to anyone else yet.
                print(f"bench: {name} did not stop in time; killing it", file=sys.stderr)
                self._signal(process, signal.SIGKILL)
                process.wait()
        self.started.clear()

    @staticmethod
    def _signal(process, signum):
        try:
            os.killpg(process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _raise_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_environment(args):
    """The settings gunicorn, migrate and the seed script run with."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="plexica.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        # Fixed for the benchmark database, so what an earlier run seeded (encrypted versions) stays readable.
        PLEXICA_ENCRYPTION_KEYS=base64.urlsafe_b64encode(hashlib.sha256(b"plexica bench only").digest()).decode(),
        ALLOWED_HOSTS="127.0.0.1",
        RATELIMIT_ENABLED="0",
        GITHUB_WEBHOOK_SECRET=secrets.token_hex(20),
        # The integration operations' provider is the upstream on 127.0.0.1 (gunicorn and the worker).
        INTEGRATION_ALLOWED_NETWORKS="127.0.0.0/8,::1/128",
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        PYTHONUNBUFFERED="1",
        METRICS_TOKEN=secrets.token_urlsafe(24),  # full mode: /metrics needs one
        # The seed registers crm.contacts first and then seeds for minutes on a loaded machine (admin pages, 500
        # metrics plugins): without heartbeats it must stay callable until the last operation has run.
        REGISTRY_DEGRADED_AFTER="3600", REGISTRY_UNAVAILABLE_AFTER="7200",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each gunicorn master makes a fresh one (gunicorn.conf.py)
    return env


def ensure_database(url):
    """createdb the PostgreSQL database of `url` unless it exists (other databases: nothing to do)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        return
    command = ["createdb", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    if parts.username:
        command += ["-U", unquote(parts.username)]
    command.append(unquote(parts.path.lstrip("/")))
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise BenchError("createdb (PostgreSQL client tools) is missing: create the database") from None
    if result.returncode == 0:
        print(f"bench: created database {command[-1]}")
    elif "already exists" not in result.stderr:
        raise BenchError(f"createdb failed: {result.stderr.strip()}")


def run_step(what, command, env):
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BenchError(f"{what} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def start_upstream(supervisor, args, log):
    process = supervisor.start(
        "upstream", [sys.executable, str(BENCH_DIR / "upstream.py"), "--procs", str(args.upstream_procs)],
        stdout=subprocess.PIPE, stderr=log, text=True,
    )
    line = process.stdout.readline()  # "listening on http://127.0.0.1:PORT", or EOF if it died
    if not line.startswith("listening on "):
        raise BenchError(f"the upstream server did not start; see {log.name}")
    url = line.split()[-1]
    return url, urlsplit(url).port


def start_gunicorn(supervisor, args, env, log, name="gunicorn"):
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "plexica.wsgi", "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(ROOT),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
        "--graceful-timeout", "5", "--log-level", "warning",
    ]
    process = supervisor.start(name, command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn exited with status {process.returncode}; see {log.name}")
        try:
            status, body = request_once(("127.0.0.1", port, "GET", "/readyz", None, {}, None))
            if status == 200:
                return port
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"gunicorn did not become ready in {START_TIMEOUT:g}s; see {log.name}")


# --- Requests -----------------------------------------------------------------------------------


def _format(value, context):
    if isinstance(value, str):
        formatted = value.format_map(context)
        # A lone placeholder of a number stays a number ("{repository_id}" -> 123456).
        whole = value.startswith("{") and value.endswith("}") and value.count("{") == 1
        return context[value[1:-1]] if whole and isinstance(context.get(value[1:-1]), int) else formatted
    if isinstance(value, dict):
        return {key: _format(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_format(item, context) for item in value]
    return value


def build_request(operation, context, ports):
    """(host, port, method, path, body, headers, unique, outcome) for `operation`, its placeholders filled in.

    `unique` is (header, prefix) when each request must carry a header value never sent before; `outcome` the
    operation's check of a 2xx answer's body (Operation.outcome), or None.
    """
    headers = {"Accept": "application/json", "User-Agent": "plexica-bench"}
    if operation.target.startswith("plexica"):
        headers["X-Tenant-Slug"] = context["org"]
    if operation.key:
        headers["Authorization"] = f"Bearer {context[operation.key]}"
    headers.update(_format(operation.headers, context))
    body = None
    if operation.body is not None:
        body = json.dumps(_format(operation.body, context)).encode()
        headers["Content-Type"] = "application/json"
    if operation.sign_with:
        digest = hmac.new(context[operation.sign_with].encode(), body or b"", hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    unique = None
    if operation.unique_header:
        unique = (operation.unique_header, f"bench-{secrets.token_hex(6)}-{context.get('client', 0)}")
    path = _format(operation.path, context)
    return ("127.0.0.1", ports[operation.target], operation.method, path, body, headers, unique, operation.outcome)


def _headers_for(headers, unique, counter):
    """The request's headers, with its unique header (if any) given the next never-sent value."""
    if unique is None:
        return headers
    name, prefix = unique
    return {**headers, name: f"{prefix}-{next(counter)}"}


def build_requests(operation, context, ports, clients):
    """One request per client: `{client}` in the operation is that client's number (0, 1, ...)."""
    return [build_request(operation, {**context, "client": client}, ports) for client in range(clients)]


def request_once(request):
    """(status, body) of one request; a 2xx answer its outcome check refuses is reported as status 0."""
    host, port, method, path, body, headers, unique, *rest = request
    outcome = rest[0] if rest else None
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(method, path, body, _headers_for(headers, unique, itertools.count()))
        response = connection.getresponse()
        answer = response.read()
        if outcome is not None and 200 <= response.status < 300 and outcome(answer) is not None:
            return 0, answer
        return response.status, answer
    finally:
        connection.close()


def _client_loop(request, start_at, measure_from, stop_at):
    """One client: requests back to back on one keep-alive connection; latencies of measured successes."""
    host, port, method, path, body, headers, unique, outcome = request
    counter = itertools.count(1)  # request_once (the check before measuring) used 0
    connection = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    latencies, errors = array("d"), {}
    try:
        connection.connect()
    except OSError:
        pass  # counted as errors by the loop
    time.sleep(max(0.0, start_at - time.perf_counter()))
    clock = time.perf_counter
    while True:
        started = clock()
        if started >= stop_at:
            break
        try:
            # http.client reconnects by itself when the server closed the connection (sync workers do).
            connection.request(method, path, body, _headers_for(headers, unique, counter))
            response = connection.getresponse()
            answer = response.read()
            status = response.status
            if outcome is not None and 200 <= status < 300:
                status = outcome(answer) or status  # a failure the body reports: its label
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            status = type(exc).__name__
        elapsed = clock() - started
        if started < measure_from:
            continue
        if isinstance(status, int) and 200 <= status < 300:
            latencies.append(elapsed)
        else:
            errors[str(status)] = errors.get(str(status), 0) + 1
            if not isinstance(status, int):
                time.sleep(0.01)  # do not spin on a refused connection (or a stream of failures)
    connection.close()
    return latencies, errors


def _client_process(requests, start_at, measure_from, stop_at, results, release):
    """One thread per request in `requests` (each client's own request; see build_requests)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    _die_with_parent()
    outcomes = [None] * len(requests)

    def client(slot):
        outcomes[slot] = _client_loop(requests[slot], start_at, measure_from, stop_at)

    workers = [threading.Thread(target=client, args=(slot,)) for slot in range(len(requests))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies, errors = array("d"), {}
    for slot_latencies, slot_errors in outcomes:
        latencies.extend(slot_latencies)
        for outcome, count in slot_errors.items():
            errors[outcome] = errors.get(outcome, 0) + count
    results.put((latencies.tobytes(), errors))
    release.wait(REQUEST_TIMEOUT)  # stay alive until the parent has read our CPU time


def measure(requests, args, cpu_groups):
    """Run one client per request (args.concurrency of them) over args.client_procs processes.

    Returns (latencies, errors, cpu, (measure_from, stop_at)), the window in time.perf_counter() time.
    """
    context = multiprocessing.get_context("fork")
    results, release = context.Queue(), context.Event()
    start_at = time.perf_counter() + 0.3  # time to fork and connect before the clock starts
    measure_from = start_at + args.warmup
    stop_at = measure_from + args.duration
    shares = [args.concurrency // args.client_procs + (i < args.concurrency % args.client_procs)
              for i in range(args.client_procs)]
    bounds = [sum(shares[:i]) for i in range(len(shares) + 1)]  # process i: requests[bounds[i]:bounds[i + 1]]
    processes = [
        context.Process(target=_client_process, daemon=True,
                        args=(requests[start:end], start_at, measure_from, stop_at, results, release))
        for start, end in zip(bounds, bounds[1:])
    ]
    latencies, errors = array("d"), {}
    sampler = CpuSampler(cpu_groups, args.database_name, measure_from, stop_at)
    try:
        for process in processes:
            process.start()
        for _ in processes:
            timeout = max(1.0, stop_at - time.perf_counter()) + REQUEST_TIMEOUT + 10
            raw, process_errors = results.get(timeout=timeout)
            latencies.frombytes(raw)
            for outcome, count in process_errors.items():
                errors[outcome] = errors.get(outcome, 0) + count
        cpu = sampler.finish()
    finally:
        release.set()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
    return latencies, errors, cpu, (measure_from, stop_at)


# --- CPU accounting -----------------------------------------------------------------------------
# On a small shared machine latency mostly measures who else wants the CPU; CPU time per request, by
# process, says what each request costs and how much of the machine other work took ("other").

CPU_CLASSES = ("gunicorn", "asgi", "worker", "postgres", "redis", "upstream", "clients", "other")


def _cpu_by_process(groups, database):
    """{pid: (class, cpu seconds)} for the processes we can classify, and the machine's busy seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                comm, _, rest = handle.read().rpartition(")")
            fields = rest.split()
            cls = groups.get(int(fields[2]))  # process group
            if cls is None and comm.endswith("(postgres"):
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    cls = "postgres" if f" {database} ".encode() in handle.read() else None
            elif cls is None and "(redis-server" in comm:
                cls = "redis"
        except (OSError, IndexError, ValueError):
            continue
        if cls is not None:
            found[int(entry.name)] = (cls, (int(fields[11]) + int(fields[12])) / ticks)
    with open("/proc/stat") as handle:
        cpu = [int(value) for value in handle.readline().split()[1:]]
    busy = (sum(cpu[:8]) - cpu[3] - cpu[4]) / ticks  # all but idle and iowait
    return found, busy


class CpuSampler:
    """CPU seconds each class of process used between measure_from and stop_at (Linux /proc)."""

    def __init__(self, groups, database, measure_from, stop_at):
        self.args = (groups, database)
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(measure_from, stop_at), daemon=True)
        self.thread.start()

    def _run(self, measure_from, stop_at):
        try:
            time.sleep(max(0.0, measure_from - time.perf_counter()))
            before, busy_before = _cpu_by_process(*self.args)
            time.sleep(max(0.0, stop_at - time.perf_counter()))
            after, busy_after = _cpu_by_process(*self.args)
        except OSError:
            return  # no /proc: no CPU figures
        used = dict.fromkeys(CPU_CLASSES, 0.0)
        for pid, (cls, seconds) in after.items():
            used[cls] += seconds - before.get(pid, (cls, 0.0))[1]
        used["other"] = max(0.0, (busy_after - busy_before) - sum(used.values()))
        self.result = {"busy_seconds": busy_after - busy_before, **used}

    def finish(self):
        self.thread.join(timeout=5)
        return self.result


# --- Results ------------------------------------------------------------------------------------


def percentile(ordered, p):
    """Nearest-rank percentile of an ascending list, in ms."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


def summarize(name, latencies, errors, cpu, duration):
    ordered = sorted(latencies)
    error_count = sum(errors.values())
    requests = len(ordered) + error_count
    cpu_ms = None
    if cpu and requests:
        cpu_ms = {cls: cpu[cls] / requests * 1000 for cls in CPU_CLASSES}
    return {
        "operation": name,
        "requests": requests,
        "errors": error_count,
        "errors_by_status": errors,
        "rps": requests / duration,
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "mean_ms": sum(ordered) / len(ordered) * 1000 if ordered else None,
        "max_ms": ordered[-1] * 1000 if ordered else None,
        # CPU time per request by process class, and how busy the whole machine was (1.0 = every CPU).
        "cpu_ms_per_request": cpu_ms,
        "machine_busy": cpu["busy_seconds"] / duration / _nproc() if cpu else None,
    }


def differences(rows):
    by_name = {row["operation"]: row for row in rows}
    found = []
    for label, operation, baseline in DIFFERENCES:
        if operation in by_name and baseline in by_name:
            a, b = by_name[operation], by_name[baseline]
            found.append({
                "label": label, "operation": operation, "baseline": baseline,
                **{stat: _minus(a[stat], b[stat]) for stat in ("p50_ms", "p95_ms")},
            })
    return found


def _minus(a, b):
    return None if a is None or b is None else a - b


def check_targets(rows, diffs):
    subjects = {row["operation"]: row for row in rows} | {diff["label"]: diff for diff in diffs}
    checked = []
    for subject, statistic, limit in TARGETS:
        value = subjects.get(subject, {}).get(statistic)
        checked.append({"subject": subject, "statistic": statistic, "limit_ms": limit, "value_ms": value,
                        "met": None if value is None else value < limit})
    return checked


def _nproc():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine_facts():
    cpu = next((line.split(":", 1)[1].strip() for line in _read_lines("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or None)
    try:
        import gunicorn

        gunicorn_version = gunicorn.__version__
    except ImportError:  # pragma: no cover
        gunicorn_version = None
    return {
        "nproc": _nproc(),
        "cpu": cpu,
        "memory_mb": _memory_mb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gunicorn": gunicorn_version,
        "loadavg_before": list(os.getloadavg()),
        "commit": _git_commit(),
    }


def _read_lines(path):
    try:
        with open(path) as handle:
            return handle.readlines()
    except OSError:
        return []


def _memory_mb():
    for line in _read_lines("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


def _git_commit():
    try:
        def git(*words):
            result = subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True, timeout=10)
            return result.stdout.strip()

        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}{'+dirty' if dirty else ''}" if commit else None


def redact(url):
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _ms(value):
    return "-" if value is None else f"{value:.2f}"


def render_table(report):
    machine, config = report["machine"], report["config"]
    lines = [
        f"plexica bench {report['date']}  commit {machine['commit']}",
        f"machine: {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"{config['database']} {config['database_version']}, {config['cache']} {config['cache_version']}",
        f"server: gunicorn {machine['gunicorn']}, {config['workers']} {config['worker_class']} workers x "
        f"{config['threads']} threads; {config['ratelimit']}",
        f"clients: {config['concurrency']} keep-alive clients in {config['client_procs']} processes; "
        f"{config['warmup']:g}s warm-up + {config['duration']:g}s per operation",
    ]
    targets = {op.name: op.target for op in OPERATIONS}
    if any(targets.get(row["operation"]) == "plexica-asgi" for row in report["operations"]):
        lines.append(f"asgi (MCP operations): uvicorn plexica.asgi:application --lifespan on, "
                     f"{config['asgi_workers']} process(es)")
    if any(row.get("integration") for row in report["operations"]):
        pool = config["celery_pool"]
        lines.append(f"worker (integration operations only): celery --pool {pool}"
                     f"{'' if pool == 'solo' else ' --concurrency ' + str(config['celery_concurrency'])}")
    width = max([12] + [len(row["operation"]) + 1 for row in report["operations"]])
    lines += ["", f"{'operation':<{width}}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50 ms':>9}"
                  f"{'p95 ms':>9}{'p99 ms':>9}"]
    for row in report["operations"]:
        lines.append(
            f"{row['operation']:<{width}}{row['requests']:>10}{row['errors']:>8}{row['rps']:>10.1f}"
            f"{_ms(row['p50_ms']):>9}{_ms(row['p95_ms']):>9}{_ms(row['p99_ms']):>9}"
        )
        if row["errors"]:
            by_status = sorted(row["errors_by_status"].items())
            detail = ", ".join(f"{outcome}: {count}" for outcome, count in by_status)
            lines.append(f"{'':<{width}}errors by status: {detail}")
    if any(row["cpu_ms_per_request"] for row in report["operations"]):
        header = "".join(f"{cls:>10}" for cls in CPU_CLASSES)
        width = max(width, 21)
        lines.append(f"\n{'CPU ms per request':<{width}}{header}{'busy':>7}")
        for row in report["operations"]:
            cpu = row["cpu_ms_per_request"] or {}
            cells = "".join(f"{_ms(cpu.get(cls)):>10}" for cls in CPU_CLASSES)
            lines.append(f"{row['operation']:<{width}}{cells}{row['machine_busy'] or 0:>7.0%}")
    integration_rows = [row for row in report["operations"] if row.get("integration")]
    if integration_rows:
        lines.append("\nintegration executions (bench/integrations.py):")
        for row in integration_rows:
            lines.append("  " + integrations.render(row["operation"], row["integration"]))
    if report.get("sync"):
        lines.append(f"\n{'sync (push delivered -> sync completed)':<40}{'end to end ms':>15}{'worker ms':>11}"
                     f"{'created':>9}{'updated':>9}{'deleted':>9}")
        for row in report["sync"]:
            lines.append(f"{row['step']:<40}{row['end_to_end_ms']:>15.0f}{row['worker_ms']:>11.0f}"
                         f"{row['created']:>9}{row['updated']:>9}{row['deleted']:>9}")
    for diff in report["differences"]:
        lines.append(f"\n{diff['label']}: p50 {_ms(diff['p50_ms'])} ms, p95 {_ms(diff['p95_ms'])} ms")
    if report["targets"]:
        lines.append("\ntargets (issues 3 and 4; reported, not enforced):")
        for target in report["targets"]:
            verdict = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
            statistic = target["statistic"].removesuffix("_ms")
            lines.append(f"  {target['subject']} {statistic} < {target['limit_ms']:g} ms: "
                         f"{_ms(target['value_ms'])} ms, {verdict}")
    return "\n".join(lines)


# --- Main ---------------------------------------------------------------------------------------


def prepare(args, supervisor, env, logs):
    """Upstream, database, seed data and gunicorn; returns the seed context and the ports."""
    upstream_url, upstream_port = start_upstream(supervisor, args, logs["upstream"])
    ensure_database(args.database_url)
    print(f"bench: migrating {redact(args.database_url)}")
    run_step("migrate", [sys.executable, "manage.py", "migrate", "--noinput"], env)
    seed = [sys.executable, str(BENCH_DIR / "seed.py"), "--upstream-url", upstream_url,
            "--clients", str(args.concurrency)]
    if any(name.startswith("mcp-") for name in args.ops):
        seed.append("--mcp")  # the names of the tools they call, as tools/list gives them (or it stops)
    context = json.loads(run_step("seeding", seed, env).strip().splitlines()[-1])
    context["metrics_token"] = env["METRICS_TOKEN"]
    port = start_gunicorn(supervisor, args, env, logs["gunicorn"])
    print(f"bench: gunicorn on 127.0.0.1:{port}, upstream on {upstream_url}; {RATELIMIT_NOTE}")
    ports = {"plexica": port, "upstream": upstream_port}
    if "call-nometrics" in args.ops:  # the same server with the Prometheus series off, beside the first
        ports["plexica-nometrics"] = start_gunicorn(supervisor, args, {**env, "METRICS_ENABLED": "0"},
                                                    logs["gunicorn"], name="gunicorn-nometrics")
        print(f"bench: gunicorn with METRICS_ENABLED=0 on 127.0.0.1:{ports['plexica-nometrics']}")
    if "metrics-scrape" in args.ops:
        prime_metrics(context, port)
    return context, ports


def prime_metrics(context, port):
    """One gateway call to each of the 500 metrics plugins' services, so /metrics holds their series."""
    headers = {"Accept": "application/json", "Content-Type": "application/json", "X-Tenant-Slug": context["org"],
               "Authorization": f"Bearer {context['analytics_key']}"}
    print(f"bench: calling {len(context['metrics_plugins'])} plugins once each (metrics-scrape)", flush=True)
    for plugin_id, service_name in context["metrics_plugins"]:
        body = json.dumps({"callerPluginId": "plugin-analytics", "targetPluginId": plugin_id,
                           "targetServiceName": service_name, "method": "GET", "path": "/contacts",
                           "query": {"limit": "10"}}).encode()
        status, answer = request_once(("127.0.0.1", port, "POST", "/api/plugin-gateway/call", body, headers, None))
        if status != 200:
            raise BenchError(f"metrics-scrape: calling {plugin_id} answered {status}: {answer[:300]!r}")


def start_worker(supervisor, env, log, pool="solo", concurrency=1):
    """A real Celery worker on the benchmark's Redis and database (it runs the connector syncs, the webhook
    deliveries and the integration executions)."""
    command = [sys.executable, "-m", "celery", "-A", "plexica", "worker", "--pool", pool,
               "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if pool != "solo":
        command += ["--concurrency", str(concurrency)]
    log.flush()
    offset = os.fstat(log.fileno()).st_size  # every worker of the run shares the log: read only this one's
    process = supervisor.start("worker", command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:  # timings start once it consumes the queue, not while it boots
        if process.poll() is not None:
            raise BenchError(f"the Celery worker exited with status {process.returncode}; see {log.name}")
        with open(log.name, "rb") as handle:
            handle.seek(offset)
            if b" ready." in handle.read():
                return process
        time.sleep(0.1)
    raise BenchError(f"the Celery worker did not become ready in {START_TIMEOUT:g}s; see {log.name}")


class IntegrationWorker:
    """The Celery worker of the operations that need one (Operation.worker): started for them only, its
    CPU counted as `worker`, and idle (queue drained, no execution unfinished) before each of them is
    measured and before it is stopped (bench/integrations.py)."""

    def __init__(self, args, supervisor, env, log, context, cpu_groups):
        self.args, self.supervisor, self.env, self.log = args, supervisor, env, log
        self.instance_id = context.get("integration_instance")
        self.cpu_groups = cpu_groups
        self.process = None

    @property
    def running(self):
        return self.process is not None

    def start(self):
        if self.process is None:
            args = self.args
            concurrency = "" if args.celery_pool == "solo" else f" --concurrency {args.celery_concurrency}"
            print(f"bench: starting a Celery worker (--pool {args.celery_pool}{concurrency})", flush=True)
            self.process = start_worker(self.supervisor, self.env, self.log, args.celery_pool,
                                        args.celery_concurrency)
            self.cpu_groups[self.process.pid] = "worker"  # its own process group (Supervisor.start)

    def wait_idle(self, why):
        """Seconds it took the worker to become idle, and what was left if it did not within DRAIN_TIMEOUT:
        nothing queued, no execution of the instance unfinished (bench/integrations.py), and then its
        processes (almost) not using CPU."""
        started = time.monotonic()
        try:
            waited, left = integrations.wait_idle(self.args.database_url, self.args.redis_url,
                                                  self.instance_id, DRAIN_TIMEOUT)
        except Exception as exc:  # redis or psycopg errors: the run cannot tell, and says so
            raise BenchError(f"waiting for the Celery worker {why}: {type(exc).__name__}: {exc}") from None
        while not left:
            busy = self._cpu_seconds(IDLE_SAMPLE)
            if busy is None or busy < IDLE_CPU_SHARE * IDLE_SAMPLE:
                break
            if time.monotonic() - started >= DRAIN_TIMEOUT:
                left = {"worker_cpu_share": round(busy / IDLE_SAMPLE, 2)}
        if left:
            print(f"bench: the worker was not idle {DRAIN_TIMEOUT:g}s {why}: {left}", file=sys.stderr,
                  flush=True)
        return time.monotonic() - started, left

    def _cpu_seconds(self, interval):
        """CPU seconds the worker's processes used over `interval` (None without /proc)."""
        groups = {self.process.pid: "worker"}
        try:
            before, _ = _cpu_by_process(groups, self.args.database_name)
            time.sleep(interval)
            after, _ = _cpu_by_process(groups, self.args.database_name)
        except OSError:
            return None
        return sum(seconds - before.get(pid, (cls, 0.0))[1] for pid, (cls, seconds) in after.items()
                   if cls == "worker")

    def account(self, started, window, row, cpu):
        """Wait for the backlog the window left, then add to `row` what became of the executions."""
        waited, left = self.wait_idle("after the window")
        since, measure_from, stop_at = (integrations.wall_clock(moment) for moment in (started, *window))
        found = integrations.executions(self.args.database_url, self.instance_id, since, measure_from,
                                        stop_at)
        found["drain_seconds"], found["left_behind"] = waited, left
        finished = found["finished_in_window"]
        found["worker_cpu_ms_per_execution"] = cpu["worker"] / finished * 1000 if cpu and finished else None
        row["integration"] = found

    def stop(self, drain=True):
        if self.process is None:
            return
        if drain:
            self.wait_idle("before stopping it")
        self.cpu_groups.pop(self.process.pid, None)
        self.supervisor.stop(self.process)
        self.process = None


def run_sync_phase(args, supervisor, env, context, ports, stub, log):
    worker = start_worker(supervisor, env, log)
    try:
        print("bench: sync (a signed push -> a real Celery worker -> the stub GitHub API)", flush=True)
        return sync.measure_sync(stub, ports["plexica"], context, args.database_url)
    except RuntimeError as exc:
        raise BenchError(f"sync: {exc}; see {log.name}") from None
    finally:
        supervisor.stop(worker)


def run_operations(args, context, ports, cpu_groups, worker):
    """Each operation in turn; `worker` (IntegrationWorker) runs only while operations that need it do."""
    by_name = {op.name: op for op in OPERATIONS}
    requests = {name: build_requests(by_name[name], context, ports, args.concurrency)
                for name in args.ops if name not in PHASES}
    if any(by_name[name].worker for name in requests):
        worker.start()  # their check below needs it too
    for name, per_client in requests.items():  # fail fast, showing the answer, before measuring anything
        for request in {repr(request): request for request in per_client}.values():  # each distinct one once
            status, body = request_once(request)
            if status == 0:  # a 2xx whose body reports a failure (Operation.outcome)
                raise BenchError(f"{name}: {request[2]} {request[3]} answered a failure ({request[7](body)}): "
                                 f"{body[:500]!r}")
            if not 200 <= status < 300:
                raise BenchError(f"{name}: {request[2]} {request[3]} answered {status}: {body[:500]!r}")
    rows = []
    for name, per_client in requests.items():
        operation = by_name[name]
        if operation.worker:
            worker.start()
            worker.wait_idle("before the warm-up")  # nothing queued earlier runs during the window
        else:
            worker.stop()  # idle first: nothing it would still run competes with this operation
        print(f"bench: {name} ({args.warmup:g}s warm-up + {args.duration:g}s)", flush=True)
        started = time.perf_counter()
        latencies, errors, cpu, window = measure(per_client, args, cpu_groups)
        row = summarize(name, latencies, errors, cpu, args.duration)
        if operation.worker:
            worker.account(started, window, row, cpu)
        rows.append(row)
    worker.stop()
    return rows


def run_stream_phase(args, supervisor, env, context, ports, log):
    """uvicorn (plexica.asgi) beside gunicorn, started for the phase and stopped after it."""
    port = free_port()
    try:
        asgi = stream.start_asgi(supervisor, env, log, port, ROOT)
    except RuntimeError as exc:
        raise BenchError(f"stream: {exc}") from None
    try:
        print(f"bench: stream ({args.stream_clients} clients on uvicorn, {args.stream_events} events emitted "
              f"through gunicorn at {args.stream_rate:g}/s)", flush=True)
        return stream.measure_stream(port, ports["plexica"], context, clients=args.stream_clients,
                                     events=args.stream_events, rate=args.stream_rate)
    except (RuntimeError, OSError, TimeoutError) as exc:
        raise BenchError(f"stream: {exc}; see {log.name}") from None
    finally:
        supervisor.stop(asgi)


def start_asgi_for_operations(args, supervisor, env, log, ports, cpu_groups):
    """uvicorn (plexica.asgi, its lifespan on: the MCP session manager) for the operations sent to it
    (target "plexica-asgi"), started after the phases and kept for the request loops; its CPU is `asgi`."""
    by_name = {op.name: op for op in OPERATIONS}
    if not any(by_name[name].target == "plexica-asgi" for name in args.ops if name in by_name):
        return
    port = free_port()
    try:
        asgi = stream.start_asgi(supervisor, env, log, port, ROOT, workers=args.asgi_workers)
    except RuntimeError as exc:
        raise BenchError(f"asgi: {exc}") from None
    ports["plexica-asgi"] = port
    cpu_groups[asgi.pid] = "asgi"  # its own process group (Supervisor.start), its workers' too
    print(f"bench: uvicorn (plexica.asgi, {args.asgi_workers} process(es)) on 127.0.0.1:{port}", flush=True)


def run_webhooks_phase(args, supervisor, env, context, ports, log):
    """A real Celery worker delivering to the verifying receiver, started for the phase and stopped after it."""
    worker = start_worker(supervisor, env, log)
    try:
        print(f"bench: webhooks ({args.webhook_events} events at {args.webhook_rate:g}/s, then a burst, "
              "through gunicorn -> a real worker -> the receiver)", flush=True)
        return webhook_phase.measure_webhooks(ports["plexica"], context, events=args.webhook_events,
                                              rate=args.webhook_rate)
    except (RuntimeError, OSError) as exc:
        raise BenchError(f"webhooks: {exc}; see {log.name}") from None
    finally:
        supervisor.stop(worker)


def build_report(args, machine, facts, rows, sync_rows=(), stream_row=None, webhooks_row=None):
    diffs = differences(rows)
    return {
        "webhooks": webhooks_row,
        "sync": list(sync_rows),
        "stream": stream_row,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine,
        "config": {
            "duration": args.duration, "warmup": args.warmup, "concurrency": args.concurrency,
            "client_procs": args.client_procs, "workers": args.workers, "worker_class": args.worker_class,
            "threads": args.threads, "upstream_procs": args.upstream_procs, "asgi_workers": args.asgi_workers,
            "celery_pool": args.celery_pool, "celery_concurrency": args.celery_concurrency,
            "database": facts["database"], "database_version": facts["database_version"],
            "database_url": redact(args.database_url), "cache": facts["cache"],
            "cache_version": facts["cache_version"], "redis_url": redact(args.redis_url),
            "ratelimit": RATELIMIT_NOTE,
        },
        "operations": rows,
        "differences": diffs,
        "targets": check_targets(rows, diffs),
    }


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGHUP, _raise_on_signal)
    output = Path(args.output) if Path(args.output).is_absolute() else ROOT / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    machine = machine_facts()
    supervisor = Supervisor()
    stub = None
    with open(output.parent / "bench-upstream.log", "w") as upstream_log, \
            open(output.parent / "bench-gunicorn.log", "w") as gunicorn_log, \
            open(output.parent / "bench-worker.log", "w") as worker_log, \
            open(output.parent / "bench-asgi.log", "w") as asgi_log:
        try:
            logs = {"upstream": upstream_log, "gunicorn": gunicorn_log}
            env = app_environment(args)
            if SYNC in args.ops:
                keys = sync.app_keys()
                stub = sync.start_github(keys)
                env.update(sync.github_environment(stub, keys))
            if WEBHOOKS in args.ops:
                env.update(webhook_phase.environment())
            context, ports = prepare(args, supervisor, env, logs)
            sync_rows = []
            if SYNC in args.ops:  # first, so the worker is stopped before the request loops are measured
                sync_rows = run_sync_phase(args, supervisor, env, context, ports, stub, worker_log)
            stream_row = None
            if STREAM in args.ops:  # uvicorn is stopped before the request loops are measured
                stream_row = run_stream_phase(args, supervisor, env, context, ports, asgi_log)
            webhooks_row = None
            if WEBHOOKS in args.ops:  # its worker is stopped before the request loops are measured
                webhooks_row = run_webhooks_phase(args, supervisor, env, context, ports, worker_log)
            cpu_groups = {supervisor.pid("gunicorn"): "gunicorn", supervisor.pid("upstream"): "upstream",
                          os.getpgrp(): "clients"}
            if "plexica-nometrics" in ports:
                cpu_groups[supervisor.pid("gunicorn-nometrics")] = "gunicorn"
            start_asgi_for_operations(args, supervisor, env, asgi_log, ports, cpu_groups)
            worker = IntegrationWorker(args, supervisor, env, worker_log, context, cpu_groups)
            rows = run_operations(args, context, ports, cpu_groups, worker)
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nbench: interrupted; stopping everything it started", file=sys.stderr)
            return 130
        finally:
            supervisor.stop_all()
            if stub is not None:
                stub.stop()
    report = build_report(args, machine, context["facts"], rows, sync_rows, stream_row, webhooks_row)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print(render_table(report))
    if stream_row is not None:
        print(stream.render(stream_row))
    if webhooks_row is not None:
        print(webhook_phase.render(webhooks_row))
    print(f"\nwritten to {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
