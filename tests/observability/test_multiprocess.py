"""Metrics across processes: a real gunicorn with 4 sync workers (the repository's gunicorn.conf.py hooks and
prometheus_client's multiprocess mode), 1,000 requests from concurrent clients, one scrape."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.observability.scrape import parse, value

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "multiprocess-test-token"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port, path, token=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn plexica.wsgi, 4 workers, embedded mode with a token, on a free port; yields (port, metrics dir)."""
    port = _free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="plexica.settings", DEBUG="0", ALLOWED_HOSTS="127.0.0.1",
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", METRICS_TOKEN=TOKEN,
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), PYTHONUNBUFFERED="1")
    log = open(tmp_path / "gunicorn.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "plexica.wsgi", "-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(ROOT),
         "--bind", f"127.0.0.1:{port}", "--workers", "4", "--log-level", "warning"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port, metrics_dir
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.mark.timeout(300)
def test_a_thousand_requests_over_four_workers_count_exactly_a_thousand(gunicorn):
    port, metrics_dir = gunicorn
    status, _ = _get(port, "/metrics", TOKEN)
    assert status == 200
    before = value(parse(_get(port, "/metrics", TOKEN)[1].decode())[0], "http_requests_total", method="GET",
                   endpoint="/healthz", status="200")

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: _get(port, "/healthz")[0], range(1000)))
    assert statuses == [200] * 1000

    scrapes = [parse(_get(port, "/metrics", TOKEN)[1].decode())[0] for _ in range(4)]  # whichever worker answers
    counted = [value(samples, "http_requests_total", method="GET", endpoint="/healthz", status="200") - before
               for samples in scrapes]
    assert counted == [1000] * 4
    writers = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    assert len(writers) > 1  # the requests really were spread over several worker processes
    assert _get(port, "/metrics")[0] == 401  # and the token still guards it
