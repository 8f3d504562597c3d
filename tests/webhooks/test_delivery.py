"""Deliveries to a real receiver: signatures, body, retries on the schedule with a moved clock,
Retry-After, 410, auto-disable after days of failure, redirects, the network policy at connect time."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from plexica.events.log import emit
from plexica.events.models import Event
from plexica.tenancy.principal import Principal
from tests.webhooks.receiver import (
    receiver_fixture,  # noqa: F401  (the `receiver` fixture)
    seed_verify,
    standard_verify,
)
from webhooks.outbound import delivery, fanout, signing
from webhooks.outbound.endpoints import create_endpoint, rotate_secret
from webhooks.outbound.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="
STANDARD_DELAYS = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


def middle(rng_value=0.5):
    return lambda: rng_value


@pytest.fixture
def endpoint(org, receiver):
    receiver.secrets = [SECRET]
    return create_endpoint(Principal.system(org), url=receiver.url, events=["contact.*"], secret=SECRET)[0]


def emit_contact(org, n=1, type="contact.created"):
    return [emit(None, type, subject=("contact", f"c{i}"), data={"n": i, "name": "Zoë"}, organization=org)
            for i in range(n)]


def fan_out(org):
    fanout.fan_out(org.pk)
    return list(WebhookMessage.objects.filter(organization=org).order_by("position"))


def test_a_delivery_is_signed_both_ways_and_carries_the_event(org, endpoint, receiver):
    event, = emit_contact(org)
    message, = fan_out(org)

    attempt = delivery.deliver(message.pk, rng=middle())

    arrived, = receiver.deliveries
    assert arrived.standard_valid and arrived.seed_valid
    assert arrived.webhook_id == message.pk and message.pk.startswith("msg_")
    assert arrived.payload == {"id": event.public_id, "type": "contact.created",
                               "timestamp": signing.timestamp_text(event.occurred_at), "data": {"n": 0, "name": "Zoë"}}
    assert arrived.body == json.dumps(arrived.payload, separators=(",", ":"), ensure_ascii=False).encode()
    assert arrived.headers["content-type"] == "application/json"
    assert arrived.headers["user-agent"] == "Plexica-Webhooks/1"
    assert arrived.headers["webhook-signature"].startswith("v1,")
    assert attempt.outcome == WebhookAttempt.Outcome.SUCCEEDED and attempt.status_code == 200
    assert attempt.response_body == "ok" and attempt.number == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_status_code) == ("succeeded", 1, 200)


def test_a_plain_secret_signs_with_its_utf8_bytes(org, receiver):
    receiver.secrets = ["a-plain-shared-secret"]
    create_endpoint(Principal.system(org), url=receiver.url, events=["*"], secret="a-plain-shared-secret")
    emit_contact(org)
    message, = fan_out(org)
    delivery.deliver(message.pk)
    assert receiver.deliveries[0].valid


def test_after_a_rotation_both_secrets_sign_until_the_old_one_expires(org, endpoint, receiver):
    _, new_secret = rotate_secret(Principal.system(org), endpoint.pk)
    emit_contact(org, 2)
    first, second = fan_out(org)

    delivery.deliver(first.pk)
    got = receiver.deliveries[-1]
    assert got.headers["webhook-signature"].count("v1,") == 2
    assert got.valid  # the receiver still holds the old secret
    assert standard_verify(got.body, got.headers, new_secret)
    assert seed_verify(got.body, got.headers["x-plexica-signature-256"], new_secret)
    assert seed_verify(got.body, got.headers["x-plexica-signature-256-previous"], SECRET)
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        delivery.deliver(second.pk)
        late = receiver.deliveries[-1]
        assert late.headers["webhook-signature"].count("v1,") == 1
        assert "x-plexica-signature-256-previous" not in late.headers
        assert not late.valid and standard_verify(late.body, late.headers, new_secret)


def test_fan_out_matches_filters_skips_disabled_deleted_and_younger_endpoints(org, endpoint, receiver):
    system = Principal.system(org)
    other, _ = create_endpoint(system, url=receiver.url, events=["invoice.paid"])
    off, _ = create_endpoint(system, url=receiver.url, events=["*"], enabled=False)
    emit_contact(org)
    emit(None, "invoice.paid", data={}, organization=org)
    messages = fan_out(org)
    assert [(m.endpoint_id, m.event_type) for m in messages] == [(endpoint.pk, "contact.created"),
                                                                 (other.pk, "invoice.paid")]
    assert not WebhookMessage.objects.filter(endpoint=off).exists()


def deliver_at(message, moment):
    with time_machine.travel(moment, tick=False):
        return delivery.deliver(message.pk, rng=middle())


def test_failures_retry_on_the_standard_schedule_then_the_message_fails(org, endpoint, receiver, settings):
    assert settings.WEBHOOK_RETRY_SCHEDULE == STANDARD_DELAYS
    receiver.answer_always(500, body=b"boom")
    emit_contact(org)
    message, = fan_out(org)
    now = timezone.now()
    seen = []
    for number in range(1, 11):
        attempt = deliver_at(message, now)
        assert attempt is not None and attempt.number == number
        message.refresh_from_db()
        if number < 10:
            assert message.status == "pending"
            delay = (message.next_attempt_at - now).total_seconds()
            seen.append(round(delay))
            # Not claimable a moment before it is due.
            assert deliver_at(message, message.next_attempt_at - timedelta(seconds=0.5)) is None
            now = message.next_attempt_at
    assert seen == STANDARD_DELAYS  # rng 0.5: the jitter's middle
    assert (message.status, message.attempts, message.last_status_code) == ("failed", 10, 500)
    assert message.finished_at is not None
    attempts = list(WebhookAttempt.objects.filter(message=message).order_by("number"))
    assert [a.number for a in attempts] == list(range(1, 11))
    assert {a.outcome for a in attempts} == {"failed"} and attempts[0].response_body == "boom"
    assert len(receiver.ids()) == 1 and receiver.ids()[message.pk] == 10  # one webhook-id on every attempt


def test_the_jitter_spreads_a_retry_by_a_fifth_either_way(org, endpoint, receiver):
    receiver.answer_always(500)
    emit_contact(org, 2)
    low, high = fan_out(org)
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        delivery.deliver(low.pk, rng=lambda: 0.0)
        delivery.deliver(high.pk, rng=lambda: 0.999999)
    low.refresh_from_db()
    high.refresh_from_db()
    assert round((low.next_attempt_at - now).total_seconds(), 2) == 4.0
    assert round((high.next_attempt_at - now).total_seconds(), 2) == 6.0


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_obeyed(org, endpoint, receiver, status):
    receiver.answer(status, headers={"Retry-After": "120"})
    emit_contact(org)
    message, = fan_out(org)
    now = timezone.now()
    deliver_at(message, now)
    message.refresh_from_db()
    assert round((message.next_attempt_at - now).total_seconds()) == 120  # not the schedule's 5 s


def test_retry_after_as_an_http_date_is_obeyed_and_capped_at_an_hour(org, endpoint, receiver):
    from email.utils import format_datetime

    now = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    receiver.answer(429, headers={"Retry-After": format_datetime(now + timedelta(minutes=10), usegmt=True)})
    receiver.answer(503, headers={"Retry-After": "86400"})
    emit_contact(org)
    message, = fan_out(org)
    deliver_at(message, now)
    message.refresh_from_db()
    assert round((message.next_attempt_at - now).total_seconds()) == 600
    later = message.next_attempt_at
    deliver_at(message, later)
    message.refresh_from_db()
    assert round((message.next_attempt_at - later).total_seconds()) == 3600


def test_retry_after_is_ignored_on_other_statuses(org, endpoint, receiver):
    receiver.answer(500, headers={"Retry-After": "600"})
    emit_contact(org)
    message, = fan_out(org)
    now = timezone.now()
    deliver_at(message, now)
    message.refresh_from_db()
    assert round((message.next_attempt_at - now).total_seconds()) == 5


def test_410_gone_disables_the_endpoint_at_once_and_fails_its_open_messages(org, endpoint, receiver):
    receiver.answer(410)
    emit_contact(org, 3)
    first, second, _third = fan_out(org)

    delivery.deliver(first.pk)

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "gone")
    assert set(WebhookMessage.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"failed"}
    disabled = Event.objects.get(organization=org, type="webhook.endpoint.disabled")
    assert (disabled.subject_type, disabled.subject_id, disabled.actor_type) == ("webhook_endpoint", endpoint.pk,
                                                                                   "system")
    assert disabled.data["reason"] == "gone" and disabled.data["url"] == endpoint.url
    assert delivery.deliver(second.pk) is None and len(receiver.deliveries) == 1


def test_five_days_of_continuous_failure_disable_the_endpoint_and_emit_the_event(org, endpoint, receiver, settings):
    receiver.answer_always(500)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        emit_contact(org)
        message, = fan_out(org)
        delivery.deliver(message.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == start and endpoint.enabled
    # A new event every day, failing every time: still enabled just before five days have passed.
    for day in range(1, 5):
        with time_machine.travel(start + timedelta(days=day), tick=False):
            emit_contact(org, type="contact.updated")
            fresh = fan_out(org)[-1]
            delivery.deliver(fresh.pk)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since == start
    assert not Event.objects.filter(type="webhook.endpoint.disabled").exists()
    with time_machine.travel(start + timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS, minutes=1), tick=False):
        emit_contact(org, type="contact.deleted")
        last = fan_out(org)[-1]
        delivery.deliver(last.pk)
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "failing")
    event = Event.objects.get(organization=org, type="webhook.endpoint.disabled")
    assert event.data["reason"] == "failing"
    assert not WebhookMessage.objects.filter(endpoint=endpoint, status__in=["pending", "sending"]).exists()


def test_a_success_ends_the_failing_run(org, endpoint, receiver):
    receiver.answer(500)
    emit_contact(org)
    message, = fan_out(org)
    delivery.deliver(message.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    message.refresh_from_db()
    deliver_at(message, message.next_attempt_at + timedelta(seconds=1))
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    message.refresh_from_db()
    assert message.status == "succeeded"


def test_a_redirect_is_not_followed_and_counts_as_a_failure(org, endpoint, receiver):
    receiver.answer(302, headers={"Location": receiver.url + "/elsewhere"})
    emit_contact(org)
    message, = fan_out(org)
    attempt = delivery.deliver(message.pk)
    assert attempt.outcome == "failed" and attempt.status_code == 302
    assert "redirects are not followed" in attempt.error
    assert len(receiver.deliveries) == 1  # the Location was not fetched
    message.refresh_from_db()
    assert message.status == "pending"


def test_a_receiver_that_hangs_past_the_timeout_is_a_failed_attempt(org, endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answer(200, hang=1.0)
    emit_contact(org)
    message, = fan_out(org)
    attempt = delivery.deliver(message.pk)
    assert attempt.outcome == "failed" and attempt.status_code is None
    assert "No answer within 0.3 s" in attempt.error
    message.refresh_from_db()
    assert message.status == "pending" and message.last_error == attempt.error


def test_only_the_first_4_kib_of_an_answer_are_kept(org, endpoint, receiver):
    receiver.answer(200, body=b"x" * 100_000)
    emit_contact(org)
    message, = fan_out(org)
    attempt = delivery.deliver(message.pk)
    assert attempt.outcome == "succeeded" and len(attempt.response_body) == 4096


def test_an_address_refused_by_the_policy_at_connect_time_fails_the_attempt(org, endpoint, receiver, settings):
    emit_contact(org)
    message, = fan_out(org)
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # 127.0.0.1 was allowed when the endpoint was created
    attempt = delivery.deliver(message.pk)
    assert attempt.outcome == "failed" and attempt.status_code is None
    assert attempt.error.startswith("Refused by the network policy: address 127.0.0.1 is not public")
    assert receiver.deliveries == []


def test_a_name_resolving_to_a_link_local_address_is_refused_whatever_the_allowed_networks(
    org, receiver, settings, monkeypatch
):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "169.254.0.0/16"]
    # Created directly: the name does not resolve here, so the creation check would refuse it.
    WebhookEndpoint.objects.create(organization=org, url=f"http://hooks.example.test:{receiver.port}/x",
                                              event_types=["*"], secret=SECRET)
    # A DNS answer pointing at the metadata address cannot be produced on this machine otherwise.
    monkeypatch.setattr("webhooks.outbound.client.resolve", lambda host, port: ["169.254.169.254"])
    emit_contact(org)
    message, = fan_out(org)
    attempt = delivery.deliver(message.pk)
    assert attempt.outcome == "failed"
    assert "169.254.169.254 is in a network that is never allowed" in attempt.error
    assert receiver.deliveries == []


def test_a_message_of_a_disabled_or_deleted_endpoint_is_not_sent(org, endpoint, receiver):
    from webhooks.outbound.endpoints import delete_endpoint

    emit_contact(org, 2)
    first, second = fan_out(org)
    # Disabled after its messages were made (a worker may hold one already): it fails without an attempt.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="manual")
    assert delivery.deliver(first.pk) is None
    first.refresh_from_db()
    assert first.status == "failed" and "disabled" in first.last_error and first.attempts == 0
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True, disabled_reason="")
    delete_endpoint(Principal.system(org), endpoint.pk)
    second.refresh_from_db()
    assert second.status == "cancelled"
    assert delivery.deliver(second.pk) is None
    assert receiver.deliveries == []
