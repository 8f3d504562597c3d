"""Retention: events.purge_expired deletes the events older than EVENTS_RETENTION_DAYS, in batches, with what
references them (webhook messages and their attempts); positions keep counting from where they were."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from plexica.celery import app
from plexica.events import services
from plexica.events.log import emit
from plexica.events.models import Event
from webhooks.outbound.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def emitted(org, days_ago, n=1, event_type="demo.thing.happened"):
    return [emit(None, event_type, organization=org, occurred_at=NOW - timedelta(days=days_ago)) for _ in range(n)]


def test_events_past_retention_go_and_the_rest_stay(org, other_org, settings):
    settings.EVENTS_RETENTION_DAYS = 30
    Event.objects.all().delete()  # whatever the fixtures recorded (just now, so kept anyway)
    old = emitted(org, 31, 3) + emitted(other_org, 45)
    kept = emitted(org, 29) + emitted(other_org, 1)
    with time_machine.travel(NOW, tick=False):
        assert services.purge_expired() == 4
    assert set(Event.objects.values_list("pk", flat=True)) == {event.pk for event in kept}
    assert not Event.objects.filter(pk__in=[event.pk for event in old]).exists()
    # Positions are never given twice: the next event carries on after the purged ones.
    assert emit(None, "demo.thing.happened", organization=org).position == kept[0].position + 1


def test_a_moved_clock_purges_what_was_kept_before(org, settings):
    settings.EVENTS_RETENTION_DAYS = 7
    with time_machine.travel(NOW, tick=False):
        emit(None, "demo.thing.happened", organization=org)
    with time_machine.travel(NOW + timedelta(days=6, hours=23), tick=False):
        assert services.purge_expired() == 0
    everything = Event.objects.count()  # the fixtures' events are older still
    with time_machine.travel(NOW + timedelta(days=7, seconds=1), tick=False):
        assert services.purge_expired() == everything
    assert not Event.objects.exists()


def test_the_purge_deletes_in_batches(org, settings):
    settings.EVENTS_RETENTION_DAYS = 1
    Event.objects.all().delete()
    emitted(org, 3, 25)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as captured:
        assert services.purge_expired(batch=10) == 25
    deletes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('DELETE FROM "events_event"')]
    assert len(deletes) == 3  # 10 + 10 + 5 rows
    assert not Event.objects.exists()


def test_webhook_messages_and_attempts_go_with_their_events(org, settings):
    settings.EVENTS_RETENTION_DAYS = 10
    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/in",
                                              event_types=["*"])
    old, recent = emitted(org, 11)[0], emitted(org, 2)[0]
    for event in (old, recent):
        message = WebhookMessage.objects.create(organization=org, endpoint=endpoint, event=event,
                                                position=event.position, event_type=event.type,
                                                status=WebhookMessage.Status.SUCCEEDED)
        WebhookAttempt.objects.create(organization=org, message=message, endpoint=endpoint, number=1,
                                      url=endpoint.url, status_code=200, outcome="succeeded")
    with time_machine.travel(NOW, tick=False):
        assert services.purge_expired() == 1
    assert list(WebhookMessage.objects.values_list("event_id", flat=True)) == [recent.pk]
    assert WebhookAttempt.objects.count() == 1
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_the_beat_task_runs_by_name_and_is_scheduled_hourly(org, settings):
    settings.EVENTS_RETENTION_DAYS = 30
    emitted(org, 40, 2)
    entry = django_settings.CELERY_BEAT_SCHEDULE["events-purge-expired"]
    assert entry["task"] == "events.purge_expired" and entry["schedule"] == 3600.0
    assert 0 < entry["options"]["expires"] < entry["schedule"]
    app.loader.import_default_modules()
    with time_machine.travel(NOW, tick=False):
        assert app.tasks["events.purge_expired"].apply().get() == 2  # what a worker runs, by its name
    assert not Event.objects.exists()


@pytest.mark.requires_postgres
def test_the_purge_finds_old_events_through_the_occurred_at_index(org):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = (Event.objects.filter(occurred_at__lt=NOW).order_by().values_list("pk", flat=True)[:5000]
                       .query.sql_with_params())
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "event_occurred_idx" in plan


def test_a_retention_hold_keeps_events_still_in_use(org, settings, monkeypatch):
    settings.EVENTS_RETENTION_DAYS = 1
    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/in",
                                              event_types=["*"])
    delivering, done = emitted(org, 3, 2)
    for event, status in ((delivering, WebhookMessage.Status.PENDING), (done, WebhookMessage.Status.FAILED)):
        WebhookMessage.objects.create(organization=org, endpoint=endpoint, event=event, position=event.position,
                                      event_type=event.type, status=status)
    monkeypatch.setattr(services, "_RETENTION_HOLDS", [])
    services.hold_from_retention(lambda: WebhookMessage.objects.filter(
        status__in=WebhookMessage.OPEN_STATUSES).values("event_id"))
    with time_machine.travel(NOW, tick=False):
        assert services.purge_expired() == 1
    assert list(Event.objects.filter(occurred_at__lt=NOW - timedelta(days=1)).values_list("pk", flat=True)) == [
        delivering.pk]
