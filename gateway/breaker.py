"""A circuit breaker per target service, kept in the cache (Redis when configured) so all workers share it.

Closed: calls pass and consecutive failures are counted. After GATEWAY_BREAKER_FAILURES failures in
a row the circuit opens and calls are refused for GATEWAY_BREAKER_COOLDOWN seconds; then one trial
call is let through (half-open): success closes the circuit, failure opens it again.
"""

import time

from django.conf import settings
from django.core.cache import cache

# Long enough to outlive any cooldown; the state cleans itself up if a service goes away.
_STATE_TTL = 24 * 3600


def _keys(service_id):
    base = f"breaker:{service_id}"
    return f"{base}:failures", f"{base}:opened", f"{base}:trial"


class Breaker:
    def __init__(self, service_id):
        self.service_id = service_id
        self.failures_key, self.opened_key, self.trial_key = _keys(service_id)
        self.dirty = False  # whether a success must reset stored state

    def allow(self, now=None):
        """Returns (allowed, retry_after_seconds)."""
        now = time.time() if now is None else now
        state = cache.get_many([self.failures_key, self.opened_key])
        self.dirty = bool(state)
        opened_at = state.get(self.opened_key)
        if opened_at is None:
            return True, 0
        remaining = opened_at + settings.GATEWAY_BREAKER_COOLDOWN - now
        if remaining > 0:
            return False, remaining
        # Half-open: exactly one caller gets the trial.
        if cache.add(self.trial_key, 1, timeout=settings.GATEWAY_BREAKER_COOLDOWN):
            return True, 0
        return False, settings.GATEWAY_BREAKER_COOLDOWN

    def record_success(self):
        if self.dirty:
            cache.delete_many([self.failures_key, self.opened_key, self.trial_key])

    def record_failure(self, now=None):
        now = time.time() if now is None else now
        cache.add(self.failures_key, 0, timeout=_STATE_TTL)
        try:
            failures = cache.incr(self.failures_key)
        except ValueError:
            failures = 1
            cache.set(self.failures_key, 1, timeout=_STATE_TTL)
        if failures >= settings.GATEWAY_BREAKER_FAILURES:
            cache.set(self.opened_key, now, timeout=_STATE_TTL)
            cache.delete(self.trial_key)
        return failures
