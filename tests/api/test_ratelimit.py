import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.test import override_settings

from plexica.api import ratelimit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _early_in_a_window(time_machine):
    """Start each test 5 s into a fresh one-minute window, so no test straddles a window boundary."""
    now = time.time()
    time_machine.move_to(now - now % 60 + 65, tick=True)


def _hammer(bucket, limit, attempts, now):
    barrier = threading.Barrier(8)

    def one(_):
        if _ < 8:
            barrier.wait()
        return ratelimit.hit(bucket, limit, now=now)

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(attempts)))


def test_no_more_than_the_limit_pass_under_concurrency():
    states = _hammer("concurrency", limit=50, attempts=400, now=time.time())
    assert sum(not state.exceeded for state in states) == 50
    assert sorted(state.remaining for state in states)[-1] == 49


@pytest.mark.requires_redis
def test_redis_counter_is_shared_and_atomic_across_threads(settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    states = _hammer("concurrency-redis", limit=100, attempts=600, now=time.time())
    assert sum(not state.exceeded for state in states) == 100


def test_a_new_window_starts_with_a_fresh_count():
    start = 1_800_000_000  # a window boundary (divisible by 60)
    assert ratelimit.hit("windows", 1, now=start).exceeded is False
    assert ratelimit.hit("windows", 1, now=start + 30).exceeded is True
    fresh = ratelimit.hit("windows", 1, now=start + 60)
    assert fresh.exceeded is False
    assert fresh.reset_at == start + 120


@override_settings(RATELIMIT_ORG_PER_MINUTE=3)
def test_over_the_org_limit_answers_429_with_retry_after(api, org_key):
    client = api(org_key.token)
    responses = [client.get("/api/v1/me") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    assert responses[0]["X-RateLimit-Limit"] == "3"
    assert int(responses[0]["X-RateLimit-Reset"]) > time.time()
    limited = responses[3]
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["error"]["code"] == "rate_limited"


@override_settings(RATELIMIT_ORG_PER_MINUTE=3)
def test_the_org_limit_is_shared_by_all_keys_of_the_org(api, org_key, plugin_key, other_org_key):
    for _ in range(3):
        assert api(org_key.token).get("/api/v1/me").status_code == 200
    assert api(plugin_key.token).get("/api/v1/me").status_code == 429
    # Another organization has its own budget.
    assert api(other_org_key.token, tenant="globex").get("/api/v1/me").status_code == 200


@override_settings(RATELIMIT_KEY_PER_MINUTE=2)
def test_the_key_limit_stops_one_key_without_starving_the_org(api, org_key, plugin_key):
    assert [api(plugin_key.token).get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 429]
    assert api(org_key.token).get("/api/v1/me").status_code == 200


@pytest.mark.django_db(transaction=True)
@override_settings(RATELIMIT_ORG_PER_MINUTE=5)
def test_concurrent_http_requests_never_exceed_the_limit(live_server, org_key):
    def call(_):
        request = Request(
            f"{live_server.url}/api/v1/me",
            headers={"X-Tenant-Slug": "acme-corp", "Authorization": f"Bearer {org_key.token}"},
        )
        try:
            with urlopen(request, timeout=10) as response:
                return response.status
        except HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(call, range(24)))
    assert statuses.count(200) == 5
    assert statuses.count(429) == 19
