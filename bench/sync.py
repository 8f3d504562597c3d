"""The `sync` phase of the benchmark: from a signed GitHub push to a completed sync of a 200-file repository.

bench/run.py starts the stub GitHub REST server of the test suite (tests/connectors/github_stub.py) in its
own process, points gunicorn and a real Celery worker at it (GITHUB_API_URL, a fresh App key pair), and
calls `measure_sync`. Each step commits to the stub repository, delivers the push to gunicorn exactly as
GitHub would (signed, new delivery id) and polls PostgreSQL until the worker has finished that sync:

- new: 200 skill files the organization has never seen (200 objects + versions created);
- changed: 20 of them edited (20 new versions, 180 unchanged);
- unchanged: a commit touching only a file outside the mappings (nothing to write).

The time reported is from sending the delivery to seeing the event finished (`end to end`), and the
worker's own part (`finished_at - started_at` of the event).
"""

import hashlib
import hmac
import http.client
import json
import secrets
import time

import psycopg

FILES = 200
CHANGED = 20
APP_ID = "424242"
POLL_SECONDS = 0.02
TIMEOUT_SECONDS = 300.0


def app_keys():
    from tests.connectors.github_stub import generate_app_keys

    return generate_app_keys()


def start_github(keys):
    """The stub GitHub server on a free port of 127.0.0.1, in a thread of this process."""
    from tests.connectors.github_stub import start_stub

    return start_stub(APP_ID, keys.public_pem)


def github_environment(stub, keys):
    return {"GITHUB_API_URL": stub.url, "GITHUB_APP_ID": APP_ID, "GITHUB_APP_PRIVATE_KEY": keys.private_pem}


def _skill(number, revision):
    return (f"---\nname: Skill {number:03}\ndescription: Benchmark skill {number}, revision {revision}.\n---\n"
            + f"Step {revision}: do the thing number {number} well.\n" * 20)


def _deliver(port, context, head_sha):
    body = json.dumps({
        "ref": "refs/heads/main", "before": "0" * 40, "after": head_sha,
        "repository": {"id": context["repository_id"], "full_name": context["repository_full_name"]},
        "installation": {"id": context["installation_id"]}, "pusher": {"name": "bench"}, "commits": [],
    }).encode()
    signature = hmac.new(context["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
               "X-GitHub-Delivery": f"bench-sync-{secrets.token_hex(8)}", "X-Hub-Signature-256": f"sha256={signature}"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/api/v1/webhooks/connectors/github", body, headers)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 202 or not json.loads(answer).get("queued"):
        raise RuntimeError(f"the push delivery was answered {response.status}: {answer[:300]!r}")


def _wait_finished(database_url, target_id, head_sha):
    deadline = time.perf_counter() + TIMEOUT_SECONDS
    with psycopg.connect(database_url, autocommit=True) as connection:
        while time.perf_counter() < deadline:
            row = connection.execute(
                "SELECT status, summary, EXTRACT(EPOCH FROM finished_at - started_at) FROM connectors_syncevent"
                " WHERE target_id = %s AND head_sha = %s AND status NOT IN ('queued', 'running')",
                (target_id, head_sha),
            ).fetchone()
            if row:
                return row
            time.sleep(POLL_SECONDS)
    raise RuntimeError(f"the sync of {head_sha[:10]} did not finish within {TIMEOUT_SECONDS:.0f} s")


def _step(label, port, context, database_url, head_sha):
    started = time.perf_counter()
    _deliver(port, context, head_sha)
    status, summary, worker_seconds = _wait_finished(database_url, context["target_id"], head_sha)
    elapsed = time.perf_counter() - started
    if status != "completed":
        raise RuntimeError(f"sync '{label}' ended {status}: {summary}")
    counts = {name: (summary or {}).get(name, 0) for name in ("created", "updated", "deleted", "skipped")}
    print(f"bench: sync {label}: {elapsed * 1000:.0f} ms end to end ({counts})", flush=True)
    return {"step": label, "end_to_end_ms": elapsed * 1000, "worker_ms": float(worker_seconds or 0) * 1000,
            **counts}


def measure_sync(stub, port, context, database_url):
    """Push three commits to the 200-file repository and time each sync; a list of result rows."""
    repo = stub.repository(full_name=context["repository_full_name"], repository_id=context["repository_id"],
                           installation_id=context["installation_id"])
    files = {f"skills/skill-{n:03}.md": _skill(n, 0) for n in range(FILES)}
    files["README.md"] = "Benchmark repository\n"
    rows = [_step(f"{FILES} files, new", port, context, database_url, repo.commit(files))]
    files.update({f"skills/skill-{n:03}.md": _skill(n, 1) for n in range(CHANGED)})
    rows.append(_step(f"{FILES} files, {CHANGED} changed", port, context, database_url, repo.commit(files)))
    files["README.md"] = "Benchmark repository, touched\n"
    rows.append(_step(f"{FILES} files, unchanged", port, context, database_url, repo.commit(files)))
    return rows
