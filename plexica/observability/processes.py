"""Process hooks that keep the series right across processes (prometheus_client's multiprocess mode).

A parent process (the gunicorn master, the Celery worker's main process) creates a fresh
PROMETHEUS_MULTIPROC_DIR before it starts any child, unless the operator set one (then the operator empties it
before the processes start: a tmpfs per container, or `rm -rf` in the unit's start step). Children inherit it;
each writes its own files there and a scrape from any of them sums every file. A child that exits is marked
dead, so its live gauges (extension_active_connections) drop out while its counters keep counting.

Imported by gunicorn's master (gunicorn.conf.py) before Django: nothing here imports Django or, at module
level, prometheus_client (which must see the directory before it is first imported).
"""

import os
import shutil
import tempfile

ENV = "PROMETHEUS_MULTIPROC_DIR"
_created = []  # the directories this process made (removed when it exits)


def prepare_multiprocess_dir(full_mode_only=False):
    """Set a fresh PROMETHEUS_MULTIPROC_DIR for this process and its children unless one is set; returns it.
    With `full_mode_only`, nothing happens in the embedded mode (REDIS_URL unset: one process)."""
    if os.environ.get(ENV):
        return os.environ[ENV]
    if full_mode_only and not os.environ.get("REDIS_URL", "").strip():
        return None
    directory = tempfile.mkdtemp(prefix="plexica-metrics-")
    os.environ[ENV] = directory
    _created.append(directory)
    return directory


def remove_created_dirs():
    while _created:
        directory = _created.pop()
        shutil.rmtree(directory, ignore_errors=True)
        if os.environ.get(ENV) == directory:
            del os.environ[ENV]


def mark_dead(pid):
    """A child exited: its live gauges stop counting (its counters stay in the sums)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# --- gunicorn server hooks (gunicorn.conf.py imports these names) ---------------------------------------------


def on_starting(server):
    prepare_multiprocess_dir()


def child_exit(server, worker):
    mark_dead(worker.pid)


def on_exit(server):
    remove_created_dirs()
