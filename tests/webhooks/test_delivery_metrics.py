"""plexica_webhook_delivery_attempts_total: attempts to a real receiver, by outcome."""

from plexica.observability import metrics
from tests.observability.scrape import parse, value
from tests.webhooks.receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)
from tests.webhooks.test_delivery import emit_contact, endpoint, fan_out  # noqa: F401  (the `endpoint` fixture)
from webhooks.outbound import delivery


def test_each_attempt_is_counted_by_outcome(org, endpoint, receiver):  # noqa: F811
    metrics.reset()
    receiver.answer(500)
    emit_contact(org, n=2)
    first, second = fan_out(org)

    delivery.deliver(first.pk)
    receiver.answer(200)
    delivery.deliver(second.pk)

    samples = parse(metrics.exposition().decode())[0]
    assert value(samples, "plexica_webhook_delivery_attempts_total", outcome="failed") == 1
    assert value(samples, "plexica_webhook_delivery_attempts_total", outcome="succeeded") == 1
