"""The public webhook ingress: secret, body cap, signature, headers, JSON, storage once, in that order."""

import io
import json
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plexica.errors import Invalid, PayloadTooLarge
from plexica.tenancy.services import ensure_user
from tests.concurrency import run_together
from tests.webhooks import FORM, SECRET, URL, deliver, push_payload, sign
from webhooks.inbound.models import WebhookDelivery
from webhooks.inbound.providers import (
    HandlerResult,
    WebhookProvider,
    hmac_sha256_signature_valid,
    register_provider,
)
from webhooks.inbound.services import read_capped_body

pytestmark = pytest.mark.django_db

PUSH = push_payload(4242, "acme/skills", 777)  # no target follows it: accepted, nothing queued


@pytest.fixture
def webhook_secret(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    return SECRET


def _stored():
    return WebhookDelivery.objects.count()


def test_a_correctly_signed_push_is_accepted_and_stored_with_its_raw_body(webhook_secret):
    body = json.dumps(PUSH, indent=1).encode()  # GitHub's exact bytes, whitespace included
    response = deliver("push", body=body, delivery_id="d-1")

    assert response.status_code == 202
    assert response.json() == {"ok": True, "accepted": True, "deliveryId": "d-1", "event": "push",
                               "queued": 0}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.provider, delivery.delivery_id, delivery.event) == ("github", "d-1", "push")
    assert bytes(delivery.body) == body
    assert delivery.signature_valid
    assert delivery.status == WebhookDelivery.Status.IGNORED
    assert "no active target" in delivery.result["reason"]
    assert delivery.headers["X-GitHub-Delivery"] == "d-1"
    assert delivery.headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert delivery.processed_at is not None


@pytest.mark.parametrize("signature_of", [
    pytest.param(lambda body: sign(body, "another-secret"), id="wrong secret"),
    pytest.param(lambda body: "", id="missing header"),
    pytest.param(lambda body: "sha1=" + sign(body)[len("sha256="):], id="sha1 prefix"),
    pytest.param(lambda body: sign(body)[len("sha256="):], id="no prefix"),
    pytest.param(lambda body: "sha256=", id="empty digest"),
    pytest.param(lambda body: "sha256=zz\u00e9", id="not hex"),
])
def test_a_delivery_without_a_valid_signature_is_refused_and_not_stored(webhook_secret, signature_of):
    body = json.dumps(PUSH).encode()
    response = deliver("push", body=body, signature=signature_of(body))
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "invalid signature"}
    assert _stored() == 0


def test_a_tampered_body_fails_the_signature_of_the_original(webhook_secret):
    original = json.dumps(PUSH).encode()
    tampered = original.replace(b"acme/skills", b"evil/skills")
    response = deliver("push", body=tampered, signature=sign(original))
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "invalid signature"}
    assert _stored() == 0


def test_without_a_configured_secret_the_ingress_is_unavailable_and_says_what_is_missing(settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    response = deliver("push", PUSH)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "webhook_secret_missing"
    assert "GITHUB_WEBHOOK_SECRET" in error["message"]
    assert error["requestId"] == response["X-Request-ID"]
    assert _stored() == 0


def test_a_body_over_the_cap_is_refused_before_its_signature_is_checked(settings, webhook_secret):
    settings.WEBHOOK_MAX_BODY_BYTES = 2048
    body = json.dumps({**PUSH, "padding": "x" * 4096}).encode()
    for signature in (sign(body), "sha256=" + "0" * 64):
        response = deliver("push", body=body, signature=signature)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert "2048 bytes" in response.json()["error"]["message"]
    assert _stored() == 0
    # Right at the cap is fine.
    exact = json.dumps({**PUSH, "padding": ""}).encode()
    exact = json.dumps({**PUSH, "padding": "x" * (2048 - len(exact))}).encode()
    assert len(exact) == 2048
    assert deliver("push", body=exact).status_code == 202


def test_a_streamed_body_longer_than_it_declared_or_without_a_length_is_cut_at_the_cap():
    with pytest.raises(PayloadTooLarge):
        read_capped_body(io.BytesIO(b"x" * 1025), None, 1024)
    with pytest.raises(PayloadTooLarge):
        read_capped_body(io.BytesIO(b"x" * 1025), "10", 1024)  # a lying Content-Length does not help
    with pytest.raises(PayloadTooLarge):
        read_capped_body(io.BytesIO(b""), str(10**12), 1024)  # refused without reading
    with pytest.raises(Invalid):
        read_capped_body(io.BytesIO(b"{}"), "two", 1024)
    assert read_capped_body(io.BytesIO(b"x" * 1024), None, 1024) == b"x" * 1024


@pytest.mark.parametrize("event, delivery_id, reason", [
    ("ping", None, "event ping is not handled"),
    ("pull_request", None, "event pull_request is not handled"),
    (None, None, "missing header X-GitHub-Event"),
    ("push", "", "missing header X-GitHub-Delivery"),
    (None, "", "missing header X-GitHub-Event and X-GitHub-Delivery"),
])
def test_a_verified_delivery_we_do_not_handle_is_answered_200_not_accepted(webhook_secret, event, delivery_id,
                                                                            reason):
    response = deliver(event, {"zen": "Keep it logically awesome.", "hook_id": 1}, delivery_id=delivery_id)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "accepted": False, "reason": reason}


def test_an_unhandled_event_is_kept_once_as_ignored_without_being_parsed(webhook_secret):
    body = b"not even json"  # never parsed: the event is not handled
    assert deliver("ping", body=body, delivery_id="ping-1").status_code == 200
    assert deliver("ping", body=body, delivery_id="ping-1").status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.status, delivery.result) == (
        "ping", WebhookDelivery.Status.IGNORED, {"reason": "event ping is not handled"})


def test_a_signed_delivery_whose_headers_are_missing_is_not_stored(webhook_secret):
    deliver(None, PUSH)
    deliver("push", PUSH, delivery_id="")
    assert _stored() == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"n": NaN}', b"\xff\xfe{}", b"",
                                  b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"])
def test_malformed_json_with_a_valid_signature_is_a_400_and_nothing_is_stored(webhook_secret, body):
    response = deliver("push", body=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert _stored() == 0


# form-encoded deliveries: what GitHub sends when a hook's content type is "form"

@pytest.mark.parametrize("content_type", [FORM, FORM + "; charset=utf-8"])
def test_a_form_encoded_delivery_is_accepted_like_its_json_and_stored_with_its_raw_body(webhook_secret,
                                                                                       content_type):
    body = urlencode({"payload": json.dumps(PUSH)}).encode()
    response = deliver("push", body=body, delivery_id="form-1", content_type=content_type)
    assert response.status_code == 202
    assert response.json() == {"ok": True, "accepted": True, "deliveryId": "form-1", "event": "push",
                               "queued": 0}
    delivery = WebhookDelivery.objects.get()
    assert bytes(delivery.body) == body
    assert "no active target follows refs/heads/main of repository 4242" in delivery.result["reason"]


def test_a_form_encoded_delivery_is_verified_over_its_raw_body_not_over_the_json_inside(webhook_secret):
    payload = json.dumps(PUSH)
    body = urlencode({"payload": payload}).encode()
    response = deliver("push", body=body, signature=sign(payload.encode()), content_type=FORM)
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "invalid signature"}
    assert _stored() == 0


@pytest.mark.parametrize(("body", "code", "message"), [
    (b"zen=Design+for+failure.", "invalid_form", "A form-encoded delivery needs a payload field."),
    (urlencode({"data": json.dumps(PUSH)}).encode(), "invalid_form",
     "A form-encoded delivery needs a payload field."),
    (urlencode([("payload", json.dumps(PUSH))] * 2).encode(), "invalid_form",
     "A form-encoded delivery has more than one payload field."),
    (b"payload=%ff%fe", "invalid_form", "Malformed form body:"),
    (b"payload=\xff", "invalid_form", "Malformed form body:"),
    (urlencode({"payload": "{not json"}).encode(), "invalid_json", "Malformed JSON in the payload field:"),
    (b"payload=", "invalid_json", "Malformed JSON in the payload field:"),
    (urlencode({"payload": "[1, 2]"}).encode(), "invalid_json", "The payload must be a JSON object."),
])
def test_a_form_encoded_delivery_without_a_usable_payload_field_is_a_400_naming_the_problem(
        webhook_secret, body, code, message):
    response = deliver("push", body=body, content_type=FORM)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"][:len(message)]) == (code, message)
    assert _stored() == 0


def test_a_push_without_the_fields_it_needs_is_a_400_naming_the_field(webhook_secret):
    payload = {**PUSH, "repository": {"full_name": "acme/skills"}}
    response = deliver("push", payload)
    assert response.status_code == 400
    assert "repository.id" in response.json()["error"]["message"]
    assert _stored() == 0


def test_a_redelivery_of_the_same_id_is_a_duplicate_and_stored_once(webhook_secret):
    first = deliver("push", PUSH, delivery_id="same")
    again = deliver("push", PUSH, delivery_id="same")
    assert first.status_code == again.status_code == 202
    assert "duplicate" not in first.json()
    assert again.json() == {"ok": True, "accepted": True, "deliveryId": "same", "event": "push", "queued": 0,
                            "duplicate": True}
    assert _stored() == 1


def test_the_same_delivery_id_from_another_provider_is_another_delivery(webhook_secret, flaky_provider):
    deliver("push", PUSH, delivery_id="shared-id")
    response = _flaky("shared-id", {"ok": 1})
    assert response.status_code == 202
    assert sorted(WebhookDelivery.objects.values_list("provider", flat=True)) == ["flaky", "github"]


def test_get_is_a_json_405_and_an_unknown_provider_a_json_404(webhook_secret):
    response = Client().get(URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    response = Client().post(URL.replace("github", "gitlab"), data=b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_ingress_needs_no_api_key_or_tenant_and_echoes_the_request_id(webhook_secret):
    response = deliver("push", PUSH, headers={"X-Request-ID": "req-42", "Authorization": "Bearer nonsense"})
    assert response.status_code == 202
    assert response["X-Request-ID"] == "req-42"


def test_signature_check_is_over_bytes_and_constant_time_safe_for_any_header():
    assert hmac_sha256_signature_valid(b"body", sign(b"body"), SECRET)
    assert hmac_sha256_signature_valid(b"body", sign(b"body").upper().replace("SHA256=", "sha256="), SECRET)
    assert not hmac_sha256_signature_valid(b"body", "sha256=\u00ff" * 3, SECRET)
    assert not hmac_sha256_signature_valid(b"body", sign(b"body"), "")


# A second provider, registered like GitHub is, for the generic failure paths no GitHub payload can produce.

class FlakyHandler:
    def __init__(self):
        self.fail_next = False

    def __call__(self, delivery, payload):
        from connectors.models import ConnectorAccount
        from plexica.tenancy.services import create_organization

        if payload.get("unusable"):
            raise Invalid("Missing or invalid field: thing")
        org, _ = create_organization(f"flaky-{delivery.delivery_id}", "Flaky")
        ConnectorAccount.objects.create(organization=org, installation_id=1)  # rolled back if we then fail
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("upstream exploded")
        return HandlerResult(changed=1, details={"org": org.slug})


@pytest.fixture
def flaky_provider(settings):
    from webhooks.inbound import providers

    settings.FLAKY_WEBHOOK_SECRET = SECRET
    handler = FlakyHandler()
    register_provider(WebhookProvider(
        name="flaky", secret_setting="FLAKY_WEBHOOK_SECRET",
        verify_signature=lambda body, headers, secret: hmac_sha256_signature_valid(
            body, headers.get("X-Hub-Signature-256", ""), secret),
        event_header="X-Flaky-Event", delivery_header="X-Flaky-Delivery", handled_events=frozenset({"thing"}),
        handle=handler,
    ))
    yield handler
    providers._providers.pop("flaky")


def _flaky(delivery_id, payload, client=None):
    body = json.dumps(payload).encode()
    return (client or Client()).post(
        "/api/v1/webhooks/connectors/flaky", data=body, content_type="application/json",
        headers={"X-Flaky-Event": "thing", "X-Flaky-Delivery": delivery_id,
                 "X-Hub-Signature-256": sign(body)},
    )


def test_a_failing_handler_keeps_the_delivery_as_failed_and_its_redelivery_retries_it(flaky_provider):
    from connectors.models import ConnectorAccount

    flaky_provider.fail_next = True
    response = _flaky("f-1", {"n": 1})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "webhook_handler_failed"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "upstream exploded" in delivery.error
    assert not ConnectorAccount.objects.exists()  # the handler's half-done work was rolled back

    response = _flaky("f-1", {"n": 2})
    assert response.status_code == 202
    assert "duplicate" not in response.json()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == (WebhookDelivery.Status.PROCESSED, "")
    assert json.loads(bytes(delivery.body)) == {"n": 2}  # the row holds what was handled last
    assert ConnectorAccount.objects.count() == 1

    assert _flaky("f-1", {"n": 3}).json()["duplicate"] is True
    assert ConnectorAccount.objects.count() == 1


def test_a_payload_its_handler_cannot_use_is_a_400_and_not_stored(flaky_provider):
    response = _flaky("f-2", {"unusable": True})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Missing or invalid field: thing"
    assert _stored() == 0


def test_an_accepted_delivery_costs_a_bounded_number_of_queries(webhook_secret):
    with CaptureQueriesContext(connection) as queries:
        assert deliver("push", PUSH).status_code == 202
    # insert the delivery (in a savepoint), find targets, record the result
    statements = [q["sql"] for q in queries.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) <= 3, statements


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_deliveries_of_one_id_store_one_row_and_one_is_the_duplicate(webhook_secret):
    for round_ in range(10):
        delivery_id = f"race-{round_}"
        body = json.dumps(PUSH).encode()
        def send(delivery_id=delivery_id, body=body):
            return deliver("push", body=body, delivery_id=delivery_id)

        responses = run_together(send, send, send)
        assert [r.status_code for r in responses] == [202, 202, 202]
        assert sorted(r.json().get("duplicate", False) for r in responses) == [False, True, True]
        assert WebhookDelivery.objects.filter(delivery_id=delivery_id).count() == 1


def test_superusers_read_deliveries_in_the_admin_and_nobody_edits_them(webhook_secret, client, org_admin):
    deliver("push", PUSH, delivery_id="adm-1")
    delivery = WebhookDelivery.objects.get()
    superuser, _ = ensure_user("root", password="correct-horse-battery", is_staff=True, is_superuser=True)
    client.force_login(superuser)

    changelist = client.get(reverse("admin:webhooks_webhookdelivery_changelist"))
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert "adm-1" in page and "no active target follows" in page
    detail = client.get(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
    assert detail.status_code == 200
    assert "acme/skills" in detail.content.decode()  # the body, readable
    assert client.post(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]),
                       {"status": "failed"}).status_code == 403
    assert client.get(reverse("admin:webhooks_webhookdelivery_add")).status_code == 403
    assert client.post(reverse("admin:webhooks_webhookdelivery_delete", args=[delivery.pk]),
                       {"post": "yes"}).status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.IGNORED

    client.force_login(org_admin.user)  # staff, an org's admin: deliveries span orgs, so not theirs to read
    assert client.get(reverse("admin:webhooks_webhookdelivery_changelist")).status_code == 403


@pytest.mark.parametrize("action", ["dele\u0000ted", "\ud800"])
def test_an_action_a_row_cannot_hold_is_a_400_and_stores_nothing(webhook_secret, action):
    payload = {"action": action, "installation": {"id": 777}}
    response = deliver("installation", payload)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"] == {"field": "action"}
    assert _stored() == 0


def test_the_openapi_description_of_the_ingress_accepts_json_and_form_bodies(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/webhooks/connectors/{provider}"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", FORM}
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["$ref"]
    assert "payload" in schema["components"]["schemas"][form.rsplit("/", 1)[1]]["properties"]
