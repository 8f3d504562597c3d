"""Enqueue background work by the task's registered name, so no module imports a `tasks.py`.

    enqueue_on_commit("connectors.run_sync_event", (event.pk,))

Where the task runs depends on the mode:
- with a broker (REDIS_URL set): the message goes to the broker by name and a worker runs it; this
  process never imports the task's module;
- in embedded serve mode (no broker; `manage.py serve` started the background worker): the task runs on
  that one in-process thread, so a request never waits for the work it queued;
- with neither (tests, management commands): Celery's eager mode runs it right here, errors propagating.

Tasks take ids, not objects, and are idempotent: delivery is at least once.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import transaction

from plexica.celery import app

logger = logging.getLogger("plexica.work")

_embedded_worker = None


def start_embedded_worker():
    """Start (once) the in-process background worker of embedded serve mode; returns its executor."""
    global _embedded_worker
    if _embedded_worker is None:
        _embedded_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedded-worker")
    return _embedded_worker


def registered_task(task_name):
    """The task registered as `task_name`, importing the apps' task modules first if need be."""
    if task_name not in app.tasks:
        app.autodiscover_tasks(force=True)  # autodiscovery is lazy outside a worker
    return app.tasks[task_name]  # NotRegistered (a KeyError) for a name no app defines


def _run_in_embedded_worker(task_name, args):
    from django.db import connections

    try:
        registered_task(task_name).apply(args, throw=True)
    except Exception:
        logger.exception("Task %s%r failed", task_name, tuple(args))
    finally:
        connections.close_all()  # this thread's connections only


def enqueue(task_name, args=(), *, countdown=None):
    """Run the task registered as `task_name` with `args` in the background (see the module docstring),
    after `countdown` seconds if given."""
    args = tuple(args)
    if not app.conf.task_always_eager:
        app.send_task(task_name, args=args, countdown=countdown)
    elif _embedded_worker is not None:
        def submit():
            _embedded_worker.submit(_run_in_embedded_worker, task_name, args)

        if countdown:
            timer = threading.Timer(countdown, submit)
            timer.daemon = True
            timer.start()
        else:
            submit()
    else:
        registered_task(task_name).apply_async(args, countdown=countdown)


def enqueue_on_commit(task_name, args=(), *, countdown=None, robust=False, using=None):
    """`enqueue` once the current transaction commits (at once outside one), so a worker never looks for a
    row that is not committed yet. robust=True logs a failure to enqueue instead of raising it: for work a
    periodic sweep sends again anyway."""
    transaction.on_commit(lambda: enqueue(task_name, args, countdown=countdown), using=using, robust=robust)
