import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from plexica.work import ratelimit
from plexica.work.ratelimit import Bucket, hit, hit_many, tightest
from tests.gateway.upstream import closed_port

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60), where a fixed window would start afresh


def _allowed(states):
    return sum(not state.exceeded for state in states)


def test_a_bucket_takes_a_burst_of_its_limit_then_refuses_until_one_interval_has_passed():
    states = [hit("burst", 3, now=T0) for _ in range(4)]

    assert [state.exceeded for state in states] == [False, False, False, True]
    assert [state.remaining for state in states] == [2, 1, 0, 0]
    assert states[3].retry_after == pytest.approx(20.0)  # 60 s / 3
    assert all(state.retry_after == 0 for state in states[:3])


def test_after_the_burst_requests_pass_at_the_steady_rate_one_per_interval():
    for _ in range(3):
        hit("steady", 3, now=T0)

    assert hit("steady", 3, now=T0 + 19.9).exceeded is True
    assert hit("steady", 3, now=T0 + 20.0).exceeded is False
    assert hit("steady", 3, now=T0 + 20.0).exceeded is True  # one per interval, not two
    assert hit("steady", 3, now=T0 + 40.0).exceeded is False
    later = hit("steady", 3, now=T0 + 1000.0)  # an idle bucket refills, but never beyond its limit
    assert (later.exceeded, later.remaining) == (False, 2)


def test_no_double_burst_across_a_window_edge():
    """Fixed one-minute windows would let 60 requests through just before T0 and 60 more just after."""
    before = [hit("edge", 60, now=T0 - 0.5) for _ in range(60)]
    after = [hit("edge", 60, now=T0 + 0.5) for _ in range(60)]

    assert _allowed(before) == 60
    assert _allowed(after) == 1  # the one second that passed earned one request (60 a minute)
    assert _allowed(before + after) <= 60 + 1


def test_a_request_refused_by_one_bucket_is_charged_to_none():
    wide, narrow = Bucket("wide", 5), Bucket("narrow", 1)
    first = hit_many([wide, narrow], now=T0)
    refused = hit_many([wide, narrow], now=T0 + 1)

    assert [state.exceeded for state in first] == [False, False]
    assert [state.exceeded for state in refused] == [False, True]
    assert refused[0].remaining == first[0].remaining == 4
    assert hit("wide", 5, now=T0 + 1).remaining == 3  # only the first request was charged


def test_reset_after_says_when_the_bucket_is_full_again():
    assert hit("reset", 3, now=T0).reset_after == pytest.approx(20.0)
    assert hit("reset", 3, now=T0).reset_after == pytest.approx(40.0)
    assert hit("reset", 3, now=T0 + 10).reset_after == pytest.approx(50.0)


def test_a_period_other_than_a_minute():
    states = [hit("per-second", 2, period=1.0, now=T0) for _ in range(3)]

    assert [state.exceeded for state in states] == [False, False, True]
    assert states[2].retry_after == pytest.approx(0.5)
    assert hit("per-second", 2, period=1.0, now=T0 + 0.5).exceeded is False


def test_buckets_of_different_keys_are_independent():
    hit("one", 1, now=T0)

    assert hit("one", 1, now=T0).exceeded is True
    assert hit("two", 1, now=T0).exceeded is False


def test_the_tightest_state_is_the_longest_refusal_else_the_fewest_remaining():
    states = hit_many([Bucket("t-org", 10), Bucket("t-key", 4)], now=T0)
    assert tightest(states).limit == 4
    for _ in range(3):
        hit_many([Bucket("t-org", 10), Bucket("t-key", 4)], now=T0)
    refused = hit_many([Bucket("t-org", 10), Bucket("t-key", 4)], now=T0)
    assert tightest(refused) == refused[1] and refused[1].exceeded


def _hammer(key, limit, attempts, now):
    barrier = threading.Barrier(8)

    def one(n):
        if n < 8:
            barrier.wait()
        return hit(key, limit, now=now)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(attempts)))


def test_no_more_than_the_limit_pass_under_concurrency():
    states = _hammer("concurrency", limit=50, attempts=400, now=time.time())
    assert _allowed(states) == 50
    assert max(state.remaining for state in states) == 49


@pytest.mark.requires_redis
def test_redis_state_is_shared_and_atomic_across_threads(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    states = _hammer("concurrency-redis", limit=100, attempts=600, now=time.time())
    assert _allowed(states) == 100


@pytest.mark.requires_redis
def test_the_embedded_limiter_gives_the_same_answers_as_the_redis_script():
    script = [
        (T0, [Bucket("org", 4), Bucket("key", 2)]),
        (T0, [Bucket("org", 4), Bucket("key", 2)]),
        (T0 + 1, [Bucket("org", 4), Bucket("key", 2)]),
        (T0 + 1, [Bucket("org", 4), Bucket("other-key", 2)]),
        (T0 + 2, [Bucket("org", 4), Bucket("other-key", 2)]),
        (T0 + 14.9, [Bucket("org", 4)]),
        (T0 + 15, [Bucket("org", 4)]),
        (T0 + 31, [Bucket("org", 4), Bucket("key", 2)]),
        (T0 + 500, [Bucket("org", 4), Bucket("key", 2)]),
    ]

    def answers(run):
        results = []
        for now, buckets in script:
            now_us = round(now * 1_000_000)
            keys = [ratelimit.KEY_PREFIX + run + bucket.key for bucket in buckets]
            args = [now_us] + [value for bucket in buckets for value in (bucket.interval_us, bucket.limit)]
            if run == "redis:":
                results.append(ratelimit._in_redis(keys, args))
            else:
                results.append(ratelimit._in_local_memory(keys, buckets, now_us))
        return results

    in_redis, in_memory = answers("redis:"), answers("memory:")
    assert [allowed for allowed, _ in in_redis] == [True, True, False, True, True, False, True, True, True]
    assert in_memory == in_redis


@pytest.mark.requires_redis
def test_checking_two_buckets_is_one_redis_round_trip(monkeypatch):
    hit("warm-up", 5)  # the script is registered (and loaded into Redis) once per process
    client = ratelimit._redis_script().registered_client
    commands = []
    send = client.execute_command

    def counting(*args, **options):
        commands.append(args[0])
        return send(*args, **options)

    monkeypatch.setattr(client, "execute_command", counting)
    hit_many([Bucket("rt-org", 5), Bucket("rt-key", 5)])
    hit_many([Bucket("rt-org", 5), Bucket("rt-key", 1)])
    hit_many([Bucket("rt-org", 5), Bucket("rt-key", 1)])  # refused: still one

    assert commands == ["EVALSHA", "EVALSHA", "EVALSHA"]


def test_with_redis_unreachable_the_limiter_raises_instead_of_letting_requests_through(settings, monkeypatch):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    unreachable = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
    monkeypatch.setattr(ratelimit, "_script", unreachable.register_script(ratelimit._GCRA))

    with pytest.raises(redis.exceptions.ConnectionError):
        hit("unreachable", 5)
