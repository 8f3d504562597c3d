"""Active health checks: the platform calls each service's health path and records what it answered.

A periodic job (`run_health_checks`, the beat's `registry.check_service_health`) claims every service that
is due with a compare-and-set UPDATE of its `next_check_at` (so two runs at once, or two beats, never check
a service twice in one period), calls the claimed services' health paths from a bounded thread pool through
the gateway's allowed-network policy (checked on the address dialled), and records each answer in this
process's own thread: a ServiceHealthCheck row, the service's counters, and the status transition when the
thresholds are crossed (services.change_status, cause "check", the same path heartbeats and the sweep use).

What counts (`probe`):
- a 2xx answer passes, unless its body is `application/health+json` (or JSON with a `status`) saying `warn`
  or `fail`; a health+json body that does not parse, or has no known `status`, fails as malformed;
- any other status (3xx: redirects are not followed; 4xx; 5xx), a timeout, a refused connection or an address
  the network policy refuses fails, with the reason recorded.

How the checks set `check_status` (`next_check_state`), as Kong's healthy.successes / unhealthy.http_failures
and Consul's success_before_passing / failures_before_critical:
- REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_DEGRADED failures in a row make it DEGRADED, ..._BEFORE_UNAVAILABLE
  UNAVAILABLE; REGISTRY_HEALTH_CHECK_SUCCESSES_BEFORE_HEALTHY answers in a row (pass or warn) recover it;
- `warn` is "up but degraded": it counts as an answer (a success toward recovery, it resets the failures),
  and the service is DEGRADED while its last answer warns; it is never a step toward UNAVAILABLE.
The service's status is the worse of this and its heartbeat's age (services.derive_status).
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta

import urllib3
from django.conf import settings
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from plexica.network import GATEWAY_POLICY, NetworkPolicyError, resolve
from plexica.outbound_http import policy_pool_manager
from plexica.tenancy.models import Organization
from registry.models import CheckOutcome, PluginService, ServiceHealthCheck, ServiceStatus
from registry.services import (
    change_status,
    derive_status,
    effective_check_status,
    health_check_path,
    invalidate_discovery,
    mark_plugin_loaded,
)

MAX_BODY_BYTES = 8 * 1024  # a health answer is small; more is not read
MAX_REASON = 500
# A claim holds a service for this share of the interval: a second run within it skips the service, and
# the next period's run (even a little early) finds it due again.
CLAIM_SHARE = 0.75
BATCH = 500

HEALTH_JSON = "application/health+json"
# application/health+json's values (draft-inadarei-api-health-check: "ok"/"up" are pass, "error"/"down" fail),
# and the extensions seed's words ("healthy", "degraded", "unhealthy").
_STATUS_WORDS = {
    "pass": CheckOutcome.PASS, "ok": CheckOutcome.PASS, "up": CheckOutcome.PASS, "healthy": CheckOutcome.PASS,
    "warn": CheckOutcome.WARN, "degraded": CheckOutcome.WARN,
    "fail": CheckOutcome.FAIL, "error": CheckOutcome.FAIL, "down": CheckOutcome.FAIL,
    "unhealthy": CheckOutcome.FAIL,
}


@dataclass(frozen=True)
class CheckResult:
    outcome: str
    url: str
    http_status: int | None = None
    duration_ms: int = 0
    reason: str = ""


# --- Calling a health path -----------------------------------------------------------------------


def _resolve(host, port):
    # Looked up in this module at call time, so a test can point a name at addresses it chooses.
    return resolve(host, port)


_lock = threading.Lock()
_pool = None


def check_pool():
    """The process-wide pool of health-check connections, through the gateway's allowed-network policy."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = policy_pool_manager(GATEWAY_POLICY, maxsize=settings.REGISTRY_HEALTH_CHECK_CONCURRENCY,
                                            resolver=_resolve, name="HealthCheck")
    return _pool


def check_url(base_url, path):
    return base_url.rstrip("/") + path


def _trim(text):
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_REASON else text[:MAX_REASON - 1] + "…"


def probe(url, timeout):
    """GET `url` within `timeout` seconds and judge the answer; never raises for what the service does."""
    started = time.monotonic()
    deadline = started + timeout

    def result(outcome, reason="", http_status=None):
        return CheckResult(outcome, url, http_status, int((time.monotonic() - started) * 1000), _trim(reason))

    try:
        response = check_pool().request(
            "GET", url, headers={"Accept": f"{HEALTH_JSON}, application/json;q=0.9, */*;q=0.1",
                                 "User-Agent": "plexica-health-check"},
            redirect=False, retries=False, preload_content=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
    except NetworkPolicyError as exc:
        return result(CheckOutcome.FAIL, f"refused by the network policy: {exc}")
    except urllib3.exceptions.NewConnectionError as exc:  # before ConnectTimeoutError, its base class
        return result(CheckOutcome.FAIL, f"connection failed: {_connection_error(exc)}")
    except urllib3.exceptions.ConnectTimeoutError:
        return result(CheckOutcome.FAIL, f"no connection within {timeout:g}s")
    except urllib3.exceptions.ReadTimeoutError:
        return result(CheckOutcome.FAIL, f"no answer within {timeout:g}s")
    except urllib3.exceptions.HTTPError as exc:  # the connection dropped before an answer (ProtocolError...)
        return result(CheckOutcome.FAIL, f"connection failed: {_connection_error(exc)}")
    complete = False
    try:
        body, complete = _read_capped(response, deadline)
    except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
        return result(CheckOutcome.FAIL, f"no complete answer within {timeout:g}s", response.status)
    except urllib3.exceptions.HTTPError as exc:
        return result(CheckOutcome.FAIL, f"connection failed while reading: {_connection_error(exc)}",
                      response.status)
    finally:
        # Kept alive only when read to the end (urllib3 drops one the service closed while idle); an answer
        # not read to the end must never reach the next check.
        if not complete:
            response.close()
        response.release_conn()
    outcome, reason = judge(response.status, response.headers.get("content-type", ""), body, complete)
    return result(outcome, reason, response.status)


def _connection_error(exc):
    """The operating system's words for why a connection failed ("Connection refused"), else the error's name."""
    seen = [exc, *(arg for arg in getattr(exc, "args", ()) if isinstance(arg, BaseException))]
    while seen:
        error = seen.pop(0)
        if isinstance(error, OSError) and (error.strerror or str(error)):
            return error.strerror or str(error)
        seen += [cause for cause in (error.__cause__, error.__context__) if cause is not None]
        if len(seen) > 10:
            break
    return type(exc).__name__


def _read_capped(response, deadline):
    """(body, complete): at most MAX_BODY_BYTES, within the deadline."""
    chunks, size = [], 0
    while size <= MAX_BODY_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = response.read(1024)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:MAX_BODY_BYTES], False  # the rest is not read


def judge(status, content_type, body, complete=True):
    """(outcome, reason) of an answer: see the module docstring."""
    media_type = content_type.split(";")[0].strip().lower()
    is_health_json = media_type == HEALTH_JSON
    said, output = None, ""
    if media_type in (HEALTH_JSON, "application/json") or media_type.endswith("+json"):
        if not complete:
            if is_health_json:
                return CheckOutcome.FAIL, f"malformed health body: larger than {MAX_BODY_BYTES // 1024} KiB"
        else:
            try:
                document = json.loads(body)
            except ValueError:
                return CheckOutcome.FAIL, "malformed body: it is declared as JSON but does not parse"
            if isinstance(document, dict) and isinstance(document.get("status"), str):
                said = _STATUS_WORDS.get(document["status"].strip().lower())
                output = document.get("output") if isinstance(document.get("output"), str) else ""
                if said is None and is_health_json:
                    return CheckOutcome.FAIL, f"malformed health body: unknown status {document['status'][:40]!r}"
            elif is_health_json:
                return CheckOutcome.FAIL, 'malformed health body: no "status"'
    elif media_type.startswith("text/"):
        output = body.decode("utf-8", "replace")[:200]
    if not 200 <= status <= 299:
        kind = "redirect (not followed)" if 300 <= status <= 399 else "error"
        return CheckOutcome.FAIL, f"HTTP {status} {kind}" + (f": {output}" if output.strip() else "")
    if said == CheckOutcome.FAIL:
        return CheckOutcome.FAIL, output or "the service reports status fail"
    if said == CheckOutcome.WARN:
        return CheckOutcome.WARN, output or "the service reports status warn"
    return CheckOutcome.PASS, ""


# --- What the checks conclude ---------------------------------------------------------------------


def next_check_state(check_status, failures, successes, outcome):
    """(check_status, failures, successes) after one more check whose outcome is `outcome`."""
    if outcome == CheckOutcome.FAIL:
        failures, successes = failures + 1, 0
        if failures >= settings.REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_UNAVAILABLE:
            return ServiceStatus.UNAVAILABLE, failures, successes
        if failures >= settings.REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_DEGRADED and check_status == ServiceStatus.HEALTHY:
            return ServiceStatus.DEGRADED, failures, successes
        return ServiceStatus(check_status), failures, successes
    failures, successes = 0, successes + 1
    answered = ServiceStatus.HEALTHY if outcome == CheckOutcome.PASS else ServiceStatus.DEGRADED
    if successes >= settings.REGISTRY_HEALTH_CHECK_SUCCESSES_BEFORE_HEALTHY or check_status == ServiceStatus.HEALTHY:
        # Recovered (or never down): the service is what it answers; a warning from a healthy one degrades it.
        return answered, failures, successes
    return ServiceStatus(check_status), failures, successes


def record_check(service_id, result, now=None, organizations=None):
    """Record one check of the service: its history row, counters and last check, and the status transition
    (cause "check") when what the checks conclude changes the combined status. Returns the service's
    persisted status, or None when the service is gone. `organizations`: a dict the caller keeps across calls, so each is read once."""
    now = now or timezone.now()
    organizations = {} if organizations is None else organizations
    fields = ("status", "check_status", "check_failures", "check_successes", "last_seen_at", "service_name",
              "organization_id", "plugin_id", "plugin__plugin_id", "plugin__installed_at", "plugin__loaded_at")
    row = PluginService.objects.filter(pk=service_id).values(*fields).first()
    if row is None:
        return None
    organization = organizations.get(row["organization_id"])
    if organization is None:
        organization = organizations[row["organization_id"]] = Organization.objects.get(pk=row["organization_id"])
    check_status, failures, successes = next_check_state(row["check_status"], row["check_failures"],
                                                         row["check_successes"], result.outcome)
    ServiceHealthCheck.objects.create(
        organization_id=row["organization_id"], service_id=service_id, at=now, outcome=result.outcome,
        http_status=result.http_status, duration_ms=result.duration_ms, url=result.url[:2600],
        reason=result.reason,
    )
    changes = {"check_status": check_status, "check_failures": failures, "check_successes": successes,
               "last_check_at": now, "last_check_outcome": result.outcome}
    previous = row["status"]
    # Only a change of what the checks conclude moves the status here; what the heartbeat's age alone changes
    # is the sweep's to persist (cause "sweep"), so each transition names its real cause.
    concluded = effective_check_status(check_status) != effective_check_status(row["check_status"])
    while True:
        target = derive_status(row["last_seen_at"], now, check_status) if concluded else previous
        if change_status(None, organization, service_id, row["service_name"], row["plugin__plugin_id"], previous,
                         target, "check", now, condition=Q(last_seen_at=row["last_seen_at"]), **changes):
            break
        # A heartbeat, the sweep or a deregistration came in between: read the row again.
        current = PluginService.objects.filter(pk=service_id).values("status", "last_seen_at").first()
        if current is None:
            return None
        previous, row["last_seen_at"] = current["status"], current["last_seen_at"]
    if concluded:
        invalidate_discovery(row["organization_id"], row["service_name"])
    if result.outcome == CheckOutcome.PASS and derive_status(row["last_seen_at"], now, check_status) == "HEALTHY":
        mark_plugin_loaded(row["plugin_id"], row["plugin__installed_at"], row["plugin__loaded_at"], now)
    return target


# --- The periodic job -----------------------------------------------------------------------------


def due_q(now):
    return Q(next_check_at__isnull=True) | Q(next_check_at__lte=now)


def claim(service_id, now):
    """Take the service's check of this period: True when this run took it (compare-and-set on next_check_at)."""
    hold = timedelta(seconds=settings.REGISTRY_HEALTH_CHECK_INTERVAL * CLAIM_SHARE)
    return bool(PluginService.objects.filter(due_q(now), pk=service_id).update(next_check_at=now + hold))


def run_health_checks(now=None, batch_size=BATCH):
    """Check every service that is due and has a base URL and checks switched on; returns {outcome: count}.

    Idempotent and safe to run twice at once: each service is claimed before it is called. Only the calls
    run in the thread pool (REGISTRY_HEALTH_CHECK_CONCURRENCY threads); every database write is made here.
    Stops claiming once a run has taken longer than the interval: what is left is due for the next run.
    """
    if not settings.REGISTRY_HEALTH_CHECKS_ENABLED:
        return {}
    fixed_now = now
    started = time.monotonic()
    timeout = settings.REGISTRY_HEALTH_CHECK_TIMEOUT_MS / 1000
    counts, organizations = {}, {}
    checked = []
    skipped = set()
    while time.monotonic() - started < settings.REGISTRY_HEALTH_CHECK_INTERVAL:
        now = fixed_now or timezone.now()
        candidates = list(PluginService.objects.filter(due_q(now)).exclude(base_url="").exclude(pk__in=skipped)
                          .order_by("next_check_at", "pk").values_list("pk", "base_url", "metadata")[:batch_size])
        if not candidates:
            break
        targets = {}
        for pk, base_url, metadata in candidates:
            path = health_check_path(metadata)
            if path is None:
                skipped.add(pk)  # switched off in its registration
                continue
            if claim(pk, now):
                targets[pk] = check_url(base_url, path)
            else:
                skipped.add(pk)  # another run took it
        if not targets:
            continue
        workers = min(settings.REGISTRY_HEALTH_CHECK_CONCURRENCY, len(targets))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="health-check") as pool:
            futures = {pool.submit(probe, url, timeout): pk for pk, url in targets.items()}
            for future in as_completed(futures):
                result = future.result()
                record_check(futures[future], result, fixed_now or timezone.now(), organizations)
                counts[result.outcome] = counts.get(result.outcome, 0) + 1
        checked.extend(targets)
        skipped.update(targets)
    purge_history(checked)
    return counts


def purge_history(service_ids, keep=None, batch_size=BATCH):
    """Delete the checks of these services beyond the newest `keep` (REGISTRY_HEALTH_CHECK_HISTORY) each, in
    batches of services; returns how many were deleted."""
    keep = keep or settings.REGISTRY_HEALTH_CHECK_HISTORY
    service_ids = list(service_ids)
    deleted = 0
    for start in range(0, len(service_ids), batch_size):
        ranked = (ServiceHealthCheck.objects.filter(service_id__in=service_ids[start:start + batch_size])
                  .annotate(rank=Window(RowNumber(), partition_by=[F("service_id")], order_by=[F("at").desc(),
                                                                                             F("id").desc()]))
                  .filter(rank__gt=keep).values_list("pk", flat=True))
        old = list(ranked)
        for chunk in range(0, len(old), 1000):
            deleted += ServiceHealthCheck.objects.filter(pk__in=old[chunk:chunk + 1000]).delete()[0]
    return deleted
