"""The first run: what `make run` installs, seeds and prints, and the demo upstream that makes the README's
gateway examples answer. The README's own request bodies are used, so README and demo cannot drift apart."""

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from plexica.api.management.commands.serve import Command as ServeCommand
from plexica.demo_upstream import DEFAULT_PORT, start_demo_upstream

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
KEY_LINES = [
    "PLEXICA_DEMO_ORG_KEY", "PLEXICA_DEMO_KEY_PLUGIN_CRM", "PLEXICA_DEMO_KEY_PLUGIN_ANALYTICS",
    "PLEXICA_DEMO_KEY_PLUGIN_MARKETING", "PLEXICA_DEMO_MEMBER_KEY", "PLEXICA_DEMO_INTEGRATION_INSTANCE",
]


def readme_body(after):
    """The JSON body (`-d '...'`) of the README's first curl line containing `after`."""
    match = re.search(re.escape(after) + r"[^\n]*?-d '(.*?)'", README, re.DOTALL)
    assert match, f"no curl with {after} -d '...' in the README"
    return json.loads(match.group(1))


def seed_demo():
    """Run seed_demo; return its output and the printed tokens by name."""
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    output = out.getvalue()
    return output, dict(re.findall(r"^(PLEXICA_DEMO_\w+)=(plx_\S+)$", output, re.MULTILINE))


@pytest.fixture
def demo_upstream():
    server = start_demo_upstream(0)
    yield server
    server.shutdown()
    server.server_close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_json(url, server):
    """GET url once `server` (a starting process) answers there; None if the process exits first."""
    while server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except OSError:
            time.sleep(0.1)
    return None


# What seed_demo prints


@pytest.mark.django_db
def test_seed_demo_prints_the_org_the_admin_login_and_every_key_once_in_one_block_at_the_end():
    output, tokens = seed_demo()

    block = output[output.index("Plexica demo is ready."):]
    assert "Organization (X-Tenant-Slug): acme-corp" in block
    assert "Admin: http://127.0.0.1:8000/admin/  login admin / admin" in block
    assert "Member page: http://127.0.0.1:8000/admin/  login mia / mia" in block
    printed = [line.split("=")[0] for line in block.splitlines() if line.startswith("PLEXICA_DEMO_")]
    assert printed == KEY_LINES
    assert [line.split("=")[0] for line in output.splitlines() if line.startswith("PLEXICA_DEMO_")] == KEY_LINES
    # The content is seeded before the block, not after it.
    assert "marketplace 'Sales tools'" in output[: output.index("Plexica demo is ready.")]
    assert "created" not in block and "already there" not in block


@pytest.mark.django_db
def test_the_printed_member_key_sees_the_demo_plugins_through_delivery(api):
    _, tokens = seed_demo()

    response = api(tokens["PLEXICA_DEMO_MEMBER_KEY"]).get("/api/v1/delivery/plugins")

    assert response.status_code == 200
    assert [plugin["id"] for plugin in response.json()["items"]] == ["plugin-analytics", "plugin-crm"]


# The demo upstream, called as the README calls it


@pytest.mark.django_db
def test_the_readme_call_example_gets_the_demo_contacts_through_the_gateway(api, demo_upstream):
    _, tokens = seed_demo()
    registration = readme_body("$G/services/register")
    assert registration["baseUrl"] == f"http://127.0.0.1:{DEFAULT_PORT}"
    registration["baseUrl"] = f"http://127.0.0.1:{demo_upstream.server_port}"  # a free port, not 3100
    crm, analytics = api(tokens["PLEXICA_DEMO_KEY_PLUGIN_CRM"]), api(tokens["PLEXICA_DEMO_KEY_PLUGIN_ANALYTICS"])
    assert crm.post("/api/plugin-gateway/services/register", registration, format="json").status_code in (200, 201)
    permission = readme_body("/api/v1/plugins/plugin-analytics/permissions")
    org = api(tokens["PLEXICA_DEMO_ORG_KEY"])
    assert org.post("/api/v1/plugins/plugin-analytics/permissions", permission, format="json").status_code in (
        200, 201)

    response = analytics.post("/api/plugin-gateway/call", readme_body("$G/call"), format="json")

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["status"] == 200
    assert answer["data"][0] == {
        "id": "cnt_001", "name": "John Doe", "email": "john@example.com", "company": "Acme Corp"}
    assert answer["headers"]["x-received-caller-plugin-id"] == "plugin-analytics"
    assert answer["headers"]["x-received-tenant-slug"] == "acme-corp"


@pytest.mark.django_db
def test_the_demo_upstream_answers_one_contact_by_id_and_404_for_an_unknown_one(api, demo_upstream):
    _, tokens = seed_demo()
    registration = readme_body("$G/services/register")
    registration["baseUrl"] = f"http://127.0.0.1:{demo_upstream.server_port}"
    api(tokens["PLEXICA_DEMO_KEY_PLUGIN_CRM"]).post("/api/plugin-gateway/services/register", registration,
                                                   format="json")
    analytics = api(tokens["PLEXICA_DEMO_KEY_PLUGIN_ANALYTICS"])
    call = {"callerPluginId": "plugin-analytics", "targetPluginId": "plugin-crm",
            "targetServiceName": "crm.contacts", "method": "GET"}

    found = analytics.post("/api/plugin-gateway/call", {**call, "path": "/contacts/cnt_002"}, format="json")
    missing = analytics.post("/api/plugin-gateway/call", {**call, "path": "/contacts/cnt_999"}, format="json")

    assert found.json()["data"]["name"] == "Jane Smith"
    assert missing.status_code == 404 and missing.json()["status"] == 404


def test_the_demo_upstream_honours_limit_and_offset(demo_upstream):
    url = f"http://127.0.0.1:{demo_upstream.server_port}/contacts?limit=2&offset=1"
    with urllib.request.urlopen(url) as response:
        assert [contact["id"] for contact in json.load(response)] == ["cnt_002", "cnt_003"]


def test_the_demo_upstream_receives_the_readme_webhook_example_and_lists_it(org, demo_upstream, settings):
    from plexica.tenancy.principal import Principal
    from webhooks.outbound import endpoints, fanout
    from webhooks.outbound.models import WebhookMessage

    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    base = f"http://127.0.0.1:{demo_upstream.server_port}"
    endpoint, _secret = endpoints.create_endpoint(Principal.system(org), url=f"{base}/webhooks", events=["*"])
    endpoints.send_test_event(Principal.system(org), endpoint.pk)
    fanout.fan_out_and_deliver(org.pk)

    message = WebhookMessage.objects.get(endpoint=endpoint)
    assert message.status == "succeeded" and message.last_status_code == 204
    with urllib.request.urlopen(f"{base}/webhooks") as response:
        latest = json.load(response)[0]
    assert latest["webhook-id"] == message.pk and latest["body"]["type"] == "webhook.test"
    assert latest["X-Plexica-Signature-256"].startswith("sha256=")


def test_serve_says_the_demo_upstream_port_is_taken_and_serves_on_without_it():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        stderr = io.StringIO()
        command = ServeCommand(stdout=io.StringIO(), stderr=stderr)

        assert command.start_demo_upstream(port) is None

    message = stderr.getvalue()
    assert f"Demo upstream not started: cannot listen on 127.0.0.1:{port}" in message
    assert "DEMO_UPSTREAM_PORT" in message


def test_manage_py_serve_with_demo_upstream_serves_the_contacts_next_to_the_server(tmp_path):
    web, upstream = free_port(), free_port()
    env = {**os.environ, "DEBUG": "1", "EMBEDDED_BEAT": "0",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}"}
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--noreload", "--demo-upstream", str(upstream), f"127.0.0.1:{web}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        contacts = get_json(f"http://127.0.0.1:{upstream}/contacts", server)
        health = get_json(f"http://127.0.0.1:{web}/healthz", server)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert contacts is not None and health is not None, output
    assert [contact["id"] for contact in contacts] == ["cnt_001", "cnt_002", "cnt_003", "cnt_004"]
    assert health == {"status": "ok"}
    assert f"Demo upstream (crm.contacts' baseUrl): http://127.0.0.1:{upstream}" in output


# What make run installs and runs


def make_dry_run(target, venv, *stamps):
    """The commands `make -n target` would run with a virtualenv at `venv` holding these stamp files."""
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    for stamp in stamps:
        (venv / "bin" / stamp).touch()
    result = subprocess.run(["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"],
                            capture_output=True, text=True, check=True)
    return result.stdout


def test_make_run_installs_the_runtime_only_and_seeds_then_serves_with_the_demo_upstream(tmp_path):
    commands = make_dry_run("run", tmp_path / "fresh")

    assert "pip install --quiet -e .\n" in commands
    assert "[dev]" not in commands
    manage = [line.split("manage.py ", 1)[1] for line in commands.splitlines() if "manage.py " in line]
    assert manage == ["migrate --noinput", "seed_demo --base-url http://127.0.0.1:8000",
                      f"serve --demo-upstream {DEFAULT_PORT} 127.0.0.1:8000"]


def test_make_test_after_make_run_still_installs_the_dev_extra(tmp_path):
    assert "pip install --quiet -e '.[dev]'" in make_dry_run("test", tmp_path / "venv", ".installed-runtime")


def test_make_run_after_make_test_installs_nothing_again(tmp_path):
    venv = tmp_path / "venv"
    dev_install = make_dry_run("install", venv)
    assert f"touch {venv}/bin/.installed {venv}/bin/.installed-runtime" in dev_install

    assert "pip install" not in make_dry_run("run", venv, ".installed", ".installed-runtime")
