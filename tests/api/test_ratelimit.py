"""The tenant APIs' rate limits over HTTP: an organization's and a key's budgets, headers, 429s.

The limiter's arithmetic (GCRA, several buckets at once, Redis and local memory) is tested in
tests/work/test_ratelimit.py.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.test import override_settings

from plexica.api import ratelimit
from plexica.tenancy.services import issue_api_key

pytestmark = pytest.mark.django_db


@override_settings(RATELIMIT_ORG_PER_MINUTE=3)
def test_over_the_org_limit_answers_429_with_retry_after(api, org_key):
    client = api(org_key.token)
    responses = [client.get("/api/v1/me") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert responses[0]["X-RateLimit-Limit"] == "3"
    # Full again one interval (60 s / 3) after the first request, two after the third.
    assert time.time() < int(responses[0]["X-RateLimit-Reset"]) <= time.time() + 21
    assert time.time() + 58 < int(responses[2]["X-RateLimit-Reset"]) <= time.time() + 61
    limited = responses[3]
    assert 19 <= int(limited["Retry-After"]) <= 20  # one interval: when the next request passes
    assert limited.json()["error"]["code"] == "rate_limited"


@override_settings(RATELIMIT_ORG_PER_MINUTE=3)
def test_after_retry_after_one_more_request_passes_then_the_steady_rate_holds(api, org_key, time_machine):
    time_machine.move_to(time.time(), tick=False)
    client = api(org_key.token)
    assert [client.get("/api/v1/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    retry_after = int(client.get("/api/v1/me")["Retry-After"])

    time_machine.shift(retry_after)

    assert [client.get("/api/v1/me").status_code for _ in range(2)] == [200, 429]


@override_settings(RATELIMIT_ORG_PER_MINUTE=3, RATELIMIT_KEY_PER_MINUTE=1)
def test_a_request_the_key_limit_refuses_costs_the_org_nothing(api, org, plugin_key):
    assert [api(plugin_key.token).get("/api/v1/me").status_code for _ in range(5)] == [200, 429, 429, 429, 429]
    # The org was charged once: two more keys get one request each, and a third key finds the org's budget spent.
    tokens = [issue_api_key(org, name=f"automation {n}")[1] for n in range(3)]
    assert [api(token).get("/api/v1/me").status_code for token in tokens] == [200, 200, 429]


def test_one_request_is_charged_to_its_org_and_its_key_together(org_key, org):
    first = ratelimit.hit_request_limits(org.pk, org_key.key.pk, now=1_800_000_000.0)
    assert (first.exceeded, first.limit) == (False, 1000)
    assert first.headers() == {
        "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "999", "X-RateLimit-Reset": "1800000001",
    }


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
