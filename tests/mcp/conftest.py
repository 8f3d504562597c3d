"""MCP servers for the tests: the WSGI bridge under the live server, and uvicorn processes serving
plexica.asgi (the ASGI process of full mode) on the test database; and the SDK's own client."""

import contextlib
import os
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import anyio
import httpx2
import pytest
import requests
from django.conf import settings
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from plexica import tools
from plexica.errors import Forbidden
from tests.events.test_stream import free_port_in


def database_url_for_tests():
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def uvicorn_process(log_path, extra_env=None):
    """uvicorn serving plexica.asgi with its lifespan (the MCP session manager), on the test database."""
    port = free_port_in(18600, 18699)
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL or "",
           "DEBUG": "1", "EMBEDDED_BEAT": "0", "RATELIMIT_ENABLED": "0", **(extra_env or {})}
    if not settings.REDIS_URL:
        env.pop("REDIS_URL")
    log = open(log_path, "w")  # noqa: SIM115  (the server writes to it until the teardown)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "plexica.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
            assert process.poll() is None, open(log_path).read()
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def asgi_server(transactional_db, tmp_path):
    with uvicorn_process(tmp_path / "uvicorn.log") as url:
        yield url


@pytest.fixture
def two_asgi_servers(transactional_db, tmp_path):
    with uvicorn_process(tmp_path / "a.log") as first, uvicorn_process(tmp_path / "b.log") as second:
        yield first, second


def headers_for(token, tenant=None):
    headers = {"Authorization": f"Bearer {token}"}
    if tenant:
        headers["X-Tenant-Slug"] = tenant
    return headers


def mcp_session(url, token, *, tenant=None, mode="legacy", alternate=None, seen=None):
    """The SDK's Client on `url` + "/mcp" with the key; `alternate`: a second base URL each other request goes
    to (two processes serving one client); `seen` collects the ports that answered."""
    bases = [url] + ([alternate] if alternate else [])
    turn = {"n": 0}

    async def rotate(request):
        base = httpx2.URL(bases[turn["n"] % len(bases)])
        turn["n"] += 1
        request.url = request.url.copy_with(host=base.host, port=base.port)
        if seen is not None:
            seen.append(base.port)

    http = httpx2.AsyncClient(headers=headers_for(token, tenant), timeout=30,
                              event_hooks={"request": [rotate]} if alternate or seen is not None else {})
    return Client(streamable_http_client(url + "/mcp", http_client=http), mode=mode)


def run(coroutine_function, *args):
    """Run an async test body (the SDK's client) to completion from a sync test, in a thread of its own: the
    browser tests' Playwright keeps an event loop running in the main thread for the whole session."""
    outcome = {}

    def body():
        try:
            outcome["value"] = anyio.run(coroutine_function, *args)
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=body, name="mcp-test-client")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


ECHO_SCHEMA = {"type": "object", "properties": {"text": {"type": "string", "maxLength": 50}},
               "required": ["text"], "additionalProperties": False}


def _who(principal):
    return principal.kind if principal.plugin is None else principal.plugin.plugin_id


def sample_provider(principal):
    """Tools that show whose call it is: `test.echo` for everyone, `test.admin_only` for org admins."""
    yield tools.Tool(name="test.echo", description="Echo the text, with the caller and organization.",
                     input_schema=ECHO_SCHEMA, read_only=True,
                     run=lambda p, args: {"text": args["text"], "caller": _who(p), "org": p.organization.slug})
    yield tools.Tool(name="test.fails", description="Refuses, as a service would.",
                     input_schema={"type": "object"},
                     run=lambda p, args: (_ for _ in ()).throw(Forbidden("Not today.", code="not_today")))
    if principal.is_org_admin:
        yield tools.Tool(name="test.admin_only", description="Org admins only.", input_schema={"type": "object"},
                         run=lambda p, args: {"ok": True})


@pytest.fixture
def sample_tools():
    tools.register_provider(sample_provider)
    yield
    tools._PROVIDERS.remove(sample_provider)
