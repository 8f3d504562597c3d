"""Fixed-window rate limits per organization and per key, counted atomically.

With REDIS_URL set the counters live in Redis and one Lua script counts both buckets in a single round
trip (INCR, and EXPIRE when the window's key is new), so concurrent workers on any number of hosts never
let more than the limit through. Without Redis the local cache does the same with `add` + `incr`.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60

_INCR_ALL = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return counts
"""
_script = None


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the window ends

    @property
    def exceeded(self):
        return self.remaining < 0

    def headers(self):
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def _window(now, window):
    start = int(now // window) * window
    return start, start + window


def _count_in_redis(keys, window):
    global _script
    if _script is None:
        from django_redis import get_redis_connection

        _script = get_redis_connection("default").register_script(_INCR_ALL)
    return [int(count) for count in _script(keys=keys, args=[window + 5])]


def _count_in_cache(keys, window):
    counts = []
    for key in keys:
        for _ in range(3):
            cache.add(key, 0, timeout=window + 5)
            try:
                counts.append(cache.incr(key))
                break
            except ValueError:  # the key expired between add and incr: start the window again
                continue
        else:  # pragma: no cover - three expiries in a row cannot happen within one window
            counts.append(1)
    return counts


def hit_many(buckets, *, now=None, window=WINDOW_SECONDS):
    """Count one request against each (bucket, limit); returns their states for the current window."""
    now = time.time() if now is None else now
    start, reset_at = _window(now, window)
    keys = [f"plexica:ratelimit:{bucket}:{start}" for bucket, _ in buckets]
    counts = _count_in_redis(keys, window) if settings.REDIS_URL else _count_in_cache(keys, window)
    return [
        RateLimitState(limit=limit, remaining=limit - count, reset_at=reset_at)
        for (_, limit), count in zip(buckets, counts)
    ]


def hit(bucket, limit, *, now=None, window=WINDOW_SECONDS):
    """Count one request against `bucket` and return its state for the current window."""
    return hit_many([(bucket, limit)], now=now, window=window)[0]


def hit_request_limits(organization_id, credential_id, *, now=None):
    """Count a request against its organization and its credential; returns the tighter state."""
    states = hit_many(
        [
            (f"org:{organization_id}", settings.RATELIMIT_ORG_PER_MINUTE),
            (f"cred:{credential_id}", settings.RATELIMIT_KEY_PER_MINUTE),
        ],
        now=now,
    )
    return min(states, key=lambda state: state.remaining)
