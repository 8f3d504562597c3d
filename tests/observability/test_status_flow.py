"""The status through a plugin's life: installed, loaded by its first healthy registration (loaded_ms), then
failed by the platform's own health checks of a real server on 127.0.0.1, and back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dependencies.lifecycle import change_lifecycle
from plexica.tenancy.principal import Principal
from registry.health_checks import run_health_checks
from registry.services import Registration, register_service
from tests.gateway.upstream import Upstream

HEALTH_JSON = {"Content-Type": "application/health+json"}


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


def status_of(client, plugin_id="plugin-crm"):
    return client.get("/ext/status").json()["extensions"][plugin_id]


def test_install_load_fail_and_recover_as_the_status_api_sees_it(api, org, org_key, crm_plugin, upstream,
                                                                 settings):
    settings.REGISTRY_DEGRADED_AFTER, settings.REGISTRY_UNAVAILABLE_AFTER = 3600, 7200  # heartbeats stay fresh
    client = api(org_key.token)
    assert status_of(client)["state"] == "registered"
    change_lifecycle(Principal.system(org), "plugin-crm", "install")
    installed = status_of(client)
    assert (installed["state"], installed["loaded_ms"], installed["services"]) == ("installed", None, [])

    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON)
    register_service(Principal.system(org), Registration(plugin_id="plugin-crm", service_name="crm.contacts",
                                                         version="1.0.0", base_url=upstream.url))
    loaded = status_of(client)
    assert loaded["state"] == "loaded" and loaded["loaded_ms"] is not None and loaded["loaded_ms"] >= 0
    assert loaded["services"][0]["last_check"] is None
    assert client.get("/ext/plugin-crm/health").status_code == 200

    now = timezone.now()
    run_health_checks(now=now)
    passed = status_of(client)["services"][0]
    assert passed["last_check"]["outcome"] == "pass" and passed["last_check"]["at"].endswith("Z")

    upstream.reply("/health", 503, json={"status": "fail", "output": "database unreachable"}, headers=HEALTH_JSON)
    states = []
    for period in range(1, 6):  # failures before degraded (2) and before unavailable (5)
        run_health_checks(now=now + timedelta(seconds=30 * period))
        states.append(status_of(client)["state"])
    assert states == ["loaded", "degraded", "degraded", "degraded", "failed"]
    health = client.get("/ext/plugin-crm/health")
    assert health.status_code == 503
    assert health.json()["checks"] == {"crm.contacts": "unhealthy"} and health.json()["state"] == "failed"

    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON)
    for period in range(6, 8):  # successes before healthy (2)
        run_health_checks(now=now + timedelta(seconds=30 * period))
    assert status_of(client)["state"] == "loaded"
    assert status_of(client)["loaded_ms"] == loaded["loaded_ms"]  # loaded once per install


def test_a_plugin_seeded_as_active_counts_its_load_time_from_the_seed(api, org, org_key, upstream):
    from plexica.plugins.models import Plugin
    from plexica.plugins.services import ensure_plugin

    plugin, _ = ensure_plugin(org, "plugin-seeded", lifecycle_state=Plugin.LifecycleState.ACTIVE)
    assert plugin.installed_at is not None and ensure_plugin(org, "plugin-catalog")[0].installed_at is None
    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON)
    register_service(Principal.system(org), Registration(plugin_id="plugin-seeded", service_name="seeded.api",
                                                         version="1.0.0", base_url=upstream.url))
    seeded = status_of(api(org_key.token), "plugin-seeded")
    assert seeded["state"] == "loaded" and seeded["loaded_ms"] >= 0
