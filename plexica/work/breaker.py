"""A circuit breaker per name, kept in the default cache (Redis when configured) so all workers share it.

Closed: calls pass and consecutive failures are counted. After `failures` failures in a row the circuit
opens and calls are refused for `cooldown` seconds; then one trial call is let through (half-open): success
closes the circuit, failure opens it again. Without Redis the state is in local memory, per process.

A name is whatever the caller protects: the gateway uses one breaker per target service id.
"""

import time

from django.core.cache import cache

# Long enough to outlive any cooldown; the state cleans itself up if a target goes away.
_STATE_TTL = 24 * 3600


class Breaker:
    def __init__(self, name, *, failures, cooldown):
        self.name = name
        self.failures = failures
        self.cooldown = cooldown
        base = f"breaker:{name}"
        self.failures_key, self.opened_key, self.trial_key = f"{base}:failures", f"{base}:opened", f"{base}:trial"
        self.dirty = False  # whether a success must reset stored state

    def allow(self, now=None):
        """Returns (allowed, retry_after_seconds)."""
        now = time.time() if now is None else now
        state = cache.get_many([self.failures_key, self.opened_key])
        self.dirty = bool(state)
        opened_at = state.get(self.opened_key)
        if opened_at is None:
            return True, 0
        remaining = opened_at + self.cooldown - now
        if remaining > 0:
            return False, remaining
        # Half-open: exactly one caller gets the trial.
        if cache.add(self.trial_key, 1, timeout=self.cooldown):
            return True, 0
        return False, self.cooldown

    def record_success(self):
        if self.dirty:
            self.reset()

    def record_failure(self, now=None):
        """Count a failure; the circuit opens at the `failures`-th in a row. Returns the count so far."""
        now = time.time() if now is None else now
        cache.add(self.failures_key, 0, timeout=_STATE_TTL)
        try:
            failures = cache.incr(self.failures_key)
        except ValueError:
            failures = 1
            cache.set(self.failures_key, 1, timeout=_STATE_TTL)
        if failures >= self.failures:
            cache.set(self.opened_key, now, timeout=_STATE_TTL)
            cache.delete(self.trial_key)
        return failures

    def reset(self):
        """Close the circuit and forget the failures counted so far."""
        cache.delete_many([self.failures_key, self.opened_key, self.trial_key])
