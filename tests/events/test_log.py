"""The event log's core: positions without gaps, events only with committed changes, consumers after commit."""

import pytest
from django.db import transaction

from plexica.events import consumers
from plexica.events.log import InvalidEvent, emit
from plexica.events.models import ConsumerCursor, Event
from plexica.tenancy.principal import Principal
from tests.concurrency import run_together


def test_events_of_an_organization_are_numbered_one_by_one(org, other_org):
    first = emit(None, "demo.thing.happened", organization=org, subject=("demo", "d1"), data={"n": 1})
    emit(None, "demo.thing.happened", organization=other_org)
    second = emit(Principal.system(org), "demo.thing.happened")
    assert (first.position, second.position) == (1, 2)
    assert Event.objects.get(organization=other_org).position == 1
    assert first.public_id.startswith("evt_") and first.actor == {"type": "system", "id": "system"}
    assert first.subject == {"type": "demo", "id": "d1"}


def test_a_rolled_back_change_leaves_no_event_and_no_gap(org):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(None, "demo.thing.happened", organization=org)
        raise RuntimeError("the change failed")
    assert not Event.objects.filter(organization=org).exists()
    assert emit(None, "demo.thing.happened", organization=org).position == 1


def test_a_rolled_back_savepoint_drops_only_its_own_events(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            emit(None, "demo.kept.first", organization=org)
            try:
                with transaction.atomic():
                    emit(None, "demo.dropped.inner", organization=org)
                    raise RuntimeError
            except RuntimeError:
                pass
            emit(None, "demo.kept.second", organization=org)
    assert list(Event.objects.filter(organization=org).order_by("position").values_list("type", "position")) == [
        ("demo.kept.first", 1), ("demo.kept.second", 2)]
    told_events = [event.type for callback in callbacks for event in getattr(callback, "events", [])]
    assert told_events == ["demo.kept.first", "demo.kept.second"]


def test_consumers_are_told_once_per_commit_with_every_event(org, django_capture_on_commit_callbacks):
    seen = []

    def listener(organization_pk, events):
        seen.append((organization_pk, [event.type for event in events]))

    consumers.listen(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                emit(None, "demo.a.one", organization=org)
                emit(None, "demo.a.two", organization=org)
    finally:
        consumers._LISTENERS.remove(listener)
    assert seen == [(org.pk, ["demo.a.one", "demo.a.two"])]


def test_consume_hands_each_event_to_a_consumer_once_in_order(org):
    for n in range(5):
        emit(None, "demo.counted.event", organization=org, data={"n": n})
    batches = []
    assert consumers.consume("test-consumer", org.pk, lambda events: batches.append([e.data["n"] for e in events]),
                             batch=2) == 5
    assert batches == [[0, 1], [2, 3], [4]]
    assert consumers.consume("test-consumer", org.pk, batches.append) == 0
    assert ConsumerCursor.objects.get(organization=org, consumer="test-consumer").position == 5


def test_a_consumer_task_queued_for_an_organization_deleted_since_does_nothing(org):
    org_pk = org.pk
    org.delete()
    assert consumers.consume("test-consumer", org_pk, lambda events: pytest.fail("no events to hand")) == 0
    assert not ConsumerCursor.objects.filter(organization_id=org_pk).exists()


def test_a_consumer_that_fails_leaves_its_cursor_where_it_was(org):
    emit(None, "demo.counted.event", organization=org)

    def fail(events):
        raise RuntimeError("worker died")

    with pytest.raises(RuntimeError):
        consumers.consume("test-failing", org.pk, fail)
    assert ConsumerCursor.objects.get(organization=org, consumer="test-failing").position == 0


@pytest.mark.parametrize("bad", ["", "nodot", "a..b", "a.b c", "x" * 201, "a.*", "a.b\n"])
def test_a_malformed_type_is_refused(org, bad):
    with pytest.raises(InvalidEvent):
        emit(None, bad, organization=org)


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_emitters_get_distinct_positions_in_commit_order(org):
    def emit_many():
        for _ in range(20):
            emit(None, "demo.raced.event", organization=org)

    run_together(*[emit_many] * 4)
    positions = list(Event.objects.filter(organization=org).order_by("id").values_list("position", flat=True))
    assert sorted(positions) == list(range(1, 81))
