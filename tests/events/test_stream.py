"""GET /api/v1/events/stream through a real server (Django's threaded live server, the WSGI path of
`make run`), read with a real HTTP client. With REDIS_URL set the stream is backed by Redis Streams;
without it (and in the tests that clear it) it follows the log."""

import json
import logging
import shutil
import socket
import subprocess
import time

import pytest
from django.conf import settings
from django.test import override_settings
from redis import exceptions as redis_errors

from plexica.events import stream
from plexica.events.log import emit
from plexica.tenancy.services import issue_api_key
from tests.events.sse import SSEClient

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/api/v1/events/stream"


def emit_events(org, count, type="test.thing_happened", start=0):
    return [emit(None, type, organization=org, data={"n": start + n}) for n in range(count)]


def connect(live_server, token, **kwargs):
    """A stream client that has read the opening message (so the server fixed its starting point)."""
    client = SSEClient(live_server.url + PATH, token=token, **kwargs)
    assert client.response.status_code == 200, client.response.text
    opening = client.message()
    assert opening.retry == str(stream.RETRY_MILLISECONDS)
    return client


def payloads(messages):
    return [json.loads(message.data) for message in messages]


@pytest.fixture(autouse=True)
def _streams_end_with_the_test(transactional_db, live_server):
    """A short heartbeat, so that the server notices a closed client within a second (a WSGI server learns
    of it only when it writes); the test waits for its streams to end, and leaves no Redis stream behind."""
    with override_settings(EVENTS_STREAM_HEARTBEAT_SECONDS=1):
        yield
        for _ in range(100):
            if stream.open_readers() == 0:
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"{stream.open_readers()} stream(s) still open after the test")
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{stream.KEY_PREFIX}*"):
            client.delete(key)
        client.close()


def test_a_client_receives_the_events_committed_after_it_connected(live_server, org, org_key):
    before = emit_events(org, 1)[0]
    with connect(live_server, org_key.token) as client:
        assert client.response.headers["Content-Type"].startswith("text/event-stream")
        assert client.response.headers["Cache-Control"] == "no-cache"
        assert client.response.headers["X-Accel-Buffering"] == "no"
        events = emit_events(org, 3, type="contact.created")
        received = client.events(3)
    assert [m.id for m in received] == [e.public_id for e in events]
    assert {m.event for m in received} == {"contact.created"}
    first = payloads(received)[0]
    assert first == {
        "id": events[0].public_id, "type": "contact.created", "occurredAt": first["occurredAt"],
        "actor": {"type": "system", "id": "system"}, "subject": None, "data": {"n": 0}, "requestId": None,
        "position": before.position + 1,
    }


def test_a_reconnect_with_last_event_id_resumes_with_no_gap_and_no_duplicate(live_server, org, org_key):
    with connect(live_server, org_key.token) as client:
        emit_events(org, 2)
        seen = client.events(2)
    missed = emit_events(org, 3, start=2)  # while disconnected
    with connect(live_server, org_key.token, headers={"Last-Event-ID": seen[-1].id}) as client:
        later = emit_events(org, 1, start=5)
        resumed = client.events(4)
    assert [m.id for m in resumed] == [e.public_id for e in missed + later]
    assert [p["data"]["n"] for p in payloads(seen + resumed)] == [0, 1, 2, 3, 4, 5]


def test_the_last_event_id_parameter_stands_in_for_the_header_and_the_header_wins(live_server, org, org_key):
    events = emit_events(org, 3)
    params = {"lastEventId": events[0].public_id, "maxEvents": "2"}
    with connect(live_server, org_key.token, params=params) as client:
        assert [m.id for m in client.rest()] == [e.public_id for e in events[1:]]
    with connect(live_server, org_key.token, params=params, headers={"Last-Event-ID": events[1].public_id}) as client:
        assert [m.id for m in client.events(1)] == [events[2].public_id]


def test_the_type_filter_selects_events_by_type_with_wildcards(live_server, org, org_key):
    with connect(live_server, org_key.token, params={"type": "config_object.*,plugin.installed"}) as client:
        emit(None, "contact.created", organization=org)
        wanted = [emit(None, "config_object.created", organization=org),
                  emit(None, "plugin.enabled", organization=org),
                  emit(None, "plugin.installed", organization=org),
                  emit(None, "config_object.version_created", organization=org)]
        received = client.events(2)
    assert [m.event for m in received] == ["config_object.created", "plugin.installed"]
    assert received[0].id == wanted[0].public_id


def test_a_quiet_stream_sends_a_comment_heartbeat(live_server, org, org_key):
    with connect(live_server, org_key.token) as client:
        message = client.message()
    assert message.event is None and message.comments == ["heartbeat"]


def test_max_events_ends_the_stream(live_server, org, org_key):
    events = emit_events(org, 4)
    with connect(live_server, org_key.token, params={"lastEventId": events[0].public_id, "maxEvents": "2"}) as client:
        assert [m.id for m in client.rest()] == [e.public_id for e in events[1:3]]


def test_another_organizations_events_never_appear(live_server, org, org_key, other_org):
    with connect(live_server, org_key.token) as client:
        emit_events(other_org, 2, type="globex.secret")
        mine = emit_events(org, 1)
        received = client.events(1)
    assert [m.id for m in received] == [mine[0].public_id]


def test_another_organizations_event_id_is_refused_as_last_event_id(live_server, org, org_key, other_org):
    foreign = emit_events(other_org, 1)[0]
    for value in (foreign.public_id, "evt_doesnotexist"):
        answer = SSEClient(live_server.url + PATH, token=org_key.token, headers={"Last-Event-ID": value}).response
        assert answer.status_code == 400
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["error"]["code"] == "unknown_last_event_id"


def test_an_empty_last_event_id_is_refused_not_read_as_no_header(live_server, org, org_key):
    answer = SSEClient(live_server.url + PATH, token=org_key.token, headers={"Last-Event-ID": ""}).response
    assert answer.status_code == 400
    assert answer.json()["error"]["details"] == {"Last-Event-ID": ["Must not be empty (leave the parameter out instead)."]}


def test_members_and_keys_without_the_subscribe_scope_are_refused(live_server, org, member_key):
    narrow = issue_api_key(org, name="reader", scopes=("api:read",))[1]
    answer = SSEClient(live_server.url + PATH, token=member_key.token).response
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "org_capability_required")
    answer = SSEClient(live_server.url + PATH, token=narrow).response
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "insufficient_scope")
    assert "events:subscribe" in answer.json()["error"]["message"]


def test_a_plugin_key_with_the_subscribe_scope_may_follow(live_server, org, crm_plugin):
    token = issue_api_key(org, name="crm", plugin=crm_plugin, scopes=("events:subscribe",))[1]
    with connect(live_server, token) as client:
        event = emit_events(org, 1)[0]
        assert client.events(1)[0].id == event.public_id


@pytest.mark.parametrize("params, field", [({"type": "no spaces.*"}, "type"), ({"type": ""}, "type"),
                                           ({"maxEvents": "0"}, "maxEvents"), ({"maxSeconds": "x"}, "maxSeconds")])
def test_bad_parameters_are_a_400_naming_them(live_server, org, org_key, params, field):
    answer = SSEClient(live_server.url + PATH, token=org_key.token, params=params).response
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(field)


@override_settings(REDIS_URL=None)
def test_the_embedded_mode_streams_from_the_log(live_server, org, org_key):
    with connect(live_server, org_key.token) as client:
        events = emit_events(org, 3)
        assert [m.id for m in client.events(3)] == [e.public_id for e in events]


# Redis Streams -----------------------------------------------------------------------------------------


def redis_client(url=None):
    import redis

    return redis.Redis.from_url(url or settings.REDIS_URL)


@pytest.mark.requires_redis
def test_publishing_adds_each_transactions_events_to_the_organizations_stream_in_position_order(org):
    from django.db import transaction

    with transaction.atomic():
        events = emit_events(org, 3)
    entries = redis_client().xrange(stream.stream_key(org.pk))
    assert [entry_id for entry_id, _ in entries] == [f"{e.position}-0".encode() for e in events]
    assert json.loads(entries[0][1][b"event"]) == stream.event_payload(events[0])


@pytest.mark.requires_redis
@override_settings(EVENTS_STREAM_MAXLEN=10)
def test_the_stream_is_bounded_and_a_reader_resumes_from_the_log_where_it_was_trimmed(live_server, org, org_key):
    events = emit_events(org, 300)
    assert redis_client().xlen(stream.stream_key(org.pk)) < 300  # MAXLEN ~ trims whole nodes
    redis_client().xtrim(stream.stream_key(org.pk), maxlen=1, approximate=False)  # only the last one left
    with connect(live_server, org_key.token, headers={"Last-Event-ID": events[10].public_id}) as client:
        more = emit_events(org, 2, start=300)
        received = client.events(291)
    assert [m.id for m in received] == [e.public_id for e in events[11:] + more]


@pytest.mark.requires_redis
def test_a_publish_that_redis_refused_is_filled_from_the_log(live_server, org, org_key):
    with connect(live_server, org_key.token) as client:
        with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):  # nobody listens: publishing fails
            lost = emit_events(org, 2)
        published = emit_events(org, 1, start=2)
        received = client.events(3)
    assert [m.id for m in received] == [e.public_id for e in lost + published]


def test_a_redis_error_while_publishing_is_logged_not_raised(org, caplog):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"), caplog.at_level(logging.WARNING, "plexica.events"):
        event = emit_events(org, 1)[0]
    assert event.pk is not None
    assert "Could not publish 1 event(s)" in caplog.text


def free_port_in(start, end):
    for port in range(start, end):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port")


class RedisServer:
    """A redis-server of the test's own, without persistence, that the test can stop and start again."""

    def __init__(self, port):
        self.port, self.process = port, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                if redis_client(self.url).ping():
                    return
            except redis_errors.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary")
    server = RedisServer(free_port_in(18510, 18540))
    server.start()
    yield server
    server.stop()


@pytest.mark.requires_redis
def test_a_client_keeps_going_without_loss_when_redis_restarts_under_it(live_server, org, org_key, own_redis):
    with override_settings(REDIS_URL=own_redis.url), connect(live_server, org_key.token) as client:
        first = emit_events(org, 2)
        received = client.events(2)
        assert redis_client(own_redis.url).xlen(stream.stream_key(org.pk)) == 2
        own_redis.stop()
        during = emit_events(org, 2, start=2)  # publishing fails: the reader reads the log
        received += client.events(2)
        own_redis.start()  # empty: no persistence
        after = emit_events(org, 2, start=4)
        received += client.events(2)
        assert redis_client(own_redis.url).xlen(stream.stream_key(org.pk)) == 2  # published again
    assert [m.id for m in received] == [e.public_id for e in first + during + after]


def test_a_head_request_answers_the_headers_without_a_stream(live_server, org, org_key):
    import requests

    answer = requests.head(live_server.url + PATH, timeout=10,
                           headers={"Authorization": f"Bearer {org_key.token}", "X-Tenant-Slug": "acme-corp"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/event-stream")
    assert stream.open_readers() == 0


def test_an_event_looks_the_same_on_the_stream_and_in_the_events_api(org):
    from plexica.events.api.serializers import EventSerializer
    from plexica.events.log import emit

    event = emit(None, "demo.shape.checked", organization=org, subject=("demo", "d1"), data={"n": 1})
    api_item = json.loads(json.dumps(EventSerializer(event).data))
    assert api_item == json.loads(json.dumps(stream.event_payload(event)))
