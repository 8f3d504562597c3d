"""Gateway call counters: cheap to count on the hot path, flushed into GatewayCallStat by a beat task.

Each call through the gateway (once its caller is known) increments three counters of its hour, calling
plugin and target plugin: calls, errors and total milliseconds. With REDIS_URL set they are fields of one
Redis hash per hour (`plexica:gateway:calls:<hour>`), incremented in one pipelined round trip (HINCRBY,
HINCRBY, EXPIRE) and shared by every worker on every host; without Redis (the embedded mode, one process)
they are in this process's memory, as the rate limits' fallback is. A call never touches the database.

`flush_call_stats` (the beat task `gateway.flush_call_stats`, every minute) copies the hours not yet final
into GatewayCallStat. The counters are running totals of their hour, and the flush writes them as they are
(never adds them), so a flush that runs twice, or two at once, counts nothing twice. An hour is final once the
next one is over; the flush keeps a watermark of the hours it copied for good, so after an outage it catches
up on every hour the counters still hold (KEEP_HOURS). If Redis loses a counter mid-hour, the row keeps the
larger of the stored and the new number: it never goes backwards.

A counting failure (Redis unreachable) is logged and the call goes on: statistics are not worth a failed call.
"""

import logging
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction

logger = logging.getLogger("gateway.callstats")

KEY_PREFIX = "plexica:gateway:calls:"
WATERMARK_KEY = KEY_PREFIX + "flushed-through"
KEEP_HOURS = 48  # how long an hour's counters stay in Redis: the longest outage of the flush it survives
_SEPARATOR = "|"

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


def record_call(caller_pk, target_plugin_id, *, failed, duration_ms, now=None):
    """Count one call by plugin `caller_pk` to `target_plugin_id` ("" when it reached no service)."""
    hour = hour_of(time.time() if now is None else now)
    field = f"{caller_pk}{_SEPARATOR}{target_plugin_id}"
    duration_ms = max(0, round(duration_ms))
    if not settings.REDIS_URL:
        with _local_lock:
            counters = _local_hours[hour]
            counters["c" + _SEPARATOR + field] += 1
            if failed:
                counters["e" + _SEPARATOR + field] += 1
            counters["ms" + _SEPARATOR + field] += duration_ms
        return
    key = f"{KEY_PREFIX}{hour}"
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(key, "c" + _SEPARATOR + field, 1)
        if failed:
            pipe.hincrby(key, "e" + _SEPARATOR + field, 1)
        pipe.hincrby(key, "ms" + _SEPARATOR + field, duration_ms)
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
    counted = defaultdict(lambda: [0, 0, 0])  # (hour, caller pk, target) -> [calls, errors, ms]
    for hour, fields in _read_hours(hours).items():
        for name, value in fields.items():
            kind, caller_pk, target = name.split(_SEPARATOR, 2)
            index = {"c": 0, "e": 1, "ms": 2}.get(kind)
            if index is not None:
                counted[(hour, caller_pk, target)][index] = value
    written = 0
    if counted:
        callers = dict(Plugin.objects.filter(pk__in={caller for _, caller, _ in counted})
                       .values_list("pk", "organization_id"))
        starts = {hour: hour_start(hour) for hour, _, _ in counted}
        stored = {
            (row["hour"], row["caller_id"], row["target_plugin_id"]): row
            for row in GatewayCallStat.objects.filter(hour__in=starts.values(), caller_id__in=callers).values(
                "hour", "caller_id", "target_plugin_id", "calls", "errors", "duration_ms")
        }
        rows = []
        for (hour, caller_pk, target), (calls, errors, ms) in counted.items():
            if caller_pk not in callers:
                continue  # the plugin is gone, and its statistics with it
            before = stored.get((starts[hour], caller_pk, target))
            if before is not None:
                calls, errors, ms = (max(calls, before["calls"]), max(errors, before["errors"]),
                                     max(ms, before["duration_ms"]))
                if (calls, errors, ms) == (before["calls"], before["errors"], before["duration_ms"]):
                    continue
            rows.append(GatewayCallStat(organization_id=callers[caller_pk], hour=starts[hour], caller_id=caller_pk,
                                        target_plugin_id=target, calls=calls, errors=errors, duration_ms=ms))
        if rows:
            with transaction.atomic():
                GatewayCallStat.objects.bulk_create(
                    rows, update_conflicts=True, unique_fields=["hour", "caller", "target_plugin_id"],
                    update_fields=["calls", "errors", "duration_ms"],
                )
        written = len(rows)
    # Hours before the previous one get no more calls: copied now, they are final.
    _set_watermark(current - 2)
    return written


def reset_local_counters():
    """Forget the in-process counters and watermark (tests)."""
    with _local_lock:
        _local_hours.clear()
        _local_watermark.clear()
