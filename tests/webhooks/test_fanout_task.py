"""The consumer task: it sends the messages it made itself, within its budget, and a burst of commits
queues it once per organization."""

import json

import pytest
from django.conf import settings
from django.db import transaction

from plexica.events.log import emit
from plexica.tenancy.principal import Principal
from tests.webhooks.receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)
from webhooks.outbound import fanout
from webhooks.outbound.endpoints import create_endpoint
from webhooks.outbound.models import WebhookMessage

SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="


@pytest.fixture
def endpoint(org, receiver):
    receiver.secrets = [SECRET]
    return create_endpoint(Principal.system(org), url=receiver.url, events=["contact.*"], secret=SECRET)[0]


def test_the_consumer_task_makes_the_first_attempts_itself(org, endpoint, receiver):
    for n in range(3):
        emit(None, "contact.created", subject=("contact", f"c{n}"), data={"n": n}, organization=org)
    assert fanout.fan_out_and_deliver(org.pk) >= 3
    assert sorted(arrived.payload["data"]["n"] for arrived in receiver.deliveries) == [0, 1, 2]
    assert set(WebhookMessage.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"succeeded"}


def _queued(redis, task):
    return [body for body in redis.lrange("celery", 0, -1) if json.loads(body)["headers"]["task"] == task]


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_commits_queues_the_consumer_once_until_it_runs(org, endpoint):
    from celery import current_app

    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    with current_app.connection_for_write() as connection:
        queue = connection.default_channel.client
        queue.delete("celery")
        for n in range(5):
            with transaction.atomic():
                emit(None, "contact.created", subject=("contact", f"c{n}"), organization=org)
        assert len(_queued(queue, fanout.TASK)) == 1

        fanout.fan_out(org.pk)  # the queued task's work: reading clears the flag
        emit(None, "contact.created", subject=("contact", "late"), organization=org)
        assert len(_queued(queue, fanout.TASK)) == 2
    assert WebhookMessage.objects.filter(endpoint=endpoint).count() == 5


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_what_the_budget_leaves_is_handed_to_delivery_tasks(org, endpoint, receiver):
    from celery import current_app

    with current_app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete("celery")
        for n in range(3):
            emit(None, "contact.created", subject=("contact", f"c{n}"), organization=org)
        client.delete("celery")
        fanout.fan_out_and_deliver(org.pk, budget_seconds=-1)
        queued = [json.loads(body)["headers"] for body in client.lrange("celery", 0, -1)]
    assert [headers["task"] for headers in queued] == [fanout.DELIVER_TASK] * 3
    assert receiver.deliveries == []
    assert set(WebhookMessage.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {"pending"}
