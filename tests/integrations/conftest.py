"""Fixtures of the integration tests: the stub provider, and definitions and instances that use it."""

import pytest
from django.test import override_settings

from tests.integrations.provider import Provider


@pytest.fixture
def provider():
    stub = Provider().start()
    with override_settings(INTEGRATION_ALLOWED_NETWORKS=["127.0.0.0/8", "::1/128"]):
        yield stub
    stub.stop()


def api_definition(provider, **overrides):
    """The body of a definition of the stub provider's API (authType none unless overridden)."""
    body = {
        "name": "Stub API",
        "description": "The stub provider",
        "version": "1.0.0",
        "type": "http",
        "authType": "none",
        "methods": [
            {"name": "getThing", "description": "Read a thing",
             "paramSchema": {"type": "object", "required": ["id"],
                             "properties": {"id": {"type": "string", "minLength": 1}, "limit": {"type": "integer"}}},
             "resultSchema": {"type": "object", "required": ["path"]},
             "request": {"method": "GET", "path": "/public/things/{id}", "query": {"limit": "{limit}"}},
             "rateLimits": {"requestsPerMinute": 600, "burstLimit": 50}, "timeoutMs": 3000},
            {"name": "createThing", "description": "Create a thing",
             "paramSchema": {"type": "object", "required": ["thing"],
                             "properties": {"thing": {"type": "object", "required": ["title"],
                                                      "properties": {"title": {"type": "string"}}}}},
             "request": {"method": "POST", "path": "/public/things", "body": "{thing}"}, "timeoutMs": 3000},
        ],
        "configSchema": {"type": "object", "required": ["baseUrl"], "properties": {"baseUrl": {"type": "string"}}},
        "defaultConfig": {"baseUrl": provider.url},
    }
    body.update(overrides)
    return body


@pytest.fixture
def eager_executions(monkeypatch):
    """Executions run in this process (Celery eager), whatever REDIS_URL says; the worker tests use a real one."""
    from plexica.celery import app
    from plexica.work import queue

    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)
