"""/api/v1/webhooks/{endpoint_id}/messages, .../attempts, .../redeliver and .../recover."""

from datetime import timedelta

import pytest
from django.utils import timezone

from plexica.events.log import emit
from plexica.tenancy.principal import Principal
from tests.webhooks.receiver import eager_tasks_fixture, receiver_fixture  # noqa: F401  (fixtures)
from webhooks.outbound import delivery, fanout
from webhooks.outbound.endpoints import create_endpoint
from webhooks.outbound.models import WebhookMessage

pytestmark = pytest.mark.usefixtures("eager_tasks")

SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="


@pytest.fixture
def endpoint(org, receiver):
    receiver.secrets = [SECRET]
    return create_endpoint(Principal.system(org), url=receiver.url, events=["*"], secret=SECRET)[0]


@pytest.fixture
def sent(org, endpoint, receiver, settings):
    """Three messages: one succeeded, one failed (no retries), one pending."""
    settings.WEBHOOK_RETRY_SCHEDULE = []
    emit(None, "contact.created", data={"n": 1}, organization=org)
    emit(None, "invoice.paid", data={"n": 2}, organization=org)
    emit(None, "contact.updated", data={"n": 3}, organization=org)
    fanout.fan_out(org.pk)
    first, second, third = WebhookMessage.objects.order_by("position")
    delivery.deliver(first.pk)
    receiver.answer(500, body=b"nope")
    delivery.deliver(second.pk)
    return first, second, third


def base(endpoint):
    return f"/api/v1/webhooks/{endpoint.pk}"


def test_the_message_list_pages_newest_first_and_filters(api, org_key, endpoint, sent):
    client = api(org_key.token)
    body = client.get(f"{base(endpoint)}/messages").json()
    assert [m["id"] for m in body["items"]] == [m.pk for m in reversed(sent)] and body["nextCursor"] is None
    item = body["items"][-1]
    assert item["status"] == "succeeded" and item["attempts"] == 1 and item["lastStatusCode"] == 200
    assert item["eventId"].startswith("evt_") and item["eventType"] == "contact.created"
    assert [m["id"] for m in client.get(f"{base(endpoint)}/messages?status=failed").json()["items"]] == [sent[1].pk]
    contacts = client.get(f"{base(endpoint)}/messages?eventType=contact.*").json()["items"]
    assert {m["eventType"] for m in contacts} == {"contact.created", "contact.updated"}
    future = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert client.get(f"{base(endpoint)}/messages", {"since": future}).json()["items"] == []
    page = client.get(f"{base(endpoint)}/messages?limit=2").json()
    assert len(page["items"]) == 2 and page["nextCursor"]


@pytest.mark.parametrize("query, field", [("status=lost", "status"), ("eventType=a..b", "eventType"),
                                          ("since=yesterday", "since"), ("limit=0", "limit")])
def test_a_bad_filter_is_a_400_naming_it(api, org_key, endpoint, query, field):
    response = api(org_key.token).get(f"{base(endpoint)}/messages?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_a_message_comes_with_its_attempts(api, org_key, endpoint, sent):
    failed = sent[1]
    body = api(org_key.token).get(f"{base(endpoint)}/messages/{failed.pk}").json()["item"]
    assert body["status"] == "failed" and body["lastError"] == "HTTP 500"
    attempt, = body["attemptLog"]
    assert attempt["number"] == 1 and attempt["outcome"] == "failed" and attempt["statusCode"] == 500
    assert attempt["responseBody"] == "nope" and attempt["trigger"] == "scheduled" and attempt["durationMs"] >= 0
    listed = api(org_key.token).get(f"{base(endpoint)}/messages/{failed.pk}/attempts").json()
    assert listed["items"] == body["attemptLog"] and listed["nextCursor"] is None


def test_redeliver_answers_202_and_sends_it_again_with_its_webhook_id(api, org_key, endpoint, sent, receiver,
                                                                     django_capture_on_commit_callbacks):
    failed = sent[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org_key.token).post(f"{base(endpoint)}/messages/{failed.pk}/redeliver")
    assert response.status_code == 202
    assert response.json()["ok"] is True and response.json()["item"]["status"] == "pending"
    assert receiver.deliveries[-1].webhook_id == failed.pk and receiver.deliveries[-1].valid
    failed.refresh_from_db()
    assert failed.status == "succeeded" and failed.attempts == 2


def test_recover_answers_202_with_the_count(api, org_key, endpoint, sent, django_capture_on_commit_callbacks):
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org_key.token).post(f"{base(endpoint)}/recover", {"since": since}, format="json")
    assert response.status_code == 202
    assert response.json()["item"]["recovered"] == 1 and response.json()["item"]["endpointId"] == endpoint.pk
    assert WebhookMessage.objects.get(pk=sent[1].pk).status == "succeeded"


@pytest.mark.parametrize("body, field", [({}, "since"), ({"since": "soon"}, "since"),
                                         ({"since": "2026-01-01T00:00:00Z", "extra": 1}, "extra")])
def test_recover_refuses_a_bad_body_naming_the_field(api, org_key, endpoint, body, field):
    response = api(org_key.token).post(f"{base(endpoint)}/recover", body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["message"]


def test_recover_of_a_disabled_endpoint_is_a_409(api, org_key, endpoint):
    from webhooks.outbound.endpoints import set_enabled

    set_enabled(Principal.system(endpoint.organization), endpoint.pk, False)
    response = api(org_key.token).post(f"{base(endpoint)}/recover", {"since": "2026-01-01T00:00:00Z"},
                                       format="json")
    assert response.status_code == 409 and "disabled" in response.json()["error"]["message"]


def test_redeliver_of_a_cancelled_message_is_a_409(api, org_key, endpoint, sent):
    WebhookMessage.objects.filter(pk=sent[2].pk).update(status="cancelled")
    response = api(org_key.token).post(f"{base(endpoint)}/messages/{sent[2].pk}/redeliver")
    assert response.status_code == 409 and "cancelled" in response.json()["error"]["message"]


def test_another_organizations_endpoint_and_messages_are_unknown(api, other_org_key, endpoint, sent):
    client = api(other_org_key.token, tenant="globex")
    for path in ("/messages", f"/messages/{sent[0].pk}", f"/messages/{sent[0].pk}/attempts"):
        assert client.get(base(endpoint) + path).status_code == 404
    assert client.post(f"{base(endpoint)}/messages/{sent[1].pk}/redeliver").status_code == 404
    assert client.post(f"{base(endpoint)}/recover", {"since": "2026-01-01T00:00:00Z"}, format="json").status_code == 404
    # Nor through a foreign tenant header.
    assert api(other_org_key.token).get(f"{base(endpoint)}/messages").status_code == 403


def test_a_message_of_another_endpoint_is_unknown_under_this_one(api, org_key, org, endpoint, sent, receiver):
    other, _ = create_endpoint(Principal.system(org), url=receiver.url, events=["*"])
    assert api(org_key.token).get(f"/api/v1/webhooks/{other.pk}/messages/{sent[0].pk}").status_code == 404


def test_a_plugin_key_sees_only_its_plugins_endpoints_and_a_member_none(api, plugin_key, member_key, org, endpoint,
                                                                        sent, crm_plugin):
    assert api(plugin_key.token).get(f"{base(endpoint)}/messages").status_code == 404
    own, _ = create_endpoint(Principal(organization=org, api_key=plugin_key.key), url=endpoint.url, events=["*"])
    assert api(plugin_key.token).get(f"/api/v1/webhooks/{own.pk}/messages").json()["items"] == []
    assert api(member_key.token).get(f"{base(endpoint)}/messages").status_code == 403


def test_the_list_costs_the_same_queries_for_three_messages_or_thirty(api, org_key, org, endpoint, sent,
                                                                      django_assert_max_num_queries):
    client = api(org_key.token)
    client.get(f"{base(endpoint)}/messages")  # warm the key cache
    with django_assert_max_num_queries(12) as few:
        client.get(f"{base(endpoint)}/messages")
    for n in range(30):
        emit(None, "contact.created", data={"n": n}, organization=org)
    fanout.fan_out(org.pk)
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(f"{base(endpoint)}/messages").json()["items"]) == 33
