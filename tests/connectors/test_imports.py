"""What the connector admin, API and services load: never the sync worker, the GitHub client or the tasks.

Checked in a fresh interpreter, since this test process has long imported everything.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER_SIDE = ("connectors.sync", "connectors.github.client", "connectors.tasks")
ADMIN_SIDE = (
    "connectors.admin", "connectors.api.views", "connectors.queueing", "connectors.matching",
    "connectors.services.accounts", "connectors.services.instances", "connectors.services.targets",
    "connectors.services.mappings", "connectors.services.sync_events", "connectors.services.setup",
    "connectors.services.validation",
)


def _loaded_after_importing(modules):
    code = (
        "import json, sys, django; django.setup(); "
        + "".join(f"import {module}; " for module in modules)
        + f"print(json.dumps([name for name in {list(WORKER_SIDE)!r} if name in sys.modules]))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "plexica.settings"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_admin_api_and_services_load_neither_the_sync_worker_nor_the_github_client_nor_the_tasks():
    assert _loaded_after_importing(ADMIN_SIDE) == []


def test_the_check_sees_the_worker_side_when_it_is_loaded():
    assert _loaded_after_importing(("connectors.sync",)) == ["connectors.sync", "connectors.github.client"]
