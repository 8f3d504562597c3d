"""Gateway call counters: cheap to count on the hot path, flushed into GatewayCallStat by a beat task.

Each call through the gateway (once its caller is known) increments counters of its hour, calling plugin and
target plugin: calls, errors, total milliseconds and the duration bucket it fell in (gateway.models.
BUCKET_BOUNDS_MS, the bounds of /metrics' extension_request_duration_seconds). With REDIS_URL set they are
fields of one Redis hash per hour (`plexica:gateway:calls:<hour>`), incremented in one pipelined round trip
(HINCRBY for each, EXPIRE) and shared by every worker on every host; without Redis (the embedded mode, one process)
they are in this process's memory, as the rate limits' fallback is. A call never touches the database.

`flush_call_stats` (the beat task `gateway.flush_call_stats`, every minute) copies the hours not yet final
into GatewayCallStat. The counters are running totals of their hour, and the flush writes them as they are
(never adds them), so a flush that runs twice, or two at once, counts nothing twice. An hour is final once the
next one is over; the flush keeps a watermark of the hours it copied for good, so after an outage it catches
up on every hour the counters still hold (KEEP_HOURS). If Redis loses a counter mid-hour, the row keeps the
larger of the stored and the new number: it never goes backwards.

A counting failure (Redis unreachable) is logged and the call goes on: statistics are not worth a failed call.

These counters are what the admin's charts (calls, errors, p95 per plugin) and the status API's per-plugin
metrics (plugin_totals) read. /metrics' extension_* series count the same calls in each process's memory
(plexica.observability.metrics): the same events, kept apart because Prometheus wants counters per process
that it sums itself, while the admin wants hourly history across hosts.
"""

import bisect
import logging
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Func, IntegerField, Q, Sum, When

from plexica.observability.metrics import DURATION_BUCKETS

logger = logging.getLogger("gateway.callstats")

KEY_PREFIX = "plexica:gateway:calls:"
WATERMARK_KEY = KEY_PREFIX + "flushed-through"
KEEP_HOURS = 48  # how long an hour's counters stay in Redis: the longest outage of the flush it survives
_SEPARATOR = "|"
# The duration buckets (ms): /metrics' histogram bounds. Each counts the calls above the previous bound up to its
# own; the last one those above 10 s. GatewayCallStat has a column for each (BUCKET_FIELDS).
BUCKET_BOUNDS_MS = tuple(round(bound * 1000) for bound in DURATION_BUCKETS)
BUCKET_FIELDS = tuple(f"ms_upto_{bound}" for bound in BUCKET_BOUNDS_MS) + (f"ms_over_{BUCKET_BOUNDS_MS[-1]}",)
# The counters of a (caller, target) pair: their field prefixes in the hash, and their GatewayCallStat columns.
KINDS = ("c", "e", "ms") + tuple(f"h{index}" for index in range(len(BUCKET_FIELDS)))
COLUMNS = ("calls", "errors", "duration_ms") + BUCKET_FIELDS
_INDEX = {kind: index for index, kind in enumerate(KINDS)}

_local_lock = threading.Lock()
_local_hours = defaultdict(lambda: defaultdict(int))  # hour -> field -> value (no Redis: this process only)
_local_watermark = {}


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def hour_of(timestamp):
    """The hour number (hours since the epoch, UTC) of a Unix time."""
    return int(timestamp // 3600)


def hour_start(hour):
    return datetime.fromtimestamp(hour * 3600, tz=UTC)


def bucket_of(duration_ms):
    """The index of the duration bucket of a call of `duration_ms` (the last one: over 10 s)."""
    return bisect.bisect_left(BUCKET_BOUNDS_MS, duration_ms)


def record_call(caller_pk, target_plugin_id, *, failed, duration_ms, now=None):
    """Count one call by plugin `caller_pk` to `target_plugin_id` ("" when it reached no service)."""
    hour = hour_of(time.time() if now is None else now)
    field = f"{caller_pk}{_SEPARATOR}{target_plugin_id}"
    bucket = f"h{bucket_of(duration_ms)}{_SEPARATOR}{field}"
    duration_ms = max(0, round(duration_ms))
    if not settings.REDIS_URL:
        with _local_lock:
            counters = _local_hours[hour]
            counters["c" + _SEPARATOR + field] += 1
            if failed:
                counters["e" + _SEPARATOR + field] += 1
            counters["ms" + _SEPARATOR + field] += duration_ms
            counters[bucket] += 1
        return
    key = f"{KEY_PREFIX}{hour}"
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(key, "c" + _SEPARATOR + field, 1)
        if failed:
            pipe.hincrby(key, "e" + _SEPARATOR + field, 1)
        pipe.hincrby(key, "ms" + _SEPARATOR + field, duration_ms)
        pipe.hincrby(key, bucket, 1)
        pipe.expire(key, KEEP_HOURS * 3600)
        pipe.execute()
    except Exception:
        logger.warning("Could not count a gateway call of %s", caller_pk, exc_info=True)


def _read_hours(hours):
    """{hour: {field: value}} of the counters of `hours`, in one round trip."""
    if not settings.REDIS_URL:
        with _local_lock:
            return {hour: dict(_local_hours[hour]) for hour in hours if hour in _local_hours}
    pipe = _redis().pipeline(transaction=False)
    for hour in hours:
        pipe.hgetall(f"{KEY_PREFIX}{hour}")
    return {
        hour: {name.decode(): int(value) for name, value in found.items()}
        for hour, found in zip(hours, pipe.execute())
        if found
    }


def _watermark():
    if not settings.REDIS_URL:
        return _local_watermark.get("hour")
    value = _redis().get(WATERMARK_KEY)
    return int(value) if value is not None else None


def _set_watermark(hour):
    if not settings.REDIS_URL:
        with _local_lock:
            _local_watermark["hour"] = hour
            for old in [h for h in _local_hours if h <= hour]:
                del _local_hours[old]  # final and copied: the database has them now
        return
    _redis().set(WATERMARK_KEY, hour, ex=KEEP_HOURS * 3600)


def _counted(hours_fields):
    """{(hour, caller pk, target): [value per COLUMNS]} of {hour: {field: value}}."""
    counted = defaultdict(lambda: [0] * len(KINDS))
    for hour, fields in hours_fields.items():
        for name, value in fields.items():
            kind, caller_pk, target = name.split(_SEPARATOR, 2)
            index = _INDEX.get(kind)
            if index is not None:
                counted[(hour, caller_pk, target)][index] = value
    return counted


def flush_call_stats(now=None):
    """Copy the counters of every hour not yet final into GatewayCallStat; returns the number of rows written.

    Idempotent: rows take the counters' totals (or keep a larger stored number), so running it again, or
    concurrently, writes the same numbers.
    """
    from gateway.models import GatewayCallStat
    from plexica.plugins.models import Plugin

    current = hour_of(time.time() if now is None else now)
    watermark = _watermark()
    first = current - KEEP_HOURS + 1 if watermark is None else max(watermark + 1, current - KEEP_HOURS + 1)
    hours = list(range(first, current + 1))
    counted = _counted(_read_hours(hours))
    written = 0
    if counted:
        callers = dict(Plugin.objects.filter(pk__in={caller for _, caller, _ in counted})
                       .values_list("pk", "organization_id"))
        starts = {hour: hour_start(hour) for hour, _, _ in counted}
        stored = {
            (row[0], row[1], row[2]): list(row[3:])
            for row in GatewayCallStat.objects.filter(hour__in=starts.values(), caller_id__in=callers)
            .values_list("hour", "caller_id", "target_plugin_id", *COLUMNS)
        }
        rows = []
        for (hour, caller_pk, target), numbers in counted.items():
            if caller_pk not in callers:
                continue  # the plugin is gone, and its statistics with it
            before = stored.get((starts[hour], caller_pk, target))
            if before is not None:
                numbers = [max(new, old) for new, old in zip(numbers, before)]
                if numbers == before:
                    continue
            rows.append(GatewayCallStat(organization_id=callers[caller_pk], hour=starts[hour], caller_id=caller_pk,
                                        target_plugin_id=target, **dict(zip(COLUMNS, numbers))))
        if rows:
            with transaction.atomic():
                GatewayCallStat.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["hour", "caller", "target_plugin_id"],
                    update_fields=list(COLUMNS),
                )
        written = len(rows)
    # Hours before the previous one get no more calls: copied now, they are final.
    _set_watermark(current - 2)
    return written


def percentile(buckets, quantile=0.95):
    """The `quantile` of the durations counted in `buckets` (one count per BUCKET_FIELDS), in ms, interpolated
    within its bucket as Prometheus' histogram_quantile() does; None without calls. Above the last bound: 10 s."""
    total = sum(buckets)
    if not total:
        return None
    rank, seen = quantile * total, 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            if index == len(BUCKET_BOUNDS_MS):
                return float(BUCKET_BOUNDS_MS[-1])
            lower = BUCKET_BOUNDS_MS[index - 1] if index else 0
            return lower + (BUCKET_BOUNDS_MS[index] - lower) * (rank - seen) / count
        seen += count
    return float(BUCKET_BOUNDS_MS[-1])


class HourNumber(Func):
    """hour_of() of a timestamp column, computed by the database (an int a row is cheaper than a datetime)."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(EXTRACT(EPOCH FROM %(expressions)s)::bigint / 3600)",
                           **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / 3600)",
                           **extra)


def plugin_totals(organization_id, now=None, caller_pks=None):
    """{target plugin id: {"requests_total", "errors_total", "latency_ms_sum"}}: every gateway call to each of
    the organization's plugins that the statistics hold (GatewayCallStat, and the counters of the hours not yet
    final), the numbers the admin's charts read. Two queries and two Redis round trips, however many plugins;
    one query when the caller already has the organization's plugin pks (`caller_pks`, strings).

    Final hours (up to the flush's watermark) come from the rows, summed by the database; later ones from the
    counters, or the row when it holds more (as the flush itself decides), so a call is never counted twice nor
    lost by a late flush.
    """
    from gateway.models import GatewayCallStat
    from plexica.plugins.models import Plugin

    current = hour_of(time.time() if now is None else now)
    watermark = _watermark()
    boundary = watermark if watermark is not None else current - KEEP_HOURS
    open_hours = _read_hours(list(range(max(boundary + 1, current - KEEP_HOURS + 1), current + 1)))
    totals = defaultdict(lambda: {"requests_total": 0, "errors_total": 0, "latency_ms_sum": 0})
    # One query: the final hours summed per target (open_hour and open_caller null), the open hours' rows as
    # they are, to be compared with their counters.
    is_open = Q(hour__gt=hour_start(boundary))
    rows = (GatewayCallStat.objects.filter(organization_id=organization_id).order_by()
            .values_list(Case(When(is_open, then=HourNumber("hour")), default=None),
                         Case(When(is_open, then=F("caller_id")), default=None), "target_plugin_id")
            .annotate(Sum("calls"), Sum("errors"), Sum("duration_ms")))
    stored = {}
    for hour, caller_pk, target, calls, errors, ms in rows:
        if hour is None:
            _add(totals[target], calls, errors, ms)
        else:
            stored[(hour, caller_pk, target)] = (calls, errors, ms)
    if open_hours:
        callers = caller_pks if caller_pks is not None else {
            str(pk) for pk in Plugin.objects.filter(organization_id=organization_id).order_by()
            .values_list("pk", flat=True)}
        for (hour, caller_pk, target), numbers in _counted(open_hours).items():
            if caller_pk not in callers:
                continue  # another organization's call
            before = stored.pop((hour, caller_pk, target), (0, 0, 0))
            _add(totals[target], *(max(new, old) for new, old in zip(numbers[:3], before)))
    for (_, _, target), (calls, errors, ms) in stored.items():  # rows whose counters are gone
        _add(totals[target], calls, errors, ms)
    totals.pop("", None)  # calls that reached no plugin
    return dict(totals)


def _add(total, calls, errors, ms):
    total["requests_total"] += calls or 0
    total["errors_total"] += errors or 0
    total["latency_ms_sum"] += ms or 0


def reset_local_counters():
    """Forget the in-process counters and watermark (tests)."""
    with _local_lock:
        _local_hours.clear()
        _local_watermark.clear()
