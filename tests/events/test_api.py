"""The event log's HTTP API: POST /api/v1/events (custom events, idempotency), GET /api/v1/events (filters,
cursor pages, polling) and GET /api/v1/events/{id}; who may, which scopes, and no other organization's events."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from plexica.events import services
from plexica.events.log import emit
from plexica.events.models import Event, EventSequence
from plexica.tenancy.models import ApiKey, Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user, issue_api_key
from tests.concurrency import run_together
from tests.conftest import IssuedKey

URL = "/api/v1/events"


def post(client, body, **headers):
    return client.post(URL, json.dumps(body), content_type="application/json", **headers)


def error(response):
    return response.json()["error"]


def custom_events():
    """The custom events (the fixtures' keys and members bring platform events of their own)."""
    from plexica.events import types

    platform = Q()
    for prefix in types.reserved_prefixes():
        platform |= Q(type__startswith=f"{prefix}.")
    return Event.objects.exclude(platform)


def clear_log(*organizations):
    """Start the organizations' logs afresh (the fixtures' own events gone, positions from 1 again)."""
    Event.objects.filter(organization__in=organizations).delete()
    EventSequence.objects.filter(organization__in=organizations).update(last_position=0)


@pytest.fixture
def org_client(api, org_key):
    return api(org_key.token)


@pytest.fixture
def platform_type():
    """A registered platform type (its prefix is reserved for the platform)."""
    from plexica.events import types

    name = "webhook.endpoint.disabled"
    assert types.get(name) is not None
    return name


# Emitting


def test_an_org_key_emits_a_custom_event_and_gets_it_back_whole(org_client, org_key, org):
    response = post(org_client, {"type": "user.registered", "data": {"user_id": "user_123"},
                                 "subject": {"type": "user", "id": "user_123"}}, HTTP_X_REQUEST_ID="req-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ok"] is True
    item = body["item"]
    assert item["id"].startswith("evt_") and item["type"] == "user.registered"
    assert item["actor"] == {"type": "key", "id": org_key.key.pk}
    assert item["subject"] == {"type": "user", "id": "user_123"}
    assert item["data"] == {"user_id": "user_123"} and item["requestId"] == "req-1"
    assert item["position"] == EventSequence.objects.get(organization=org).last_position  # the newest
    assert datetime.fromisoformat(item["occurredAt"]).tzinfo is not None
    event = Event.objects.get(public_id=item["id"])
    assert event.organization == org and event.request_id == "req-1"


def test_the_nexus_body_without_subject_or_data_is_enough(org_client):
    response = post(org_client, {"type": "user.created"})
    assert response.status_code == 201
    assert response.json()["item"]["data"] == {} and response.json()["item"]["subject"] is None
    assert post(org_client, {"type": "user.created", "subject": None}).status_code == 201


def test_a_plugin_key_emits_under_its_own_plugin_id_only(api, plugin_key):
    client = api(plugin_key.token)
    ok = post(client, {"type": "plugin-crm.contact.created", "data": {"id": "c1"}})
    assert ok.status_code == 201
    assert ok.json()["item"]["actor"] == {"type": "plugin", "id": "plugin-crm"}
    for foreign in ("contact.created", "plugin-analytics.report.ready", "plugin-crmx.contact.created"):
        refused = post(client, {"type": foreign})
        assert refused.status_code == 403, foreign
        assert error(refused)["code"] == "org_capability_required"
        assert "plugin-crm" in error(refused)["message"] and error(refused)["details"]["field"] == "type"
    assert custom_events().count() == 1


def test_platform_events_cannot_be_forged(org_client, platform_type, org, superuser):
    response = post(org_client, {"type": platform_type})
    assert response.status_code == 403
    assert "platform" in error(response)["message"] and "'webhook'" in error(response)["message"]
    with pytest.raises(services.Forbidden):  # not even by a superuser
        services.emit_custom(Principal(organization=org, user=superuser, is_superuser=True), "webhook.test")
    assert not Event.objects.filter(type__startswith="webhook.").exists()


def test_a_superuser_and_an_org_admin_emit_as_themselves(org, org_admin, superuser):
    for who in (org_admin.user, superuser):
        event, replayed = services.emit_custom(
            Principal(organization=org, membership=Membership.objects.filter(user=who, organization=org).first(),
                      user=who, is_superuser=who.is_superuser), "deploy.finished", data={"ok": True})
        assert not replayed
        assert event.actor_id == who.username
    assert Event.objects.filter(organization=org, type="deploy.finished").count() == 2


def test_a_plain_member_may_neither_emit_nor_read_and_is_told_why(api, member_key):
    client = api(member_key.token)
    for response in (post(client, {"type": "user.created"}), post(client, {"bad": "body"}),
                     client.get(URL), client.get(URL + "?type=%%%"), client.get(f"{URL}/evt_{'a' * 22}")):
        assert response.status_code == 403
        assert error(response)["code"] == "org_capability_required"
        assert "a member cannot" in error(response)["message"]


def test_an_admin_members_key_may(api, org):
    user, _ = ensure_user("owen")
    membership = add_member(org, user, Membership.Role.OWNER)[0]
    key = IssuedKey(*issue_api_key(org, name="owen's", membership=membership))
    response = post(api(key.token), {"type": "user.created"})
    assert response.status_code == 201
    assert response.json()["item"]["actor"] == {"type": "member", "id": "owen"}


def test_emitting_needs_the_events_emit_scope(api, org):
    writer = IssuedKey(*issue_api_key(org, name="writer", scopes=[ApiKey.Scope.API_WRITE]))
    emitter = IssuedKey(*issue_api_key(org, name="emitter", scopes=[ApiKey.Scope.EVENTS_EMIT]))
    refused = post(api(writer.token), {"type": "user.created"})
    assert refused.status_code == 403
    assert error(refused)["code"] == "insufficient_scope" and "events:emit" in error(refused)["message"]
    assert post(api(emitter.token), {"type": "user.created"}).status_code == 201
    # Emitting is not reading.
    assert api(emitter.token).get(URL).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({}, "type"),
    ({"type": "nodots"}, "type"),
    ({"type": "bad type.x"}, "type"),
    ({"type": "a." + "b" * 200}, "type"),
    ({"type": 5}, "type"),
    ({"type": "a.b", "data": [1, 2]}, "data"),
    ({"type": "a.b", "data": "text"}, "data"),
    ({"type": "a.b", "data": None}, "data"),
    ({"type": "a.b", "subject": {"type": "user"}}, "subject.id"),
    ({"type": "a.b", "subject": {"type": "user one", "id": "u1"}}, "subject.type"),
    ({"type": "a.b", "subject": {"type": "user", "id": "  "}}, "subject.id"),
    ({"type": "a.b", "subject": "user"}, "subject"),
    ({"type": "a.b", "extra": 1}, "extra"),
])
def test_a_bad_body_is_a_400_naming_the_field(org_client, body, field):
    response = post(org_client, body)
    assert response.status_code == 400, response.json()
    assert error(response)["message"].startswith(f"{field}:") or field in error(response)["message"]
    assert not custom_events().exists()


def test_data_over_the_limit_is_a_413_naming_data(org_client, settings):
    settings.EVENTS_MAX_DATA_BYTES = 1024
    fits = {"text": "é" * ((1024 - 11) // 2)}  # {"text":"..."} is 11 bytes; é is two in UTF-8
    assert services.data_size(fits) <= 1024
    assert post(org_client, {"type": "a.b", "data": fits}).status_code == 201
    response = post(org_client, {"type": "a.b", "data": {"text": "é" * 600}})
    assert response.status_code == 413
    assert error(response)["code"] == "payload_too_large"
    assert error(response)["details"] == {"field": "data", "limit": 1024, "size": 1211}
    assert error(response)["message"].startswith("data:")


def test_a_bad_event_type_says_what_a_type_is(org_client):
    response = post(org_client, {"type": "created"})
    assert "two or more dot-separated parts" in error(response)["message"]


def test_another_organizations_header_is_refused(api, org_key, other_org):
    response = post(api(org_key.token, tenant="globex"), {"type": "user.created"})
    assert response.status_code == 403 and error(response)["code"] == "tenant_access_denied"
    assert not custom_events().exists()


# Idempotency


def test_a_retry_with_the_same_idempotency_key_returns_the_first_event(org_client):
    body = {"type": "order.paid", "data": {"order": 7, "lines": [1, 2]}, "subject": {"type": "order", "id": "7"}}
    first = post(org_client, body, HTTP_IDEMPOTENCY_KEY="pay-7")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    # The same body with its keys in another order is the same request.
    retry = org_client.post(URL, json.dumps(dict(reversed(body.items()))), content_type="application/json",
                            HTTP_IDEMPOTENCY_KEY="pay-7", HTTP_X_REQUEST_ID="retry-1")
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert custom_events().count() == 1


def test_the_same_key_with_another_body_is_a_409_naming_the_problem(org_client):
    first = post(org_client, {"type": "order.paid", "data": {"order": 7}}, HTTP_IDEMPOTENCY_KEY="pay-7")
    for other in ({"type": "order.paid", "data": {"order": 8}}, {"type": "order.refunded", "data": {"order": 7}},
                  {"type": "order.paid", "data": {"order": 7}, "subject": {"type": "order", "id": "7"}}):
        response = post(org_client, other, HTTP_IDEMPOTENCY_KEY="pay-7")
        assert response.status_code == 409
        assert error(response)["code"] == "idempotency_key_reused"
        assert "Idempotency-Key" in error(response)["message"]
        assert error(response)["details"]["eventId"] == first.json()["item"]["id"]
    assert custom_events().count() == 1


def test_idempotency_keys_are_per_caller(api, org_client, plugin_key, org):
    other_key = IssuedKey(*issue_api_key(org, name="another automation"))
    assert post(org_client, {"type": "a.b"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert post(api(other_key.token), {"type": "c.d"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert post(api(plugin_key.token), {"type": "plugin-crm.x"}, HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert custom_events().count() == 3


@pytest.mark.parametrize("key", ["", " padded", "tab\there", "é", "x" * 256])
def test_a_malformed_idempotency_key_is_a_400(org_client, key):
    response = post(org_client, {"type": "a.b"}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert error(response)["message"].startswith("Idempotency-Key:")
    assert not custom_events().exists()


def test_a_key_of_255_printable_characters_is_fine(org_client):
    assert post(org_client, {"type": "a.b"}, HTTP_IDEMPOTENCY_KEY="a b~" + "x" * 251).status_code == 201


def test_an_integrity_error_of_a_concurrent_retry_is_answered_with_its_event(org, org_key, monkeypatch):
    """The window between the lookup and the insert: the unique constraint catches the second writer."""
    principal = Principal(organization=org, api_key=org_key.key)
    first, _ = services.emit_custom(principal, "a.b", data={"n": 1}, idempotency_key="race")
    real_earlier = services._earlier
    calls = []

    def missed_once(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_earlier(*args)

    monkeypatch.setattr(services, "_earlier", missed_once)
    again, replayed = services.emit_custom(principal, "a.b", data={"n": 1}, idempotency_key="race")
    assert replayed and again.pk == first.pk and len(calls) == 2
    assert custom_events().count() == 1
    assert services.emit_custom(principal, "a.b", data={"n": 1})[0].position == first.position + 1  # no gap


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_event(org, org_key):
    principal = Principal(organization=org, api_key=org_key.key)

    def attempt():
        event, replayed = services.emit_custom(principal, "order.paid", data={"order": 1}, idempotency_key="once")
        return event.public_id, replayed

    results = run_together(*[attempt] * 6)
    assert len({public_id for public_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 5
    event = Event.objects.get(organization=org, type="order.paid")
    assert EventSequence.objects.get(organization=org).last_position == event.position  # no gap


# Reading


@pytest.fixture
def log(org, other_org, org_key, plugin_key, other_org_key):
    """Events of several types and subjects, one a day over five days; and one of another organization
    (the keys come first, their own events gone)."""
    clear_log(org, other_org)
    start = datetime(2026, 11, 1, 12, tzinfo=UTC)
    made = []
    for day, (event_type, subject) in enumerate([
        ("config_object.created", ("config_object", "cfo_1")),
        ("config_object.version_created", ("config_object", "cfo_1")),
        ("plugin.installed", ("plugin", "plugin-crm")),
        ("plugin-crm.contact.created", ("contact", "c1")),
        ("config_object.archived", ("config_object", "cfo_2")),
    ]):
        made.append(emit(None, event_type, organization=org, subject=subject,
                         occurred_at=start + timedelta(days=day)))
    emit(None, "config_object.created", organization=other_org, subject=("config_object", "cfo_1"),
         occurred_at=start)
    return made


def listed(client, query=""):
    response = client.get(f"{URL}{query}")
    assert response.status_code == 200, response.json()
    return [item["type"] for item in response.json()["items"]]


def test_the_list_is_newest_first_and_only_this_organizations(org_client, log):
    response = org_client.get(URL)
    body = response.json()
    assert [item["position"] for item in body["items"]] == [5, 4, 3, 2, 1]
    assert body["nextCursor"] is None
    assert body["items"][0] == {
        "id": log[4].public_id, "type": "config_object.archived", "occurredAt": "2026-11-05T12:00:00Z",
        "actor": {"type": "system", "id": "system"}, "subject": {"type": "config_object", "id": "cfo_2"},
        "data": {}, "requestId": None, "position": 5}


def test_type_filters_take_wildcards_commas_and_repeats(org_client, log):
    assert listed(org_client, "?type=config_object.*") == [
        "config_object.archived", "config_object.version_created", "config_object.created"]
    assert listed(org_client, "?type=*.created") == ["plugin-crm.contact.created", "config_object.created"]
    assert listed(org_client, "?type=plugin.installed,plugin-crm.*") == [
        "plugin-crm.contact.created", "plugin.installed"]
    assert listed(org_client, "?type=plugin.installed&type=config_object.archived") == [
        "config_object.archived", "plugin.installed"]
    assert len(listed(org_client, "?type=*")) == 5
    assert listed(org_client, "?type=nothing.like.this") == []


def test_subject_and_time_filters(org_client, log):
    assert listed(org_client, "?subjectType=config_object&subjectId=cfo_1") == [
        "config_object.version_created", "config_object.created"]
    assert listed(org_client, "?subjectId=plugin-crm") == ["plugin.installed"]
    assert listed(org_client, "?since=2026-11-02T12:00:00Z&until=2026-11-04T12:00:00Z") == [
        "plugin.installed", "config_object.version_created"]
    # Offsets, dates and naive times (UTC) all read as ISO 8601.
    assert listed(org_client, "?since=2026-11-04T13:00:00%2B01:00") == [
        "config_object.archived", "plugin-crm.contact.created"]
    assert listed(org_client, "?until=2026-11-02") == ["config_object.created"]
    assert listed(org_client, "?since=2026-11-05T12:00:00") == ["config_object.archived"]
    assert listed(org_client, "?since=0001-01-01T00:00:00%2B01:00&until=9999-12-31T23:59:59-01:00") != []


def test_polling_after_a_position_oldest_first(org_client, log):
    assert listed(org_client, "?after=3&order=asc") == ["plugin-crm.contact.created", "config_object.archived"]
    assert listed(org_client, "?after=5&order=asc") == []
    assert listed(org_client, "?order=asc")[0] == "config_object.created"


def test_cursor_pages_walk_every_event_once_in_either_order(org_client, log):
    for order, expected in (("desc", [5, 4, 3, 2, 1]), ("asc", [1, 2, 3, 4, 5])):
        seen, query = [], f"?limit=2&order={order}"
        while True:
            body = org_client.get(URL + query).json()
            seen += [item["position"] for item in body["items"]]
            if not body["nextCursor"]:
                break
            query = f"?limit=2&order={order}&cursor={body['nextCursor']}"
        assert seen == expected


@pytest.mark.parametrize(("query", "name"), [
    ("?type=", "type"), ("?type=a..b", "type"), ("?type=a,,b", "type"), ("?type=a%20b", "type"),
    ("?type=" + "a" * 201, "type"), ("?since=yesterday", "since"), ("?until=2026-02-30", "until"),
    ("?since=", "since"), ("?after=-1", "after"), ("?after=1.5", "after"), ("?order=up", "order"),
    ("?limit=0", "limit"), ("?cursor=nonsense", "cursor"), ("?subjectType=", "subjectType"),
])
def test_a_bad_query_parameter_is_a_400_naming_it(org_client, log, query, name):
    response = org_client.get(URL + query)
    assert response.status_code == 400, (query, response.json())
    assert name in error(response)["details"] or error(response)["message"].startswith(name)


def test_reading_takes_api_read_or_events_subscribe(api, org, log):
    for scope in (ApiKey.Scope.API_READ, ApiKey.Scope.EVENTS_SUBSCRIBE, ApiKey.Scope.API_WRITE):
        key = IssuedKey(*issue_api_key(org, name=f"reader {scope}", scopes=[scope]))
        assert api(key.token).get(URL).status_code == 200, scope
    gateway_only = IssuedKey(*issue_api_key(org, name="gateway only", scopes=[ApiKey.Scope.GATEWAY]))
    response = api(gateway_only.token).get(URL)
    assert response.status_code == 403 and "events:subscribe" in error(response)["message"]


def test_a_plugin_key_reads_the_log(api, plugin_key, log):
    assert len(listed(api(plugin_key.token))) == 5


def test_one_event_by_id_and_never_another_organizations(org_client, api, other_org_key, log, other_org):
    response = org_client.get(f"{URL}/{log[0].public_id}")
    assert response.status_code == 200
    assert response.json()["item"]["id"] == log[0].public_id and response.json()["item"]["position"] == 1
    foreign = Event.objects.get(organization=other_org)
    response = org_client.get(f"{URL}/{foreign.public_id}")
    assert response.status_code == 404 and foreign.public_id in error(response)["message"]
    for missing in (f"evt_{'x' * 22}", "evt_short", "42"):
        assert org_client.get(f"{URL}/{missing}").status_code == 404
    # The other organization's key with this organization's header: refused; with its own: only its own.
    assert api(other_org_key.token).get(f"{URL}/{log[0].public_id}").status_code == 403
    globex = api(other_org_key.token, tenant="globex")
    assert globex.get(f"{URL}/{log[0].public_id}").status_code == 404
    assert [item["id"] for item in globex.get(URL).json()["items"]] == [foreign.public_id]


def test_the_list_costs_the_same_queries_for_5_events_and_for_a_full_page(org_client, org, log):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert org_client.get(URL + "?limit=100&type=config_object.*,plugin.*").status_code == 200
        return len(captured)

    queries()  # the key's lookup and last-used touch are cached after the first request
    few = queries()
    for i in range(150):
        emit(None, "plugin.installed", organization=org, subject=("plugin", f"plugin-{i}"), data={"i": i})
    assert queries() == few <= 3


def test_an_emitted_event_is_listed_with_its_request_id(org_client):
    post(org_client, {"type": "user.created"}, HTTP_X_REQUEST_ID="abc-123")
    items = org_client.get(URL + "?type=user.*").json()["items"]
    assert [(item["type"], item["requestId"]) for item in items] == [("user.created", "abc-123")]


def test_occurred_at_is_the_emit_time(org_client):
    with time_machine.travel(datetime(2026, 6, 1, 8, 30, tzinfo=UTC), tick=False):
        item = post(org_client, {"type": "user.created"}).json()["item"]
    assert item["occurredAt"] == "2026-06-01T08:30:00Z"


def test_emitting_costs_a_fixed_number_of_queries(org_client):
    post(org_client, {"type": "warm.up"})  # the key's lookup and last-used touch are cached after this

    def queries(**headers):
        with CaptureQueriesContext(connection) as captured:
            assert post(org_client, {"type": "order.paid", "data": {"n": 1}}, **headers).status_code == 201
        return len(captured)

    plain = queries()
    assert plain <= 3  # the sequence's increment and the insert
    assert queries(HTTP_IDEMPOTENCY_KEY="q-1") <= plain + 3  # the lookup, a savepoint
    assert queries(HTTP_IDEMPOTENCY_KEY="q-1") == 1  # a replay: the lookup alone
