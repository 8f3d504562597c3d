"""/api/v1/webhooks: the organization's webhook endpoints, through the API as each kind of caller."""

import base64
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from plexica.events.log import emit
from plexica.events.models import Event
from plexica.plugins.models import Plugin
from plexica.tenancy.services import issue_api_key
from tests.concurrency import run_together
from tests.principals import CALLERS, ORG_ADMINS, acting_as
from tests.webhooks.receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)
from webhooks.outbound import endpoints
from webhooks.outbound.models import WebhookEndpoint, WebhookMessage

# A public address literal: the policy admits it without a DNS lookup.
URL = "https://93.184.216.34/hooks/plexica"
ITEM_FIELDS = {"id", "url", "description", "events", "enabled", "ordered", "disabledReason", "disabledAt",
               "failingSince", "plugin", "createdAt", "updatedAt", "secretRotatedUntil"}


def create(client, **body):
    body.setdefault("url", URL)
    body.setdefault("events", ["config_object.*"])
    return client.post("/api/v1/webhooks", body, format="json")


def created(client, **body):
    response = create(client, **body)
    assert response.status_code == 201, response.json()
    return response.json()["item"]


def error_of(response):
    return response.json()["error"]["message"]


# Creating, and the secret shown once


def test_creating_an_endpoint_generates_a_standard_webhooks_secret_shown_once(api, org_key):
    client = api(org_key.token)
    response = create(client, events=["config_object.*", "plugin.installed"], description="CRM sync")
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    item = body["item"]
    assert set(item) == ITEM_FIELDS | {"secret"}
    assert item["id"].startswith("whe_") and item["url"] == URL and item["description"] == "CRM sync"
    assert item["events"] == ["config_object.*", "plugin.installed"]
    assert item["enabled"] is True and item["ordered"] is False and item["plugin"] is None
    assert item["disabledReason"] is None and item["secretRotatedUntil"] is None
    secret = item["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 32
    # Never again: not in the detail, not in the list.
    detail = client.get(f"/api/v1/webhooks/{item['id']}").json()
    assert set(detail) == {"item"} and set(detail["item"]) == ITEM_FIELDS
    listed = client.get("/api/v1/webhooks").json()
    assert set(listed) == {"items", "nextCursor"} and "secret" not in listed["items"][0]
    assert WebhookEndpoint.objects.get(pk=item["id"]).secret == secret


def test_each_generated_secret_is_new(api, org_key):
    client = api(org_key.token)
    assert created(client)["secret"] != created(client)["secret"]


def test_the_secret_is_stored_encrypted(api, org_key):
    item = created(api(org_key.token), secret="a-shared-secret-of-the-receiver")
    table = WebhookEndpoint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {table} WHERE id = %s", [item["id"]])
        stored = cursor.fetchone()[0]
    assert "a-shared-secret" not in stored and stored.startswith("gAAAA")  # a Fernet token


@pytest.mark.parametrize("secret", [
    "webhook_secret_16",  # plain, 17 characters
    "p" * 16, "p" * 255, "with inner spaces ok!",
    "whsec_" + base64.b64encode(b"k" * 24).decode(), "whsec_" + base64.b64encode(b"k" * 64).decode(),
])
def test_a_given_secret_in_either_form_is_kept_as_given(api, org_key, secret):
    item = created(api(org_key.token), secret=secret)
    assert item["secret"] == secret
    assert WebhookEndpoint.objects.get(pk=item["id"]).secret == secret


@pytest.mark.parametrize(("secret", "says"), [
    ("short-secret", "16 to 255 characters"),
    ("p" * 256, "255"),
    ("tab\tinside-the-secret", "printable ASCII"),
    ("ünïcode-secret-value", "printable ASCII"),
    (" leading-space-secret", "begin or end with a space"),
    ("whsec_not*base64!!", "not valid base64"),
    ("whsec_" + base64.b64encode(b"k" * 16).decode(), "carries 16"),
    ("whsec_" + base64.b64encode(b"k" * 65).decode(), "carries 65"),
    ("", "16 to 255"),
    (12345678901234567, "Must be a string"),
])
def test_a_bad_secret_is_400_naming_it_and_nothing_is_created(api, org_key, secret, says):
    response = create(api(org_key.token), secret=secret)
    assert response.status_code == 400
    assert error_of(response).startswith("secret:") and says in error_of(response)
    assert not WebhookEndpoint.objects.exists()


def test_event_filters_are_deduplicated_in_the_order_given(api, org_key):
    item = created(api(org_key.token), events=["plugin.*", "*", "plugin.*", "config_object.created", "*"])
    assert item["events"] == ["plugin.*", "*", "config_object.created"]


@pytest.mark.parametrize(("events", "says"), [
    ([], "events"),
    ([f"type{n}.created" for n in range(51)], "events"),
    (["config_object..created"], "events[0]"),
    (["ok.type", "no spaces.x"], "events[1]"),
    (["ok.type", 7], "events[1]"),
    ("config_object.*", "events"),
    (None, "events"),
])
def test_bad_event_filters_are_400_naming_events(api, org_key, events, says):
    response = create(api(org_key.token), events=events)
    assert response.status_code == 400
    assert error_of(response).startswith(says), error_of(response)
    assert not WebhookEndpoint.objects.exists()


def test_fifty_filters_are_accepted(api, org_key):
    assert len(created(api(org_key.token), events=[f"type{n}.created" for n in range(50)])["events"]) == 50


@pytest.mark.parametrize("body", [{"events": ["*"]}, {"url": URL}, {}])
def test_url_and_events_are_required(api, org_key, body):
    response = api(org_key.token).post("/api/v1/webhooks", body, format="json")
    assert response.status_code == 400 and "Missing required field" in error_of(response)


@pytest.mark.parametrize("body", [
    {"enabled": "yes"}, {"ordered": 1}, {"description": "x" * 501}, {"plugin": "plugin-crm"}, {"id": "whe_x"},
    {"surprise": True},
])
def test_bad_or_unknown_fields_are_400_naming_them(api, org_key, body):
    response = create(api(org_key.token), **body)
    assert response.status_code == 400
    assert error_of(response).startswith(next(iter(body)))


def test_an_endpoint_can_be_created_disabled_and_ordered(api, org_key):
    item = created(api(org_key.token), enabled=False, ordered=True)
    assert item["enabled"] is False and item["disabledReason"] == "manual" and item["disabledAt"] is not None
    assert item["ordered"] is True


# Changing


def test_patch_changes_only_what_it_names(api, org_key):
    client = api(org_key.token)
    item = created(client, description="before", events=["plugin.*"])
    response = client.patch(f"/api/v1/webhooks/{item['id']}", {"description": "after", "ordered": True},
                            format="json")
    assert response.status_code == 200 and response.json()["ok"] is True
    changed = response.json()["item"]
    assert set(changed) == ITEM_FIELDS
    assert changed["description"] == "after" and changed["ordered"] is True and changed["events"] == ["plugin.*"]
    assert changed["updatedAt"] > item["updatedAt"]
    changed = client.patch(f"/api/v1/webhooks/{item['id']}", {"events": ["a.b", "a.b"]}, format="json").json()
    assert changed["item"]["events"] == ["a.b"]


def test_patching_the_secret_is_400_pointing_to_rotation(api, org_key):
    client = api(org_key.token)
    item = created(client)
    response = client.patch(f"/api/v1/webhooks/{item['id']}", {"secret": "another-secret-value"}, format="json")
    assert response.status_code == 400
    assert error_of(response).startswith("secret:") and "rotate-secret" in error_of(response)


@pytest.mark.parametrize("body", [{"events": []}, {"events": ["bad..type"]}, {"url": "ftp://93.184.216.34/"},
                                  {"enabled": None}, {"description": None}, {"nope": 1}])
def test_a_bad_patch_is_400_and_changes_nothing(api, org_key, body):
    client = api(org_key.token)
    item = created(client)
    response = client.patch(f"/api/v1/webhooks/{item['id']}", body, format="json")
    assert response.status_code == 400 and error_of(response).startswith(next(iter(body)))
    unchanged = {name: value for name, value in item.items() if name != "secret"}
    assert client.get(f"/api/v1/webhooks/{item['id']}").json()["item"] == unchanged


def test_disabling_records_a_manual_reason_and_emits_the_disabled_event(api, org, org_key):
    client = api(org_key.token)
    item = created(client)
    waiting, in_flight = _message(org, item["id"], "pending"), _message(org, item["id"], "sending")
    response = client.patch(f"/api/v1/webhooks/{item['id']}", {"enabled": False}, format="json")
    disabled = response.json()["item"]
    assert disabled["enabled"] is False and disabled["disabledReason"] == "manual" and disabled["disabledAt"]
    event = Event.objects.get(type="webhook.endpoint.disabled")
    assert (event.subject_type, event.subject_id) == ("webhook_endpoint", item["id"])
    assert event.data["reason"] == "manual" and event.actor_type == "key"
    # Its waiting messages fail at once (recovered after enabling); the one in flight is its worker's.
    waiting.refresh_from_db()
    in_flight.refresh_from_db()
    assert waiting.status == "failed" and "disabled (manual)" in waiting.last_error and waiting.finished_at
    assert in_flight.status == "sending"
    # Disabling again changes nothing and says nothing.
    again = client.patch(f"/api/v1/webhooks/{item['id']}", {"enabled": False}, format="json").json()["item"]
    assert again["disabledAt"] == disabled["disabledAt"]
    assert Event.objects.filter(type="webhook.endpoint.disabled").count() == 1


def test_enabling_clears_the_disabled_reason_and_the_failing_run(api, org_key):
    client = api(org_key.token)
    item = created(client)
    WebhookEndpoint.objects.filter(pk=item["id"]).update(
        enabled=False, disabled_reason="failing", disabled_at=timezone.now(),
        failing_since=timezone.now() - timedelta(days=5))
    gone = client.get(f"/api/v1/webhooks/{item['id']}").json()["item"]
    assert gone["disabledReason"] == "failing" and gone["failingSince"] is not None
    enabled = client.patch(f"/api/v1/webhooks/{item['id']}", {"enabled": True}, format="json").json()["item"]
    assert enabled["enabled"] is True
    assert (enabled["disabledReason"], enabled["disabledAt"], enabled["failingSince"]) == (None, None, None)


# Rotating the secret


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_one_valid_for_24_hours(api, org_key, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    client = api(org_key.token)
    item = created(client)
    response = client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret")
    assert response.status_code == 200 and response.json()["ok"] is True
    rotated = response.json()["item"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != item["secret"]
    until = timezone.now() + timedelta(hours=24)
    assert rotated["secretRotatedUntil"] == until.isoformat().replace("+00:00", "Z")
    endpoint = WebhookEndpoint.objects.get(pk=item["id"])
    assert (endpoint.secret, endpoint.previous_secret) == (rotated["secret"], item["secret"])
    assert "secret" not in client.get(f"/api/v1/webhooks/{item['id']}").json()["item"]
    time_machine.move_to(until + timedelta(seconds=1), tick=False)
    assert client.get(f"/api/v1/webhooks/{item['id']}").json()["item"]["secretRotatedUntil"] is None


def test_rotating_to_a_given_secret(api, org_key):
    client = api(org_key.token)
    item = created(client)
    rotated = client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret", {"secret": "the-receivers-new-one"},
                          format="json").json()["item"]
    assert rotated["secret"] == "the-receivers-new-one"


def test_a_second_rotation_keeps_only_the_two_newest_secrets(api, org_key):
    client = api(org_key.token)
    item = created(client)
    first = client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret").json()["item"]["secret"]
    second = client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret").json()["item"]["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=item["id"])
    assert (endpoint.secret, endpoint.previous_secret) == (second, first)


@pytest.mark.parametrize(("body", "says"), [({"secret": "short"}, "secret:"), ({"secret": None}, "secret:"),
                                            ({"other": 1}, "other:")])
def test_a_bad_rotation_is_400_and_keeps_the_secret(api, org_key, body, says):
    client = api(org_key.token)
    item = created(client)
    response = client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret", body, format="json")
    assert response.status_code == 400 and error_of(response).startswith(says)
    endpoint = WebhookEndpoint.objects.get(pk=item["id"])
    assert endpoint.secret == item["secret"] and endpoint.previous_secret is None


def test_rotating_to_the_current_secret_is_400(api, org_key):
    client = api(org_key.token)
    item = created(client, secret="the-same-secret-value")
    response = client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret", {"secret": "the-same-secret-value"},
                           format="json")
    assert response.status_code == 400 and "current secret" in error_of(response)


# The test event


def test_the_test_button_emits_a_webhook_test_event_about_the_endpoint(api, org_key):
    client = api(org_key.token)
    item = created(client)
    response = client.post(f"/api/v1/webhooks/{item['id']}/test")
    assert response.status_code == 202
    body = response.json()
    assert body["ok"] is True and body["item"]["type"] == "webhook.test" and body["item"]["endpointId"] == item["id"]
    event = Event.objects.get(public_id=body["item"]["eventId"])
    assert event.type == "webhook.test" and event.organization.slug == "acme-corp"
    assert (event.subject_type, event.subject_id) == ("webhook_endpoint", item["id"])
    assert (event.actor_type, event.actor_id) == ("key", org_key.key.pk)
    assert event.data["endpointId"] == item["id"]


def test_a_disabled_endpoint_gets_no_test_event(api, org_key):
    client = api(org_key.token)
    item = created(client, enabled=False)
    response = client.post(f"/api/v1/webhooks/{item['id']}/test")
    assert response.status_code == 409 and "disabled" in error_of(response)
    assert response.json()["error"]["details"]["disabledReason"] == "manual"
    assert not Event.objects.filter(type="webhook.test").exists()


# Deleting


def _message(org, endpoint_id, status):
    event = emit(None, "config_object.created", organization=org, subject=("config_object", "cfo_x"))
    return WebhookMessage.objects.create(organization=org, endpoint_id=endpoint_id, event=event,
                                         position=event.position, event_type=event.type, status=status)


def test_deleting_hides_the_endpoint_and_cancels_its_open_messages(api, org, org_key):
    client = api(org_key.token)
    item = created(client)
    other = created(client)
    pending, sending, done = (_message(org, item["id"], status) for status in ("pending", "sending", "succeeded"))
    elsewhere = _message(org, other["id"], "pending")
    response = client.delete(f"/api/v1/webhooks/{item['id']}")
    assert response.status_code == 204 and not response.content
    assert client.get(f"/api/v1/webhooks/{item['id']}").status_code == 404
    assert [found["id"] for found in client.get("/api/v1/webhooks").json()["items"]] == [other["id"]]
    for message, status in ((pending, "cancelled"), (sending, "cancelled"), (done, "succeeded"),
                            (elsewhere, "pending")):
        message.refresh_from_db()
        assert message.status == status
    pending.refresh_from_db()
    assert pending.finished_at is not None
    assert WebhookEndpoint.objects.get(pk=item["id"]).deleted_at is not None  # soft: the history stays
    assert client.delete(f"/api/v1/webhooks/{item['id']}").status_code == 404
    for path in ("rotate-secret", "test"):
        assert client.post(f"/api/v1/webhooks/{item['id']}/{path}").status_code == 404


# Listing and filters


def test_the_list_filters_by_enabled_and_by_the_event_type_an_endpoint_receives(api, org_key):
    client = api(org_key.token)
    configs = created(client, events=["config_object.*"])
    everything = created(client, events=["*"])
    plugins = created(client, events=["plugin.installed"], enabled=False)

    def ids(query):
        response = client.get(f"/api/v1/webhooks?{query}")
        assert response.status_code == 200, response.json()
        return {item["id"] for item in response.json()["items"]}

    assert ids("") == {configs["id"], everything["id"], plugins["id"]}
    assert ids("enabled=true") == {configs["id"], everything["id"]}
    assert ids("enabled=false") == {plugins["id"]}
    assert ids("eventType=config_object.created") == {configs["id"], everything["id"]}
    assert ids("eventType=plugin.installed") == {everything["id"], plugins["id"]}
    assert ids("eventType=plugin.installed&enabled=true") == {everything["id"]}
    assert ids("eventType=service.registered") == {everything["id"]}


@pytest.mark.parametrize("query", ["enabled=yes", "enabled=", "eventType=", "eventType=nodot", "eventType=a.*",
                                   "limit=0", "cursor=garbage"])
def test_bad_list_parameters_are_400_naming_them(api, org_key, query):
    response = api(org_key.token).get(f"/api/v1/webhooks?{query}")
    assert response.status_code == 400 and error_of(response).startswith(query.split("=")[0])


def test_the_list_is_paginated_newest_first(api, org_key):
    client = api(org_key.token)
    made = [created(client)["id"] for _ in range(3)]
    first = client.get("/api/v1/webhooks?limit=2").json()
    second = client.get(f"/api/v1/webhooks?limit=2&cursor={first['nextCursor']}").json()
    assert [item["id"] for item in first["items"] + second["items"]] == made[::-1]
    assert second["nextCursor"] is None


def test_the_list_costs_the_same_queries_with_many_endpoints(api, org, org_key, django_assert_max_num_queries):
    client = api(org_key.token)
    created(client)
    with django_assert_max_num_queries(8) as few:
        client.get("/api/v1/webhooks?eventType=config_object.created")
    plugin = Plugin.objects.create(organization=org, plugin_id="plugin-bulk", name="bulk")
    WebhookEndpoint.objects.bulk_create([
        WebhookEndpoint(organization=org, url=URL, event_types=["config_object.*"], secret="s" * 16,
                        plugin=plugin if n % 2 else None) for n in range(60)])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/api/v1/webhooks?eventType=config_object.created&limit=100")
    assert len(response.json()["items"]) == 61


# Who may


def session_of(api, membership):
    """An API client signed in as the membership's user (an admin session browsing the API)."""
    client = api()
    client.force_login(membership.user)
    return client


def test_members_may_not_see_or_manage_endpoints(api, org_key, member_key, member):
    item = created(api(org_key.token))
    session = session_of(api, member)
    for client in (api(member_key.token), session):
        calls = [client.get("/api/v1/webhooks"), create(client), client.get(f"/api/v1/webhooks/{item['id']}"),
                 client.patch(f"/api/v1/webhooks/{item['id']}", {"enabled": False}, format="json"),
                 client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret"),
                 client.post(f"/api/v1/webhooks/{item['id']}/test"), client.delete(f"/api/v1/webhooks/{item['id']}")]
        for response in calls:
            assert response.status_code == 403, response.json()
            assert response.json()["error"]["code"] == "org_capability_required"
    assert WebhookEndpoint.objects.filter(deleted_at__isnull=True).count() == 1


def test_an_org_admin_session_manages_endpoints(api, org_admin):
    client = session_of(api, org_admin)
    item = created(client)
    endpoint = WebhookEndpoint.objects.get(pk=item["id"])
    assert endpoint.created_by == org_admin.user and endpoint.plugin is None
    assert client.post(f"/api/v1/webhooks/{item['id']}/test").status_code == 202


def test_a_plugin_key_manages_only_the_endpoints_it_created(api, org, org_key, plugin_key):
    theirs = created(api(org_key.token))
    plugin_client = api(plugin_key.token)
    mine = created(plugin_client)
    assert mine["plugin"] == "plugin-crm"
    assert WebhookEndpoint.objects.get(pk=mine["id"]).plugin.plugin_id == "plugin-crm"
    assert [item["id"] for item in plugin_client.get("/api/v1/webhooks").json()["items"]] == [mine["id"]]
    for response in (plugin_client.get(f"/api/v1/webhooks/{theirs['id']}"),
                     plugin_client.patch(f"/api/v1/webhooks/{theirs['id']}", {"enabled": False}, format="json"),
                     plugin_client.post(f"/api/v1/webhooks/{theirs['id']}/rotate-secret"),
                     plugin_client.post(f"/api/v1/webhooks/{theirs['id']}/test"),
                     plugin_client.delete(f"/api/v1/webhooks/{theirs['id']}")):
        assert response.status_code == 404
    # Another plugin's key does not see this plugin's endpoint either.
    analytics = Plugin.objects.create(organization=org, plugin_id="plugin-analytics", name="Analytics")
    other_client = api(issue_api_key(org, name="analytics", plugin=analytics)[1])
    assert other_client.get(f"/api/v1/webhooks/{mine['id']}").status_code == 404
    assert other_client.get("/api/v1/webhooks").json()["items"] == []
    # The organization's key sees and manages both.
    org_client = api(org_key.token)
    assert {item["id"] for item in org_client.get("/api/v1/webhooks").json()["items"]} == {mine["id"], theirs["id"]}
    assert org_client.get("/api/v1/webhooks?pluginId=plugin-crm").json()["items"][0]["id"] == mine["id"]
    assert org_client.patch(f"/api/v1/webhooks/{mine['id']}", {"enabled": False}, format="json").status_code == 200
    # And the plugin manages its own.
    assert plugin_client.patch(f"/api/v1/webhooks/{mine['id']}", {"enabled": True},
                               format="json").json()["item"]["enabled"] is True
    assert plugin_client.post(f"/api/v1/webhooks/{mine['id']}/test").status_code == 202
    assert Event.objects.get(type="webhook.test").actor_id == "plugin-crm"
    assert plugin_client.delete(f"/api/v1/webhooks/{mine['id']}").status_code == 204


@pytest.mark.parametrize(("scopes", "reads", "writes"), [
    (["api:read"], True, False),
    (["api:write"], True, True),
    (["events:subscribe"], True, True),
    (["events:emit"], False, False),
    (["gateway"], False, False),
])
def test_scopes_reading_needs_api_read_or_events_subscribe_and_changing_api_write_or_events_subscribe(
        api, org, org_key, scopes, reads, writes):
    item = created(api(org_key.token))
    client = api(issue_api_key(org, name="scoped", scopes=scopes)[1])
    for response in (client.get("/api/v1/webhooks"), client.get(f"/api/v1/webhooks/{item['id']}")):
        assert response.status_code == (200 if reads else 403)
    changes = (create(client), client.patch(f"/api/v1/webhooks/{item['id']}", {"ordered": True}, format="json"),
               client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret"),
               client.post(f"/api/v1/webhooks/{item['id']}/test"))
    for response, succeeded in zip(changes, (201, 200, 200, 202), strict=True):
        assert response.status_code == (succeeded if writes else 403)
        if not writes:
            assert response.json()["error"]["code"] == "insufficient_scope"
    deleted = client.delete(f"/api/v1/webhooks/{item['id']}")
    assert deleted.status_code == (204 if writes else 403)


def test_without_a_key_or_a_tenant_the_api_answers_401(api, org_key):
    item = created(api(org_key.token))
    assert api().get("/api/v1/webhooks").status_code == 401
    assert api(org_key.token, tenant=None).get(f"/api/v1/webhooks/{item['id']}").status_code == 401


def test_another_organizations_endpoint_is_404_on_every_operation(api, org_key, other_org_key):
    theirs = created(api(other_org_key.token, tenant="globex"))
    client = api(org_key.token)
    path = f"/api/v1/webhooks/{theirs['id']}"
    for response in (client.get(path), client.patch(path, {"enabled": False}, format="json"), client.delete(path),
                     client.post(f"{path}/rotate-secret"), client.post(f"{path}/test")):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/webhooks").json()["items"] == []
    assert client.get("/api/v1/webhooks?eventType=config_object.created").json()["items"] == []
    endpoint = WebhookEndpoint.objects.get(pk=theirs["id"])
    assert endpoint.enabled and endpoint.deleted_at is None and endpoint.previous_secret is None
    # And its key cannot reach this organization at all.
    assert api(other_org_key.token).get("/api/v1/webhooks").status_code == 403


@pytest.mark.parametrize("endpoint_id", ["whe_doesnotexist0000000000", "whe_", "whe_%00"])
def test_unknown_ids_are_404(api, org_key, endpoint_id):
    assert api(org_key.token).get(f"/api/v1/webhooks/{endpoint_id}").status_code == 404


def test_the_schema_documents_every_operation(api):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = {op["operationId"]: set(op["responses"]) for path, item in schema["paths"].items()
             if path.startswith("/api/v1/webhooks") and "connectors" not in path and "/messages" not in path
             and not path.endswith("/recover") for op in item.values()}
    assert found == {
        "listWebhookEndpoints": {"200", "400", "401", "403", "429"},
        "createWebhookEndpoint": {"201", "400", "401", "403", "413", "415", "429"},
        "getWebhookEndpoint": {"200", "400", "401", "403", "404", "429"},
        "updateWebhookEndpoint": {"200", "400", "401", "403", "404", "413", "415", "429"},
        "deleteWebhookEndpoint": {"204", "400", "401", "403", "404", "429"},
        "rotateWebhookEndpointSecret": {"200", "400", "401", "403", "404", "413", "415", "429"},
        "testWebhookEndpoint": {"202", "400", "401", "403", "404", "409", "429"},
    }


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_rotations_keep_the_two_newest_secrets(api, org_key):
    client = api(org_key.token)
    item = created(client)

    def rotate():
        response = api(org_key.token).post(f"/api/v1/webhooks/{item['id']}/rotate-secret")
        return response.status_code, response.json()["item"]["secret"]

    for _ in range(5):
        (status_a, a), (status_b, b) = run_together(rotate, rotate)
        assert (status_a, status_b) == (200, 200)
        endpoint = WebhookEndpoint.objects.get(pk=item["id"])
        # One rotation ran after the other: no lost update leaves the older secret behind both.
        assert {endpoint.secret, endpoint.previous_secret} == {a, b}


# End to end: the API's test button and rotation, delivered to a real verifying receiver


def test_a_rotated_endpoints_deliveries_verify_with_the_new_secret_and_for_24_hours_the_old_one(
        api, org, org_key, receiver, time_machine):
    from tests.webhooks.receiver import seed_verify, standard_verify
    from webhooks.outbound import delivery, fanout

    time_machine.move_to(timezone.now(), tick=False)
    client = api(org_key.token)
    item = created(client, url=receiver.url, events=["invoice.*"])
    old = item["secret"]
    new = client.post(f"/api/v1/webhooks/{item['id']}/rotate-secret").json()["item"]["secret"]
    receiver.secrets = [new]

    def press_test():
        event_id = client.post(f"/api/v1/webhooks/{item['id']}/test").json()["item"]["eventId"]
        fanout.fan_out(org.pk)  # what the committed event's consumers do, run here in the test's transaction
        message = WebhookMessage.objects.get(event__public_id=event_id)
        assert message.endpoint_id == item["id"]
        delivery.deliver(message.pk)
        arrived = receiver.deliveries[-1]
        assert arrived.webhook_id == message.pk and arrived.payload["type"] == "webhook.test"
        assert arrived.payload["id"] == event_id and arrived.valid
        return arrived

    during = press_test()
    assert standard_verify(during.body, during.headers, old)  # a receiver not switched yet still verifies
    assert seed_verify(during.body, during.headers["x-plexica-signature-256"], new)
    assert seed_verify(during.body, during.headers["x-plexica-signature-256-previous"], old)
    time_machine.move_to(timezone.now() + timedelta(hours=24, seconds=1), tick=False)
    after = press_test()
    assert not standard_verify(after.body, after.headers, old)
    assert "x-plexica-signature-256-previous" not in after.headers


# The services' rule, for every kind of caller (tests/principals.py)


@pytest.mark.parametrize("kind", CALLERS)
def test_who_may_manage_endpoints_every_kind_of_caller(org, crm_plugin, kind):
    from plexica.errors import Forbidden

    caller = acting_as(kind, org, plugin=crm_plugin)
    admitted = kind in ORG_ADMINS or kind == "plugin key"
    if not admitted:
        with pytest.raises(Forbidden):
            endpoints.create_endpoint(caller, url=URL, events=["*"])
        with pytest.raises(Forbidden):
            endpoints.list_endpoints(caller)
        return
    endpoint, secret = endpoints.create_endpoint(caller, url=URL, events=["*"])
    assert endpoint.plugin == (crm_plugin if kind == "plugin key" else None)
    assert list(endpoints.list_endpoints(caller)) == [endpoint]
    assert endpoints.rotate_secret(caller, endpoint.pk)[1] != secret
    assert endpoints.send_test_event(caller, endpoint.pk).subject_id == endpoint.pk
    assert not endpoints.set_enabled(caller, endpoint.pk, False).enabled
    endpoints.delete_endpoint(caller, endpoint.pk)
    assert not endpoints.list_endpoints(caller).exists()
