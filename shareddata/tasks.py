"""Celery tasks of shared data, enqueued by name (the beat schedule names them); nothing imports this module.
Explicit names; idempotent (at-least-once delivery is the rule)."""

from celery import shared_task

from shareddata.services import purge_expired


@shared_task(name="shareddata.purge_expired", ignore_result=True)
def purge_expired_task():
    """Remove expired shared entries (readers never see them anyway; this reclaims the rows)."""
    return purge_expired()
