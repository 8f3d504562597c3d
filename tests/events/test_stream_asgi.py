"""The stream under the ASGI process of full mode: a real uvicorn (plexica.asgi) in a subprocess on the
test database, with its bounded PostgreSQL pool, following Redis Streams or (without Redis) the log."""

import os
import subprocess
import sys
import time
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.db import connection

from plexica.events.log import emit
from tests.events.sse import SSEClient
from tests.events.test_stream import free_port_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.requires_postgres]

PATH = "/api/v1/events/stream"
POOL_SIZE = 4


def database_url_for_tests():
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(params=["redis", "log"])
def asgi_server(request, transactional_db, tmp_path):
    """uvicorn serving plexica.asgi: with the tests' Redis ("redis"), or without it ("log")."""
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    port = free_port_in(18560, 18599)
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL or "",
           "DEBUG": "1", "ASGI_DB_POOL_SIZE": str(POOL_SIZE), "EVENTS_STREAM_HEARTBEAT_SECONDS": "1",
           "EMBEDDED_BEAT": "0", "RATELIMIT_ENABLED": "0"}
    if request.param == "log":
        env.pop("REDIS_URL")
    log = open(tmp_path / "uvicorn.log", "w")  # noqa: SIM115  (the server writes to it until the teardown)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "plexica.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--lifespan", "off", "--no-access-log"], env=env, stdout=log, stderr=subprocess.STDOUT,
        cwd=settings.BASE_DIR,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
            assert process.poll() is None, (tmp_path / "uvicorn.log").read_text()
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_the_asgi_process_streams_events_and_resumes_after_last_event_id(asgi_server, org, org_key):
    with SSEClient(asgi_server + PATH, token=org_key.token) as client:
        assert client.response.status_code == 200
        assert client.response.headers["X-Accel-Buffering"] == "no"
        client.message()  # the opening message: the stream has its starting point
        first = [emit(None, "test.thing_happened", organization=org, data={"n": n}) for n in range(2)]
        assert [m.id for m in client.events(2)] == [e.public_id for e in first]
    missed = [emit(None, "test.thing_happened", organization=org, data={"n": n}) for n in range(2, 5)]
    with SSEClient(asgi_server + PATH, token=org_key.token, headers={"Last-Event-ID": first[-1].public_id},
                   params={"maxEvents": "3"}) as client:
        assert [m.id for m in client.rest()] == [e.public_id for e in missed]


def test_the_asgi_process_refuses_what_the_wsgi_one_refuses(asgi_server, org, org_key, member_key, other_org):
    foreign = emit(None, "test.thing_happened", organization=other_org)
    answer = SSEClient(asgi_server + PATH, token=org_key.token, headers={"Last-Event-ID": foreign.public_id}).response
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "unknown_last_event_id")
    answer = SSEClient(asgi_server + PATH, token=member_key.token).response
    assert answer.status_code == 403


def test_many_streams_share_a_bounded_database_pool(asgi_server, org, org_key):
    clients = [SSEClient(asgi_server + PATH, token=org_key.token, params={"maxSeconds": "30"}) for _ in range(12)]
    try:
        for client in clients:
            assert client.response.status_code == 200
            client.message()
        event = emit(None, "test.thing_happened", organization=org)
        for client in clients:
            assert client.events(1)[0].id == event.public_id
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()")
            others = cursor.fetchone()[0]
        assert others <= POOL_SIZE
    finally:
        for client in clients:
            client.close()
