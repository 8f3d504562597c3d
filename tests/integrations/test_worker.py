"""Executions through a real Celery worker on Redis (the full mode), and the methods' rate limits shared by
separate processes."""

import json
import subprocess
import sys
import time

import pytest

from connectors.integrations import definitions, execution, instances
from plexica.celery import app
from plexica.tenancy.principal import Principal
from tests.integrations.conftest import api_definition
from tests.integrations.provider import Answer

BASE = "/api/v1/integrations"


def make_instance(org, provider, *, timeout_ms=None, **overrides):
    principal = Principal.system(org)
    body = api_definition(provider, **overrides)
    for method in body["methods"]:
        method["timeoutMs"] = timeout_ms or method["timeoutMs"]
    definition = definitions.create(
        principal, name=body["name"], version=body["version"], methods=body["methods"],
        config_schema=body["configSchema"], default_config=body["defaultConfig"])
    definitions.transition(principal, definition.pk, "PUBLISHED")
    return instances.create(principal, definition_id=definition.pk, name="Stub")


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_sync_and_async_executions_from_the_redis_queue(org, org_key, api, provider):
    from celery.contrib.testing.worker import start_worker

    assert app.conf.task_always_eager is False
    # The synchronous call waits up to the method's timeout for the worker, which may still be starting on a
    # loaded machine: a generous one (a late worker is the next test's subject).
    instance = make_instance(org, provider, timeout_ms=60_000)
    client = api(org_key.token)
    path = f"{BASE}/instances/{instance.pk}/methods/getThing/execute"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        answer = client.post(path, {"parameters": {"id": "42"}}, format="json")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["data"]["path"] == "/public/things/42"
        # A provider slower than the Redis client's socket timeout (2 s): the wait outlasts it, slice by slice.
        provider.script("/public/things/slow-sync", Answer(200, body={"path": "slow sync"}, delay=2.5))
        answer = client.post(path, {"parameters": {"id": "slow-sync"}}, format="json")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["data"] == {"path": "slow sync"}
        provider.script("/public/things/7", Answer(200, body={"path": "slow"}, delay=0.3))
        queued = client.post(path + "?async=true", {"parameters": {"id": "7"}}, format="json")
        assert queued.status_code == 202 and queued.json()["status"] == "QUEUED"
        detail_path = f"{BASE}/instances/{instance.pk}/executions/{queued.json()['id']}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            detail = client.get(detail_path).json()
            if detail["status"] == "SUCCEEDED":
                break
            time.sleep(0.05)
    assert detail["status"] == "SUCCEEDED" and detail["result"]["data"] == {"path": "slow"}


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_without_a_worker_a_sync_execution_times_out_as_504_and_a_late_worker_does_nothing(org, org_key, api,
                                                                                          provider):
    body = api_definition(provider)
    body["methods"][0]["timeoutMs"] = 300
    instance = make_instance(org, provider, methods=body["methods"])
    answer = api(org_key.token).post(f"{BASE}/instances/{instance.pk}/methods/getThing/execute",
                                     {"parameters": {"id": "1"}}, format="json")
    assert answer.status_code == 504 and answer.json()["error"]["code"] == "EXECUTION_ERROR"
    run = execution.IntegrationExecution.objects.get()
    assert execution.run(run.pk) is None  # already failed: the late claim finds nothing
    assert provider.api_calls() == []


CHILD = """
import json, sys, django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")
django.setup()
from connectors.integrations.execution import rate_limit_bucket
from plexica.work.ratelimit import hit_many
method = {"name": "getThing", "rateLimits": {"requestsPerMinute": 60, "burstLimit": 10}}
bucket = rate_limit_bucket(sys.argv[1], method)
print(json.dumps(sum(not hit_many([bucket])[0].exceeded for _ in range(25))))
"""


@pytest.mark.requires_redis
def test_two_processes_share_a_methods_rate_limit_through_redis(settings):
    key = f"iins_{time.time_ns()}"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, key], stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
    allowed = [json.loads(child.communicate(timeout=60)[0]) for child in children]
    # A burst of 10 between them (the steady rate adds one a second: at most one more while they run).
    assert 10 <= sum(allowed) <= 11, allowed
