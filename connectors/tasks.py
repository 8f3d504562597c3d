"""Celery tasks of the GitHub connector. They take ids, have explicit names and are idempotent: a claim is a
compare-and-set, so a redelivered or duplicated task finds nothing to do.

Nothing imports this module: work is enqueued by these names (connectors.queueing, plexica.work.queue) and
the beat schedule names them too (CELERY_BEAT_SCHEDULE).
"""

from celery import shared_task

from connectors import queueing, sync


@shared_task(name="connectors.run_sync_event", ignore_result=True)
def run_sync_event(event_id):
    """Claim sync event `event_id` and reconcile its target with the branch head (no-op if not claimable)."""
    event = sync.run_sync_event(event_id)
    return event.status if event is not None else None


@shared_task(name="connectors.run_due_sync_events", ignore_result=True)
def run_due_sync_events(limit=100):
    """Enqueue retries whose time came, queued events nobody picked up, and events of workers that died."""
    event_ids = queueing.due_event_ids(limit=limit)
    for event_id in event_ids:
        run_sync_event.delay(event_id)
    return len(event_ids)


@shared_task(name="connectors.reconcile_targets", ignore_result=True)
def reconcile_targets(limit=200):
    """Queue a resync for each active target whose branch head moved past its last completed sync."""
    return sync.reconcile_targets(limit=limit)


@shared_task(name="connectors.run_integration_execution", ignore_result=True)
def run_integration_execution(execution_id):
    """Run the queued integration execution `execution_id` (a no-op if another worker claimed it)."""
    from connectors.integrations import execution

    return execution.run(execution_id)
