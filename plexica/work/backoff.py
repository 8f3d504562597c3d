"""Retry delays: exponential backoff with jitter and a cap.

Retry number `attempt` (1-based) may wait up to the ceiling min(cap, base * 2 ** (attempt - 1)). Full
jitter (the default) draws the delay uniformly from [0, ceiling], which spreads the retries of many
failed jobs best; equal jitter draws from [ceiling / 2, ceiling], for callers that want a floor. A
provider's Retry-After (`at_least`) raises the delay, never past the cap.
"""

import random

FULL = "full"
EQUAL = "equal"


def ceiling(attempt, base, cap):
    """The longest wait before retry number `attempt`: base doubled per earlier retry, at most `cap`."""
    return min(cap, base * 2 ** max(0, attempt - 1))


def delay(attempt, base, cap, rng=None, *, jitter=FULL, at_least=0):
    """Seconds to wait before retry number `attempt` (1-based).

    `rng` is a zero-argument callable giving a float in [0, 1) (random.random when None; a test passes a
    constant). `jitter` is FULL or EQUAL; `at_least` is a lower bound such as a Retry-After header.
    """
    top = ceiling(attempt, base, cap)
    draw = (rng or random.random)()
    if jitter == FULL:
        wait = draw * top
    elif jitter == EQUAL:
        wait = top / 2 + draw * top / 2
    else:
        raise ValueError(f"jitter must be {FULL!r} or {EQUAL!r}, got {jitter!r}")
    return min(max(wait, at_least or 0), cap)
