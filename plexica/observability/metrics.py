"""The platform's Prometheus series, and their exposition.

Names follow the seed (`http_requests_total`, `task_executions_total`, `extension_*`) and Prometheus'
conventions: base units (seconds), `_total` counters, histograms with buckets. Every label value is bounded:
a route template, never a raw path; a method or status from a fixed set; an organization slug or plugin id
only once the request resolved them to a real one. On top of that each series family keeps at most
METRICS_MAX_SERIES label sets per process; past that, new label sets are counted under `other` (one series).

Across processes: with PROMETHEUS_MULTIPROC_DIR set (the gunicorn config and the Celery worker set a fresh
one per start, plexica.observability.processes), prometheus_client writes each process's values to mmap'd
files there and a scrape sums them (MultiProcessCollector), so any worker answers for all of them: an
increment costs a memory write, no network. Without it (the embedded mode, tests) values are this process's.

With METRICS_ENABLED off every record_* function returns at once: the cost of the series can be measured
against none.
"""

import logging
import os
import threading
from functools import lru_cache

from django.conf import settings
from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest,
                               multiprocess, values)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger("plexica.observability")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"  # a label value past the series bound, or outside a fixed set
UNMATCHED = "unmatched"  # a request (or gateway call) that resolved to no route (or endpoint)
# Seconds; the gateway's call statistics use the same bounds in milliseconds (gateway.callstats), so the
# admin's p95 and histogram_quantile() over /metrics read the same buckets.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir():
    """The directory prometheus_client's multiprocess mode writes to, or None (this process only)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# prometheus_client chooses its value store when first imported; a process that set the directory after
# that (a Celery worker setting it in celeryd_init) still gets the multiprocess store for our series.
if multiprocess_dir() and values.ValueClass.__name__ != "MmapedValue":
    values.ValueClass = values.get_value_class()

disable_created_metrics()  # no `_created` series: the multiprocess mode has none either, so both modes match
REGISTRY = CollectorRegistry(auto_describe=True)  # our series only (no process/GC collectors)


class _Family:
    """A labelled series family with at most METRICS_MAX_SERIES children in this process."""

    def __init__(self, metric):
        self.metric = metric
        self.children = {}
        self._other = None

    def child(self, *labels):
        found = self.children.get(labels)
        if found is not None:
            return found
        if len(self.children) >= settings.METRICS_MAX_SERIES:
            if self._other is None:
                self._other = self.metric.labels(*(OTHER,) * len(labels))
            return self._other
        return self.children.setdefault(labels, self.metric.labels(*labels))

    def clear(self):
        self.children.clear()
        self._other = None
        self.metric.clear()


http_requests = _Family(Counter(
    "http_requests", "HTTP requests answered, by method, route template and status.",
    ["method", "endpoint", "status"], registry=REGISTRY))
task_executions = _Family(Counter(
    "task_executions", "Celery task executions, by task name and final state.", ["task", "status"],
    registry=REGISTRY))
extension_requests = _Family(Counter(
    "extension_requests", "Gateway calls to an organization's plugin (the extension), by its endpoint's path "
    "template, method and the status the gateway answered.",
    ["organization", "extension", "endpoint", "method", "status"], registry=REGISTRY))
extension_request_duration = _Family(Histogram(
    "extension_request_duration_seconds", "Time of gateway calls to a plugin, from the caller's identity to "
    "the upstream's last byte.", ["organization", "extension", "endpoint", "method"],
    buckets=DURATION_BUCKETS, registry=REGISTRY))
extension_errors = _Family(Counter(
    "extension_errors", "Gateway calls to a plugin the gateway refused or failed, or the upstream answered with "
    "a 5xx, by error type.", ["organization", "extension", "endpoint", "error_type"], registry=REGISTRY))
extension_active_connections = _Family(Gauge(
    "extension_active_connections", "Gateway calls to a plugin in flight now.",
    ["organization", "extension", "endpoint"], multiprocess_mode="livesum", registry=REGISTRY))
heartbeats = _Family(Counter(
    "plexica_heartbeats", "Service heartbeats recorded: `healthy` kept a healthy service healthy, `recovered` "
    "brought a degraded or unavailable one back.", ["result"], registry=REGISTRY))
shared_data_operations = _Family(Counter(
    "plexica_shared_data_operations", "Shared-data operations, by operation and outcome.",
    ["operation", "outcome"], registry=REGISTRY))
dependency_resolutions = _Family(Counter(
    "plexica_dependency_resolutions", "Dependency resolutions, by outcome.", ["outcome"], registry=REGISTRY))
sync_outcomes = _Family(Counter(
    "plexica_sync_outcomes", "Connector sync runs finished, by the sync event's status.", ["status"],
    registry=REGISTRY))
webhook_deliveries = _Family(Counter(
    "plexica_webhook_delivery_attempts", "Outbound webhook delivery attempts, by outcome.", ["outcome"],
    registry=REGISTRY))
integration_executions = _Family(Counter(
    "plexica_integration_executions", "Integration method executions finished, by status.", ["status"],
    registry=REGISTRY))

FAMILIES = [http_requests, task_executions, extension_requests, extension_request_duration, extension_errors,
            extension_active_connections, heartbeats, shared_data_operations, dependency_resolutions,
            sync_outcomes, webhook_deliveries, integration_executions]


def _status_label(status):
    return str(status) if isinstance(status, int) and 100 <= status <= 599 else OTHER


def _method_label(method):
    method = (method or "").upper()
    return method if method in METHODS else OTHER


# --- What the platform records ----------------------------------------------------------------------------


def count_http_request(method, endpoint, status):
    if settings.METRICS_ENABLED:
        http_requests.child(_method_label(method), endpoint, _status_label(status)).inc()


def count_task(task_name, state):
    if settings.METRICS_ENABLED:
        task_executions.child(task_name or OTHER, (state or OTHER).lower()).inc()


class ExtensionCall:
    """One gateway call to a plugin: `target()` once its service (and endpoint) are known, `sending()` just
    before the upstream request, then `finished()` once.

    extension = the target plugin's id (only once a real service of the organization was found), endpoint =
    its registered path template (UNMATCHED when no endpoint matched), organization = the caller's slug.
    """

    __slots__ = ("organization", "method", "extension", "endpoint", "_gauge")

    def __init__(self, organization, method):
        self.organization, self.method = organization, _method_label(method)
        self.extension, self.endpoint, self._gauge = UNMATCHED, UNMATCHED, None

    def target(self, extension, endpoint=UNMATCHED):
        self.extension, self.endpoint = extension, endpoint

    def sending(self):
        if settings.METRICS_ENABLED:
            self._gauge = extension_active_connections.child(self.organization, self.extension, self.endpoint)
            self._gauge.inc()

    def finished(self, status, seconds, error_type=None):
        if self._gauge is not None:
            self._gauge.dec()
            self._gauge = None
        if not settings.METRICS_ENABLED:
            return
        labels = (self.organization, self.extension, self.endpoint)
        extension_requests.child(*labels, self.method, _status_label(status)).inc()
        extension_request_duration.child(*labels, self.method).observe(seconds)
        if error_type:
            extension_errors.child(*labels, error_type).inc()


def count_heartbeat(recovered):
    if settings.METRICS_ENABLED:
        heartbeats.child("recovered" if recovered else "healthy").inc()


def count_shared_data(operation, outcome):
    if settings.METRICS_ENABLED:
        shared_data_operations.child(operation, outcome).inc()


def count_dependency_resolution(outcome):
    if settings.METRICS_ENABLED:
        dependency_resolutions.child(outcome).inc()


def count_sync_outcome(status):
    if settings.METRICS_ENABLED:
        sync_outcomes.child(str(status).lower()).inc()


def count_webhook_attempt(outcome):
    if settings.METRICS_ENABLED:
        webhook_deliveries.child(outcome).inc()


def count_integration_execution(status):
    if settings.METRICS_ENABLED:
        integration_executions.child(str(status).lower()).inc()


# --- Series computed at scrape time -----------------------------------------------------------------------

_scrape_collectors = {}
_lock = threading.Lock()


def register_scrape_collector(name, collect):
    """Add `collect()` -> [metric families] to every scrape (feature apps, from AppConfig.ready()); its
    failure is logged and leaves its series out of that scrape."""
    with _lock:
        _scrape_collectors[name] = collect


def celery_queue_lengths():
    """plexica_celery_queue_length{queue}: Redis LLEN of the Celery queues (full mode; one round trip)."""
    if not settings.REDIS_URL:
        return []
    from django_redis import get_redis_connection

    queues = sorted(set(settings.METRICS_CELERY_QUEUES))
    pipe = get_redis_connection("default").pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
    family = GaugeMetricFamily("plexica_celery_queue_length", "Messages waiting in each Celery queue (Redis).",
                               labels=["queue"])
    for queue, length in zip(queues, pipe.execute()):
        family.add_metric([queue], length)
    return [family]


register_scrape_collector("celery_queues", celery_queue_lengths)


class _Scrape:
    """One scrape's collector: the recorded series (this process's, or every process's files) and the
    scrape-time ones."""

    def collect(self):
        directory = multiprocess_dir()
        if directory:
            yield from multiprocess.MultiProcessCollector(None, path=directory).collect()
        else:
            yield from REGISTRY.collect()
        with _lock:
            collectors = list(_scrape_collectors.items())
        for name, collect in collectors:
            try:
                families = list(collect())
            except Exception:
                logger.warning("Metrics collector %s failed; its series are left out of this scrape", name,
                               exc_info=True)
                continue
            yield from families


def exposition():
    """The Prometheus text exposition (format 0.0.4) of every series."""
    registry = CollectorRegistry()
    registry.register(_Scrape())
    return generate_latest(registry)


def reset():
    """Forget every recorded value of this process (tests; the single-process store only)."""
    for family in FAMILIES:
        family.clear()


@lru_cache(maxsize=4096)
def route_template(route):
    """`/api/v1/plugins/{plugin_id}` from Django's `api/v1/plugins/<str:plugin_id>` (or a regex route's
    named groups)."""
    import re

    template = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    template = re.sub(r"\(\?P<(\w+)>[^()]*\)", r"{\1}", template)
    return "/" + template.lstrip("^").rstrip("$").lstrip("/")
