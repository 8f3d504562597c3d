"""The delivery flow around single attempts: ordered endpoints, the beat job's pick-up of retries and
abandoned messages, redelivery and recovery, the whole chain from emit() after commit, query counts."""

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from plexica.errors import Conflict
from plexica.events.log import emit
from plexica.tenancy.principal import Principal
from tests.webhooks.receiver import eager_tasks_fixture, receiver_fixture  # noqa: F401  (fixtures)
from webhooks.outbound import delivery, fanout, messages
from webhooks.outbound.endpoints import create_endpoint, delete_endpoint, set_enabled
from webhooks.outbound.models import WebhookAttempt, WebhookMessage

pytestmark = pytest.mark.usefixtures("eager_tasks")

SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="


@pytest.fixture
def make_endpoint(org, receiver):
    receiver.secrets = [SECRET]

    def make(**options):
        options.setdefault("events", ["*"])
        return create_endpoint(Principal.system(org), url=receiver.url, secret=SECRET, **options)[0]

    return make


def emit_many(org, n, type="contact.created"):
    return [emit(None, type, data={"n": i}, organization=org) for i in range(n)]


def fanned_out(org, endpoint=None):
    fanout.fan_out(org.pk)
    queryset = WebhookMessage.objects.filter(organization=org).order_by("position")
    return list(queryset.filter(endpoint=endpoint) if endpoint else queryset)


def later(seconds):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


# --- Ordered endpoints -------------------------------------------------------------------------------


def test_an_ordered_endpoints_next_message_waits_until_the_previous_succeeds(org, make_endpoint, receiver):
    make_endpoint(ordered=True)
    emit_many(org, 3)
    first, second, third = fanned_out(org)
    receiver.answer(500)

    delivery.deliver(first.pk)  # fails: retried in 5 s
    assert delivery.deliver(second.pk) is None  # held back behind the first
    assert delivery.due_message_ids(timezone.now() + timedelta(minutes=1)) == [first.pk]

    with later(10):
        delivery.deliver(first.pk)
        assert delivery.deliver(second.pk) is not None  # the first succeeded
        delivery.deliver(third.pk)
    order = [d.payload["data"]["n"] for d in receiver.deliveries]
    assert order == [0, 0, 1, 2]


def test_an_ordered_endpoint_moves_on_when_a_message_exhausts_its_retries(org, make_endpoint, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 1]
    make_endpoint(ordered=True)
    emit_many(org, 2)
    first, second = fanned_out(org)
    receiver.answer(500, times=3)
    now = timezone.now()
    for step in range(3):
        with time_machine.travel(now + timedelta(seconds=2 * step), tick=False):
            assert delivery.deliver(first.pk) is not None
            assert delivery.deliver(second.pk) is None or step == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "failed" and second.status == "succeeded"
    assert [d.payload["data"]["n"] for d in receiver.deliveries] == [0, 0, 0, 1]


@pytest.mark.django_db(transaction=True)
def test_an_ordered_endpoint_gets_a_burst_in_order_through_the_queue_under_failures(org, make_endpoint, receiver,
                                                                                   settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0, 0, 0, 0]
    make_endpoint(ordered=True)
    receiver.fail_randomly(0.3)
    receiver.random.seed(7)
    with transaction.atomic():
        emit_many(org, 20)
    # Eager mode: the commit fanned out and sent the first; each end enqueued the next. Retries wait for
    # the beat job (due at once with this schedule).
    for _ in range(200):
        if not WebhookMessage.objects.filter(status="pending").exists():
            break
        for message_id in delivery.due_message_ids():
            delivery.deliver(message_id)
    statuses = set(WebhookMessage.objects.values_list("status", flat=True))
    assert statuses <= {"succeeded", "failed"}
    succeeded = [d.payload["data"]["n"] for d in receiver.deliveries if d.answered == 200]
    assert succeeded == sorted(succeeded)
    # Strict order: no message was attempted before every earlier one had finished.
    arrivals = [d.payload["data"]["n"] for d in receiver.deliveries]
    assert arrivals == sorted(arrivals)


# --- The beat job ------------------------------------------------------------------------------------


def test_the_beat_job_picks_up_due_retries_and_abandoned_messages_not_fresh_ones(org, make_endpoint, receiver):
    make_endpoint()
    emit_many(org, 3)
    retry, abandoned, fresh = fanned_out(org)
    receiver.answer(500)
    delivery.deliver(retry.pk)
    now = timezone.now()
    assert delivery.claim(abandoned.pk, now)  # a worker claimed it, then died
    assert delivery.due_message_ids(now + timedelta(seconds=1)) == []
    assert delivery.due_message_ids(now + timedelta(seconds=10)) == [retry.pk]
    after_lease = now + delivery.lease() + timedelta(seconds=1)
    assert set(delivery.due_message_ids(after_lease)) == {retry.pk, abandoned.pk, fresh.pk}

    with time_machine.travel(after_lease, tick=False):
        attempt = delivery.deliver(abandoned.pk)
    assert attempt.number == 2 and attempt.outcome == "succeeded"  # the dead worker's claim counted once


def test_a_worker_that_lost_its_lease_changes_nothing_on_release(org, make_endpoint, receiver):
    make_endpoint()
    emit_many(org, 1)
    message, = fanned_out(org)
    now = timezone.now()
    assert delivery.claim(message.pk, now)
    stale = WebhookMessage.objects.get(pk=message.pk)
    with time_machine.travel(now + delivery.lease() + timedelta(seconds=1), tick=False):
        delivery.deliver(message.pk)  # taken over and finished
    assert delivery.MESSAGES.release(stale, status="failed") is False
    message.refresh_from_db()
    assert message.status == "succeeded"


# --- Redeliver and recover ---------------------------------------------------------------------------


def test_redeliver_sends_a_failed_message_again_with_the_same_webhook_id(org, make_endpoint, receiver, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    endpoint = make_endpoint()
    emit_many(org, 1)
    message, = fanned_out(org)
    receiver.answer(500)
    delivery.deliver(message.pk)
    message.refresh_from_db()
    assert message.status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        pending = messages.redeliver(Principal.system(org), endpoint.pk, message.pk)
    assert pending.status == "pending"
    message.refresh_from_db()
    assert message.status == "succeeded"
    assert [d.webhook_id for d in receiver.deliveries] == [message.pk, message.pk]
    last = WebhookAttempt.objects.filter(message=message).order_by("-number").first()
    assert (last.number, last.trigger, last.outcome) == (2, "manual", "succeeded")


def test_redeliver_a_succeeded_message_makes_a_new_attempt(org, make_endpoint, receiver,
                                                           django_capture_on_commit_callbacks):
    endpoint = make_endpoint()
    emit_many(org, 1)
    message, = fanned_out(org)
    delivery.deliver(message.pk)
    with django_capture_on_commit_callbacks(execute=True):
        messages.redeliver(Principal.system(org), endpoint.pk, message.pk)
    assert receiver.ids()[message.pk] == 2


def test_redeliver_refuses_cancelled_in_flight_and_disabled(org, make_endpoint, receiver):
    system = Principal.system(org)
    endpoint = make_endpoint()
    emit_many(org, 2)
    first, second = fanned_out(org)
    assert delivery.claim(first.pk, timezone.now())
    with pytest.raises(Conflict, match="being delivered"):
        messages.redeliver(system, endpoint.pk, first.pk)
    set_enabled(system, endpoint.pk, False)
    with pytest.raises(Conflict, match="disabled"):
        messages.redeliver(system, endpoint.pk, second.pk)
    other = make_endpoint()
    emit_many(org, 1)
    third, = fanned_out(org, other)
    delete_endpoint(system, other.pk)
    with pytest.raises(Exception, match="No webhook endpoint"):  # a deleted endpoint is gone
        messages.redeliver(system, other.pk, third.pk)
    assert WebhookMessage.objects.get(pk=third.pk).status == "cancelled"


def test_recover_sends_every_failed_message_since_a_time_again(org, make_endpoint, receiver, settings,
                                                              django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    start = timezone.now()
    with time_machine.travel(start - timedelta(hours=3), tick=False):
        endpoint = make_endpoint()
    with time_machine.travel(start - timedelta(hours=2), tick=False):
        emit_many(org, 1, type="contact.old")
        old, = fanned_out(org)
        receiver.answer(500)
        delivery.deliver(old.pk)
    with time_machine.travel(start, tick=False):
        emit_many(org, 3)
        recent = fanned_out(org)[1:]
        receiver.answer(500, times=2)
        for message in recent:
            delivery.deliver(message.pk)
    assert sorted(WebhookMessage.objects.values_list("status", flat=True)) == ["failed"] * 3 + ["succeeded"]

    with django_capture_on_commit_callbacks(execute=True):
        count = messages.recover(Principal.system(org), endpoint.pk, start - timedelta(minutes=1))
    assert count == 2
    assert WebhookMessage.objects.get(pk=old.pk).status == "failed"  # before `since`
    assert WebhookMessage.objects.filter(status="succeeded").count() == 3
    triggers = set(WebhookAttempt.objects.filter(trigger="recover").values_list("message_id", flat=True))
    assert triggers == {m.pk for m in recent[:2]}


# --- The whole chain after commit --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_reaches_the_receiver_and_a_rolled_back_one_does_not(org, make_endpoint, receiver):
    make_endpoint(events=["contact.*"])
    with transaction.atomic():
        emit(None, "contact.created", data={"kept": True}, organization=org)
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(None, "contact.created", data={"kept": False}, organization=org)
        raise RuntimeError
    arrived, = receiver.deliveries
    assert arrived.payload["data"] == {"kept": True} and arrived.valid
    assert WebhookMessage.objects.get().status == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_a_test_event_goes_only_to_its_endpoint_even_when_its_filters_do_not_match(org, make_endpoint, receiver):
    from webhooks.outbound.endpoints import send_test_event

    target = make_endpoint(events=["invoice.*"])
    make_endpoint(events=["*"])
    send_test_event(Principal.system(org), target.pk)
    arrived, = receiver.deliveries
    assert arrived.payload["type"] == "webhook.test"
    assert WebhookMessage.objects.get().endpoint_id == target.pk


# --- Query counts ------------------------------------------------------------------------------------


def test_fan_out_costs_the_same_queries_for_one_event_or_two_hundred(org, make_endpoint):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        make_endpoint(events=["contact.*"])
    fanout.fan_out(org.pk)  # the consumer's cursor exists from its first run on
    emit_many(org, 1)
    with CaptureQueriesContext(connection) as one:
        fanout.fan_out(org.pk)
    emit_many(org, 200)
    with CaptureQueriesContext(connection) as many:
        fanout.fan_out(org.pk)
    assert WebhookMessage.objects.count() == 3 * 201
    inserts = [q for q in many.captured_queries
               if q["sql"].startswith("INSERT") and "webhooks_webhookmessage" in q["sql"][:60]]
    # The same statements, whatever the batch holds; only the insert may be split by the backend's
    # parameter limit.
    assert len(many) - len(inserts) == len(one) - 1 and len(one) <= 12


def test_an_attempt_costs_a_handful_of_queries(org, make_endpoint, receiver, django_assert_max_num_queries):
    make_endpoint()
    emit_many(org, 1)
    message, = fanned_out(org)
    # Claim, read, insert the attempt, release (plus the test transaction's savepoint and its release).
    with django_assert_max_num_queries(6):
        delivery.deliver(message.pk)


def test_the_beat_job_reads_due_messages_in_one_query(org, make_endpoint, django_assert_num_queries):
    make_endpoint(ordered=True)
    make_endpoint()
    emit_many(org, 50)
    fanned_out(org)
    with django_assert_num_queries(1):
        ids = delivery.due_message_ids(timezone.now() + timedelta(minutes=5))
    assert len(ids) == 51  # 50 of the unordered endpoint, the first of the ordered one


def test_the_beat_job_enqueues_a_due_message_once_per_attempt_not_at_every_run(org, make_endpoint, receiver):
    make_endpoint()
    emit_many(org, 1)
    message, = fanned_out(org)
    receiver.answer(500)
    delivery.deliver(message.pk)
    due = delivery.due_messages(timezone.now() + timedelta(seconds=10))
    assert delivery.not_recently_enqueued(due) == [message.pk]
    assert delivery.not_recently_enqueued(due) == []  # still in the broker's queue
    with later(10):
        delivery.deliver(message.pk)  # succeeds
    assert delivery.not_recently_enqueued([(message.pk, 3)]) == [message.pk]  # a later attempt is new


def test_the_retention_purge_keeps_the_events_of_messages_still_being_delivered(org, make_endpoint, settings):
    from plexica.events.models import Event
    from plexica.events.services import purge_expired

    old = timezone.now() - timedelta(days=settings.EVENTS_RETENTION_DAYS + 1)
    with time_machine.travel(old, tick=False):
        make_endpoint()
        emit_many(org, 2)
        open_message, done = fanned_out(org)
    WebhookMessage.objects.filter(pk=done.pk).update(status="succeeded")
    purge_expired()
    assert list(Event.objects.values_list("pk", flat=True)) == [open_message.event_id]
