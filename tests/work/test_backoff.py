import random

import pytest

from plexica.work import backoff


@pytest.mark.parametrize("attempt, top", [(1, 30), (2, 60), (3, 120), (5, 480), (6, 900), (12, 900), (60, 900)])
def test_the_ceiling_doubles_per_attempt_up_to_the_cap(attempt, top):
    assert backoff.ceiling(attempt, base=30, cap=900) == top


@pytest.mark.parametrize("attempt, top", [(1, 30), (3, 120), (6, 900)])
def test_full_jitter_draws_from_zero_to_the_ceiling(attempt, top):
    assert backoff.delay(attempt, 30, 900, rng=lambda: 0.0) == 0
    assert backoff.delay(attempt, 30, 900, rng=lambda: 0.5) == top / 2
    assert backoff.delay(attempt, 30, 900, rng=lambda: 0.999999) == pytest.approx(top, rel=1e-5)


@pytest.mark.parametrize("attempt, low, high", [(1, 15, 30), (2, 30, 60), (5, 240, 480), (6, 450, 900),
                                                (12, 450, 900)])
def test_equal_jitter_keeps_half_the_ceiling_as_a_floor(attempt, low, high):
    assert backoff.delay(attempt, 30, 900, rng=lambda: 0.0, jitter=backoff.EQUAL) == low
    assert backoff.delay(attempt, 30, 900, rng=lambda: 1.0, jitter=backoff.EQUAL) == high
    assert low < backoff.delay(attempt, 30, 900, rng=lambda: 0.5, jitter=backoff.EQUAL) < high


def test_a_retry_after_raises_the_delay_but_never_past_the_cap():
    assert backoff.delay(1, 30, 900, rng=lambda: 0.0, at_least=120) == 120
    assert backoff.delay(1, 30, 900, rng=lambda: 0.0, at_least=7200) == 900
    assert backoff.delay(1, 30, 900, rng=lambda: 0.9, at_least=None) == 27


def test_without_an_rng_delays_are_random_within_the_bounds_and_spread_out():
    delays = [backoff.delay(4, 1, 60) for _ in range(200)]

    assert all(0 <= value <= 8 for value in delays)
    assert len(set(delays)) > 150


def test_a_seeded_generator_gives_repeatable_delays():
    first, second = random.Random(7), random.Random(7)

    assert [backoff.delay(3, 2, 60, rng=first.random) for _ in range(5)] == [
        backoff.delay(3, 2, 60, rng=second.random) for _ in range(5)
    ]


def test_an_unknown_jitter_is_refused():
    with pytest.raises(ValueError, match="jitter"):
        backoff.delay(1, 30, 900, jitter="none")
