"""Fixed-window rate limits per organization and per key, counted atomically in the cache.

With REDIS_URL set the cache is Redis: `add` is SET NX with expiry and `incr` is an atomic INCR, so
concurrent workers on any number of hosts never let more than the limit through.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60


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


def hit(bucket, limit, *, now=None, window=WINDOW_SECONDS):
    """Count one request against `bucket` and return its state for the current window."""
    now = time.time() if now is None else now
    window_start = int(now // window) * window
    key = f"ratelimit:{bucket}:{window_start}"
    for _ in range(3):
        cache.add(key, 0, timeout=window + 5)
        try:
            count = cache.incr(key)
            break
        except ValueError:  # the key expired between add and incr: start the window again
            continue
    else:  # pragma: no cover - three expiries in a row cannot happen within one window
        count = 1
    return RateLimitState(limit=limit, remaining=limit - count, reset_at=window_start + window)


def hit_request_limits(organization_id, credential_id, *, now=None):
    """Count a request against its organization and its credential; returns the tighter state."""
    states = [
        hit(f"org:{organization_id}", settings.RATELIMIT_ORG_PER_MINUTE, now=now),
        hit(f"cred:{credential_id}", settings.RATELIMIT_KEY_PER_MINUTE, now=now),
    ]
    return min(states, key=lambda state: state.remaining)
