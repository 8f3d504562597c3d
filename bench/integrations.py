"""The integration operations' bookkeeping: the Celery queue and what the worker did with the executions.

`integration-execute` and `integration-execute-async` (bench/operations.py) need a running Celery worker;
bench/run.py starts one for them only (`--celery-pool`, `--celery-concurrency`). This module, which loads
no Django (it reads Redis and PostgreSQL directly, like bench/sync.py), lets the run:

- wait until the worker is idle (`wait_idle`: nothing queued, no execution unfinished): before an
  operation is measured (work queued earlier, such as event fan-outs or the fail-fast check's async
  execution, must not run during the window), and after it, before the worker is stopped or the next
  operation starts (an async window leaves executions queued behind it);
- report what the worker did with the executions an operation created (`executions`): how many it finished
  inside the measured window, how many it finished afterwards (the backlog), their outcomes, and its own
  time per execution (`finished_at - started_at`). An async request answers 202 before the worker runs it,
  so only this says whether its executions succeeded.
"""

import time
from datetime import datetime, timezone

import psycopg
import redis

QUEUE = "celery"  # kombu's Redis list of the default queue, where connectors.run_integration_execution goes
UNACKED = "unacked"  # kombu's hash of the messages a worker has taken and not yet acknowledged (acks_late)
POLL_SECONDS = 0.05
TABLE = "connectors_integrationexecution"


def queued_messages(redis_url):
    """(messages waiting in the queue, messages a worker holds unacknowledged)."""
    client = redis.Redis.from_url(redis_url)
    try:
        return client.llen(QUEUE), client.hlen(UNACKED)
    finally:
        client.close()


def _unfinished(cursor, instance_id):
    cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE instance_id = %s AND status IN ('QUEUED', 'RUNNING')",
                   (instance_id,))
    return cursor.fetchone()[0]


def wait_idle(database_url, redis_url, instance_id, timeout):
    """Wait until no message waits in the queue and no execution of the instance is QUEUED or RUNNING.
    Returns (seconds waited, None) or, at the timeout, (seconds, what is still left).

    Messages held unacknowledged do not count: a worker killed in an earlier run leaves its messages in
    UNACKED until the visibility timeout (an hour), and nothing runs them meanwhile."""
    started = time.monotonic()
    client = redis.Redis.from_url(redis_url)
    try:
        with psycopg.connect(database_url, autocommit=True) as connection, connection.cursor() as cursor:
            while True:
                waiting = client.llen(QUEUE)
                unfinished = _unfinished(cursor, instance_id)
                waited = time.monotonic() - started
                if not (waiting or unfinished):
                    return waited, None
                if waited >= timeout:
                    return waited, {"queued_messages": waiting, "unacked_messages": client.hlen(UNACKED),
                                    "unfinished_executions": unfinished}
                time.sleep(POLL_SECONDS)
    finally:
        client.close()


def wall_clock(perf_counter_time):
    """The UTC datetime of a time.perf_counter() reading of this process (the windows of bench/run.py)."""
    return datetime.fromtimestamp(time.time() - (time.perf_counter() - perf_counter_time), tz=timezone.utc)


def executions(database_url, instance_id, since, measure_from, stop_at):
    """What became of the executions of the instance created since `since` (a datetime; the operation's
    first request), with the measured window [measure_from, stop_at) (datetimes)."""
    duration = (stop_at - measure_from).total_seconds()
    with psycopg.connect(database_url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT
                    count(*) FILTER (WHERE created_at >= %(from)s AND created_at < %(to)s),
                    count(*) FILTER (WHERE finished_at >= %(from)s AND finished_at < %(to)s),
                    count(*) FILTER (WHERE finished_at >= %(to)s),
                    count(*) FILTER (WHERE status IN ('QUEUED', 'RUNNING')),
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)
                        FILTER (WHERE finished_at >= %(from)s AND finished_at < %(to)s),
                    percentile_cont(0.5)
                        WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at) * 1000)
                        FILTER (WHERE finished_at >= %(from)s AND finished_at < %(to)s)
                FROM {TABLE} WHERE instance_id = %(instance)s AND created_at >= %(since)s""",
            {"instance": instance_id, "since": since, "from": measure_from, "to": stop_at},
        )
        created, finished, finished_after, unfinished, run_ms, queued_ms = cursor.fetchone()
        cursor.execute(
            f"""SELECT coalesce(nullif(outcome, ''), status), count(*) FROM {TABLE}
                WHERE instance_id = %s AND created_at >= %s AND created_at < %s GROUP BY 1 ORDER BY 2 DESC""",
            (instance_id, measure_from, stop_at),
        )
        outcomes = dict(cursor.fetchall())
    return {
        "created_in_window": created,
        "finished_in_window": finished,
        "finished_per_second": finished / duration if duration > 0 else None,
        "finished_after_window": finished_after,
        "unfinished": unfinished,
        "outcomes_of_created_in_window": outcomes,
        "worker_ms_p50": run_ms,  # finished_at - started_at: the worker's own part of one execution
        "queued_ms_p50": queued_ms,  # started_at - created_at: how long it waited for the worker
    }


def render(name, row):
    """One line about the executions of an integration operation (under its row of the table)."""
    outcomes = ", ".join(f"{outcome} {count}"
                         for outcome, count in row["outcomes_of_created_in_window"].items())
    line = (f"{name}: worker finished {row['finished_in_window']} executions in the window "
            f"({row['finished_per_second']:.1f}/s) and {row['finished_after_window']} after it; "
            f"created in the window: {row['created_in_window']} ({outcomes or 'none'}); "
            f"p50 waiting for the worker {_ms(row['queued_ms_p50'])} ms, "
            f"running {_ms(row['worker_ms_p50'])} ms")
    if row.get("worker_cpu_ms_per_execution") is not None:
        line += (f"; worker CPU {row['worker_cpu_ms_per_execution']:.2f} ms per execution finished in "
                 "the window")
    if row.get("drain_seconds") is not None:
        line += f"; idle {row['drain_seconds']:.1f} s after the window"
    if row.get("left_behind"):
        line += f"; LEFT BEHIND at the drain timeout: {row['left_behind']}"
    return line


def _ms(value):
    return "-" if value is None else f"{value:.1f}"
