"""Rate limits as GCRA (the generic cell rate algorithm), several buckets checked and charged atomically.

A bucket allows `limit` requests per `period` seconds: a burst of `limit` at once, then one request every
`period / limit` seconds. Each bucket stores one number, its theoretical arrival time (TAT): when it would
be back to empty if no request came. A request at `now` is allowed when `max(TAT, now) + interval` is at
most `limit * interval` ahead of `now`; allowing it moves the TAT there. Unlike fixed windows, nothing
resets at a window edge, so a client cannot spend a whole budget at the end of one minute and another at
the start of the next.

`hit_many` checks several buckets (an organization's and a credential's, say) and charges them only if
all allow: a request refused by one bucket costs none of the others. With REDIS_URL set the buckets live
in Redis and one Lua script (registered once, sent as EVALSHA) checks and charges them all in a single
round trip, so concurrent workers on any number of hosts never let more than the limit through. Without
Redis (the embedded mode) the same arithmetic runs on the local-memory cache under a process lock.

Times are whole microseconds, taken from this host's clock (`now` may be given, for tests). A Redis
error is not swallowed: the caller fails rather than serve unlimited.
"""

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

KEY_PREFIX = "plexica:ratelimit:"
_MICROS = 1_000_000

# KEYS: one per bucket. ARGV[1]: now (µs); then per bucket its emission interval (µs) and limit.
# Returns {allowed (1/0), then per bucket: remaining, reset after (µs), retry after (µs)}.
_GCRA = """
local now = tonumber(ARGV[1])
local tats, news, allowed = {}, {}, true
for i, key in ipairs(KEYS) do
  local interval, limit = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local stored = redis.call('GET', key)
  local tat = stored and tonumber(stored) or now
  if tat < now then tat = now end
  tats[i], news[i] = tat, tat + interval
  if news[i] - now > interval * limit then allowed = false end
end
local result = {allowed and 1 or 0}
for i, key in ipairs(KEYS) do
  local interval, limit = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tolerance = interval * limit
  local tat, retry = tats[i], 0
  if allowed then
    tat = news[i]
    redis.call('SET', key, string.format('%d', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
  elseif news[i] - now > tolerance then
    retry = news[i] - tolerance - now
  end
  local remaining = math.max(0, math.floor((tolerance - (tat - now)) / interval))
  table.insert(result, remaining)
  table.insert(result, tat - now)
  table.insert(result, retry)
end
return result
"""
_script = None
_local_lock = threading.Lock()


@dataclass(frozen=True)
class Bucket:
    """`limit` requests per `period` seconds under the name `key`."""

    key: str
    limit: int
    period: float = 60.0

    @property
    def interval_us(self):
        """Microseconds between two requests at the steady rate (at least 1)."""
        return max(1, round(self.period * _MICROS / self.limit))


@dataclass(frozen=True)
class RateLimitState:
    """One bucket's answer to one request."""

    limit: int
    remaining: int  # requests the bucket would still take right now
    reset_after: float  # seconds until the bucket is back to `limit` remaining
    retry_after: float  # seconds until the bucket takes a request again; 0 when it allowed this one

    @property
    def exceeded(self):
        return self.retry_after > 0


def _redis_script():
    global _script
    if _script is None:
        from django_redis import get_redis_connection

        _script = get_redis_connection("default").register_script(_GCRA)
    return _script


def _in_redis(keys, args):
    values = [int(value) for value in _redis_script()(keys=keys, args=args)]
    return bool(values[0]), [tuple(values[i:i + 3]) for i in range(1, len(values), 3)]


def _in_local_memory(keys, buckets, now):
    """The Lua script's arithmetic on the local cache; the lock makes check-and-charge atomic in-process."""
    with _local_lock:
        stored = cache.get_many(keys)
        tats = [max(stored.get(key, now), now) for key in keys]
        news = [tat + bucket.interval_us for tat, bucket in zip(tats, buckets)]
        tolerances = [bucket.interval_us * bucket.limit for bucket in buckets]
        allowed = all(new - now <= tolerance for new, tolerance in zip(news, tolerances))
        results = []
        for key, bucket, tat, new, tolerance in zip(keys, buckets, tats, news, tolerances):
            retry = 0
            if allowed:
                tat = new
                cache.set(key, tat, timeout=math.ceil((tat - now) / _MICROS))
            elif new - now > tolerance:
                retry = new - tolerance - now
            remaining = max(0, (tolerance - (tat - now)) // bucket.interval_us)
            results.append((remaining, tat - now, retry))
    return allowed, results


def hit_many(buckets, *, now=None):
    """Count one request against every bucket if all of them allow it (otherwise against none).

    Returns one RateLimitState per bucket, in order; the request was allowed when none is `exceeded`.
    One Redis round trip whatever the number of buckets.
    """
    now_us = round((time.time() if now is None else now) * _MICROS)
    keys = [KEY_PREFIX + bucket.key for bucket in buckets]
    if settings.REDIS_URL:
        args = [now_us]
        for bucket in buckets:
            args += [bucket.interval_us, bucket.limit]
        _, results = _in_redis(keys, args)
    else:
        _, results = _in_local_memory(keys, buckets, now_us)
    return [
        RateLimitState(limit=bucket.limit, remaining=int(remaining), reset_after=reset / _MICROS,
                       retry_after=retry / _MICROS)
        for bucket, (remaining, reset, retry) in zip(buckets, results)
    ]


def hit(key, limit, *, period=60.0, now=None):
    """Count one request against the bucket `key` (`limit` per `period` seconds); its RateLimitState."""
    return hit_many([Bucket(key, limit, period)], now=now)[0]


def tightest(states):
    """The state a client should be shown: the refusal that lasts longest, else the fewest remaining."""
    return max(states, key=lambda state: (state.retry_after, -state.remaining))
