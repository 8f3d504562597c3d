# gunicorn reads ./gunicorn.conf.py by default (or pass -c): the metrics' multiprocess hooks (a fresh
# PROMETHEUS_MULTIPROC_DIR per start, exited workers marked dead), see plexica/observability/processes.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from plexica.observability.processes import child_exit, on_exit, on_starting  # noqa: E402, F401
