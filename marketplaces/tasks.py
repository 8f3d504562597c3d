"""Celery tasks of the marketplaces app, enqueued by name; nothing imports this module.
Explicit names; idempotent (at-least-once delivery is the rule)."""

from celery import shared_task

from marketplaces.config_objects.reencryption import DEFAULT_BATCH_SIZE, reencrypt_all


@shared_task(name="marketplaces.reencrypt_all")
def reencrypt_all_task(batch_size=DEFAULT_BATCH_SIZE):
    """Rewrite every encrypted column under the newest key; {column label: counts}. Safe to run again."""
    return {report.label: report.as_dict() for report in reencrypt_all(batch_size=batch_size)}
