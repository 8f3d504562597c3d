"""GET /ext/status and GET /ext/{pluginId}/health: the seed's shapes, every state, from recorded state."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gateway.models import GatewayCallStat
from plexica.plugins.models import Plugin
from plexica.tenancy.services import issue_api_key
from registry.models import PluginService

STATUS = "/ext/status"
State = Plugin.LifecycleState


def make_plugin(org, plugin_id, state, *, installed_ago=None, loaded_after=None, services=(), **fields):
    """A plugin in `state` with services whose last heartbeat was `services` seconds ago."""
    now = timezone.now()
    installed_at = now - timedelta(seconds=installed_ago) if installed_ago is not None else None
    loaded_at = installed_at + timedelta(milliseconds=loaded_after) if loaded_after is not None else None
    plugin = Plugin.objects.create(organization=org, plugin_id=plugin_id, name=plugin_id.title(),
                                   version="2.1.0", description=f"The {plugin_id}", lifecycle_state=state,
                                   installed_at=installed_at, loaded_at=loaded_at, **fields)
    for i, age in enumerate(services):
        PluginService.objects.create(organization=org, plugin=plugin, service_name=f"{plugin_id}.s{i}",
                                     version="2.1.0", base_url="http://127.0.0.1:9", last_seen_at=now -
                                     timedelta(seconds=age))
    return plugin


@pytest.fixture
def landscape(org):
    make_plugin(org, "plugin-catalog", State.REGISTERED)
    make_plugin(org, "plugin-waiting", State.INSTALLED, installed_ago=10)
    make_plugin(org, "plugin-good", State.ACTIVE, installed_ago=600, loaded_after=1234, services=(1, 5),
                manifest={"capabilities": ["ROUTES", "EVENTS_PUB"]})
    make_plugin(org, "plugin-limping", State.ACTIVE, installed_ago=600, loaded_after=50, services=(1, 200))
    make_plugin(org, "plugin-down", State.ACTIVE, installed_ago=600, loaded_after=80, services=(4000,))
    make_plugin(org, "plugin-gone", State.ACTIVE, installed_ago=600, loaded_after=80)
    make_plugin(org, "plugin-off", State.DISABLED, installed_ago=600, loaded_after=80, services=(1,))
    make_plugin(org, "plugin-removed", State.UNINSTALLED, installed_ago=600, loaded_after=80)


def test_every_plugin_of_the_organization_in_the_seeds_shape_with_its_state(api, org, org_key, landscape):
    from plexica.plugins.capabilities import grant_capability
    from plexica.tenancy.principal import Principal

    grant_capability(Principal.system(org), "plugin-good", "ROUTES")
    answer = api(org_key.token).get(STATUS)
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    states = {plugin_id: extension["state"] for plugin_id, extension in body["extensions"].items()}
    assert states == {"plugin-catalog": "registered", "plugin-waiting": "installed", "plugin-good": "loaded",
                      "plugin-limping": "degraded", "plugin-down": "failed", "plugin-gone": "failed",
                      "plugin-off": "disabled", "plugin-removed": "uninstalled"}
    assert (body["total_extensions"], body["loaded_extensions"], body["failed_extensions"]) == (8, 2, 2)
    assert body["discovery_sources"] == ["catalog", "registry"]
    good = body["extensions"]["plugin-good"]
    assert good["info"] == {"id": "plugin-good", "name": "Plugin-Good", "version": "2.1.0",
                            "description": "The plugin-good"}
    assert good["loaded_ms"] == 1234 and body["extensions"]["plugin-waiting"]["loaded_ms"] is None
    assert good["capabilities"] == ["ROUTES"]  # granted (the manifest requests EVENTS_PUB too)
    assert body["extensions"]["plugin-limping"]["capabilities"] == ["ROUTES", "EVENTS_PUB", "EVENTS_SUB"]  # legacy
    assert good["metrics"] == {"requests_total": 0.0, "errors_total": 0.0, "latency_ms_sum": 0.0}
    assert good["health"] == "healthy" and good["lifecycle_state"] == "active"
    assert [(s["name"], s["status"], s["health"]) for s in good["services"]] == [
        ("plugin-good.s0", "HEALTHY", "healthy"), ("plugin-good.s1", "HEALTHY", "healthy")]
    assert good["services"][0]["last_heartbeat"].endswith("Z")
    limping = body["extensions"]["plugin-limping"]
    assert limping["health"] == "degraded"
    assert [s["health"] for s in limping["services"]] == ["healthy", "degraded"]
    assert body["extensions"]["plugin-down"]["health"] == "unhealthy"
    assert body["extensions"]["plugin-off"]["health"] == "unhealthy"


def test_metrics_are_the_gateways_call_counters_of_calls_to_the_plugin(api, org_key, org, landscape, crm_plugin):
    hour = datetime(2026, 12, 1, 10, tzinfo=UTC)
    for offset, (calls, errors, ms) in enumerate([(100, 2, 1250), (50, 0, 250)]):
        GatewayCallStat.objects.create(organization=org, hour=hour + timedelta(hours=offset), caller=crm_plugin,
                                       target_plugin_id="plugin-good", calls=calls, errors=errors,
                                       duration_ms=ms)
    GatewayCallStat.objects.create(organization=org, hour=hour, caller=crm_plugin, target_plugin_id="",
                                   calls=9, errors=9, duration_ms=9)
    metrics = api(org_key.token).get(STATUS).json()["extensions"]["plugin-good"]["metrics"]
    assert metrics == {"requests_total": 150.0, "errors_total": 2.0, "latency_ms_sum": 1500.0}


def test_the_status_is_the_callers_organization_only_and_never_anonymous(api, org_key, other_org_key, member_key,
                                                                         plugin_key, landscape, other_org):
    make_plugin(other_org, "plugin-theirs", State.ACTIVE, installed_ago=5, loaded_after=1, services=(1,))
    assert list(api(other_org_key.token, tenant="globex").get(STATUS).json()["extensions"]) == ["plugin-theirs"]
    for key in (member_key, plugin_key):
        answer = api(key.token).get(STATUS)
        assert answer.status_code == 200 and "plugin-theirs" not in answer.json()["extensions"]
    anonymous = api(None).get(STATUS)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"]
    assert api(org_key.token, tenant=None).get(STATUS).status_code == 401
    assert api(org_key.token, tenant="globex").get(STATUS).status_code == 403
    unscoped = issue_api_key(other_org, name="writer only", scopes=["events:emit"])[1]
    refused = api(unscoped, tenant="globex").get(STATUS)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"


def test_the_status_costs_the_same_queries_for_five_plugins_as_for_fifty(api, org_key, org):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert api(org_key.token).get(STATUS).status_code == 200
        return len(captured)

    for i in range(5):
        make_plugin(org, f"plugin-a{i}", State.ACTIVE, installed_ago=60, loaded_after=5, services=(1, 2))
    queries()  # the key's lookup is cached from here on
    few = queries()
    assert few == 4  # plugins, services, capability grants, and the call statistics
    for i in range(45):
        make_plugin(org, f"plugin-b{i}", State.ACTIVE, installed_ago=60, loaded_after=5, services=(1, 2))
    assert queries() == few


@pytest.mark.parametrize("plugin_id, code, status", [
    ("plugin-good", 200, "healthy"), ("plugin-limping", 503, "degraded"), ("plugin-down", 503, "unhealthy"),
    ("plugin-gone", 503, "unhealthy"), ("plugin-off", 503, "unhealthy"), ("plugin-waiting", 503, "unhealthy"),
    ("plugin-catalog", 503, "unhealthy"),
])
def test_a_plugins_health_in_the_seeds_shape_200_only_when_healthy(api, org_key, landscape, plugin_id, code,
                                                                   status):
    answer = api(org_key.token).get(f"/ext/{plugin_id}/health")
    assert answer.status_code == code
    body = answer.json()
    assert body["status"] == status and body["version"] == "2.1.0"
    assert set(body) == {"status", "timestamp", "version", "checks", "state"}
    assert body["timestamp"].endswith("Z")
    if plugin_id == "plugin-limping":
        assert body["checks"] == {"plugin-limping.s0": "healthy", "plugin-limping.s1": "degraded"}


def test_an_unknown_or_foreign_plugins_health_is_a_json_404(api, org_key, other_org_key, landscape):
    for client, plugin_id in ((api(org_key.token), "plugin-nope"),
                              (api(other_org_key.token, tenant="globex"), "plugin-good")):
        answer = client.get(f"/ext/{plugin_id}/health")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
    lost = api(org_key.token).get("/ext/unknown/route")
    assert lost.status_code == 404 and lost["Content-Type"].startswith("application/json")
