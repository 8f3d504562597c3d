import pytest
from django.core.cache import cache

from plexica.work.breaker import Breaker


def _breaker(name, failures=2, cooldown=30):
    return Breaker(name, failures=failures, cooldown=cooldown)


def test_the_circuit_opens_at_the_failure_threshold_and_refuses_until_the_cooldown_ends():
    breaker = _breaker("svc_threshold", failures=3)
    assert [breaker.record_failure(now=1000.0) for _ in range(2)] == [1, 2]
    assert breaker.allow(now=1000.5) == (True, 0)

    assert breaker.record_failure(now=1001.0) == 3

    assert breaker.allow(now=1011.0) == (False, 20.0)


def test_half_open_lets_exactly_one_trial_through():
    breaker = _breaker("svc_halfopen")
    breaker.record_failure(now=1000.0)
    breaker.record_failure(now=1000.0)

    assert breaker.allow(now=1010.0) == (False, 20.0)
    assert breaker.allow(now=1031.0) == (True, 0)
    assert _breaker("svc_halfopen").allow(now=1031.5)[0] is False


def test_a_failing_trial_opens_the_circuit_for_another_cooldown():
    breaker = _breaker("svc_trial_fails")
    breaker.record_failure(now=1000.0)
    breaker.record_failure(now=1000.0)
    assert breaker.allow(now=1031.0) == (True, 0)

    breaker.record_failure(now=1031.0)

    assert breaker.allow(now=1040.0) == (False, 21.0)
    assert breaker.allow(now=1062.0) == (True, 0)


def test_a_success_closes_the_circuit_and_forgets_earlier_failures():
    breaker = _breaker("svc_success", failures=2)
    breaker.record_failure(now=1000.0)
    assert breaker.allow(now=1000.0) == (True, 0)

    breaker.record_success()

    assert breaker.record_failure(now=1001.0) == 1
    assert breaker.allow(now=1001.0) == (True, 0)


def test_breakers_of_different_names_do_not_share_state():
    _breaker("svc_a", failures=1).record_failure(now=1000.0)

    assert _breaker("svc_a", failures=1).allow(now=1001.0)[0] is False
    assert _breaker("svc_b", failures=1).allow(now=1001.0) == (True, 0)


def test_reset_closes_an_open_circuit():
    breaker = _breaker("svc_reset", failures=1)
    breaker.record_failure(now=1000.0)

    breaker.reset()

    assert breaker.allow(now=1001.0) == (True, 0)


@pytest.mark.requires_redis
def test_the_breaker_state_is_shared_through_redis():
    from django_redis import get_redis_connection

    one_worker, another_worker = _breaker("svc_shared"), _breaker("svc_shared")

    one_worker.record_failure(now=1000.0)
    another_worker.record_failure(now=1000.0)

    assert one_worker.allow(now=1001.0)[0] is False
    assert another_worker.allow(now=1001.0)[0] is False
    assert get_redis_connection("default").keys("*breaker:svc_shared:opened")
    assert another_worker.allow(now=1031.0) == (True, 0)
    assert one_worker.allow(now=1031.0)[0] is False  # trial taken
    another_worker.record_success()
    assert one_worker.allow(now=1032.0) == (True, 0)
    assert cache.get_many(["breaker:svc_shared:failures", "breaker:svc_shared:opened"]) == {}
