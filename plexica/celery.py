"""The Celery app (configured from the CELERY_* settings, tasks autodiscovered by name) and the embedded
mode's in-process beat. Work is enqueued through plexica.work.queue."""

import logging
import os
import threading
import time

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")

app = Celery("plexica")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _require_secrets(**kwargs):
    from plexica.checks import require_secrets

    require_secrets()


# Metrics across the worker's processes (plexica/observability/processes.py): the main process sets a fresh
# PROMETHEUS_MULTIPROC_DIR (unless the operator shares gunicorn's) before Django or any pool child starts.
@signals.celeryd_init.connect
def _metrics_dir(**kwargs):
    from plexica.observability.processes import prepare_multiprocess_dir

    prepare_multiprocess_dir(full_mode_only=True)


@signals.worker_process_shutdown.connect
def _metrics_child_exited(pid=None, **kwargs):
    from plexica.observability.processes import mark_dead

    mark_dead(pid or os.getpid())


@signals.worker_shutdown.connect
def _metrics_dir_removed(**kwargs):
    from plexica.observability.processes import remove_created_dirs

    remove_created_dirs()


@signals.task_postrun.connect
def _count_task(task=None, state=None, **kwargs):
    from plexica.observability.metrics import count_task

    count_task(getattr(task, "name", None), state)

logger = logging.getLogger("plexica.celery")


class EmbeddedBeat:
    """Runs CELERY_BEAT_SCHEDULE's interval tasks in a daemon thread, for the embedded mode (no broker).

    Tasks execute eagerly in this process; errors are logged and the schedule goes on.
    """

    def __init__(self, schedule, tick=1.0):
        app.loader.import_default_modules()  # autodiscovery is lazy outside a worker
        self.entries = {
            name: float(entry["schedule"].total_seconds() if hasattr(entry["schedule"], "total_seconds")
                        else entry["schedule"])
            for name, entry in schedule.items()
        }
        self.tasks = {name: entry["task"] for name, entry in schedule.items()}
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-beat", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)

    def run_due(self, due_at, now):
        """Run every entry whose time has come; returns the names run."""
        ran = []
        for name, interval in self.entries.items():
            if now >= due_at.get(name, now):
                try:
                    app.tasks[self.tasks[name]].apply(throw=True)
                except Exception:
                    logger.exception("Periodic task %s failed", self.tasks[name])
                due_at[name] = now + interval
                ran.append(name)
        return ran

    def _run(self):
        due_at = {}
        while not self._stop.is_set():
            self.run_due(due_at, time.monotonic())
            self._stop.wait(self.tick)
