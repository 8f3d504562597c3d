"""The tenant APIs' rate limits: each request is charged to its organization's bucket and its credential's
bucket (RATELIMIT_ORG_PER_MINUTE, RATELIMIT_KEY_PER_MINUTE), through the GCRA limiter of plexica.work.ratelimit,
and answered with X-RateLimit-* headers."""

import math
import time
from dataclasses import dataclass

from django.conf import settings

from plexica.work.ratelimit import Bucket, RateLimitState, hit_many, tightest

PERIOD_SECONDS = 60


@dataclass(frozen=True)
class RequestRateLimit:
    """The tighter of a request's two buckets, as the API shows it."""

    state: RateLimitState
    checked_at: float  # epoch seconds

    @property
    def exceeded(self):
        return self.state.exceeded

    @property
    def limit(self):
        return self.state.limit

    @property
    def retry_after(self):
        """Whole seconds a refused client waits before its next request is allowed."""
        return math.ceil(self.state.retry_after)

    def headers(self):
        return {
            "X-RateLimit-Limit": str(self.state.limit),
            "X-RateLimit-Remaining": str(self.state.remaining),
            # Epoch seconds when the bucket is back to its full limit.
            "X-RateLimit-Reset": str(math.ceil(self.checked_at + self.state.reset_after)),
        }


def hit_request_limits(organization_id, credential_id, *, now=None):
    """Charge a request to its organization and its credential (both or neither); the tighter state."""
    now = time.time() if now is None else now
    states = hit_many(
        [
            Bucket(f"org:{organization_id}", settings.RATELIMIT_ORG_PER_MINUTE, PERIOD_SECONDS),
            Bucket(f"cred:{credential_id}", settings.RATELIMIT_KEY_PER_MINUTE, PERIOD_SECONDS),
        ],
        now=now,
    )
    return RequestRateLimit(tightest(states), now)
