"""The status in the admin: the dashboard's card of running plugins by state and each plugin's status panel,
from the same rules as /ext/status, scoped to the admin's organization."""

import pytest

from plexica.plugins.models import Plugin
from tests.observability.test_status import State, make_plugin


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin.user)
    return client


def card(response, name):
    return {card["widget"].name: card for card in response.context["cards"]}.get(name)


def test_the_dashboard_counts_running_plugins_by_state_and_lists_the_failed_first(admin_client, org, other_org):
    make_plugin(org, "plugin-good", State.ACTIVE, installed_ago=60, loaded_after=5, services=(1,))
    make_plugin(org, "plugin-limping", State.ACTIVE, installed_ago=60, loaded_after=5, services=(1, 200))
    make_plugin(org, "plugin-down", State.ACTIVE, installed_ago=60, loaded_after=5, services=(4000,))
    make_plugin(org, "plugin-waiting", State.INSTALLED, installed_ago=5)
    make_plugin(org, "plugin-off", State.DISABLED, installed_ago=60, loaded_after=5, services=(4000,))
    make_plugin(other_org, "plugin-theirs", State.ACTIVE, installed_ago=60, loaded_after=5, services=(4000,))
    response = admin_client.get("/admin/")
    data = card(response, "plugins_status")["context"]
    assert data["total"] == 4
    assert [stat["count"] for stat in data["stats"]] == [1, 1, 1, 1]  # loaded, degraded, failed, waiting
    assert [(row["plugin_id"], row["state"], row["unhealthy"]) for row in data["problems"]] == [
        ("plugin-down", "failed", ["plugin-down.s0"]), ("plugin-limping", "degraded", ["plugin-limping.s1"])]
    html = response.content.decode()
    assert 'id="plugins-status-problems"' in html and "plugin-theirs" not in html


def test_the_card_is_left_out_when_nothing_is_installed(admin_client, org):
    make_plugin(org, "plugin-catalog", State.REGISTERED)
    assert card(admin_client.get("/admin/"), "plugins_status") is None


def test_each_plugins_page_shows_its_state_health_and_load_time(admin_client, org):
    plugin = make_plugin(org, "plugin-limping", State.ACTIVE, installed_ago=60, loaded_after=1234,
                         services=(1, 200))
    html = admin_client.get(f"/admin/plugins/plugin/{plugin.pk}/change/").content.decode()
    panel = html[html.index('id="plugin-status"'):]
    panel = panel[:panel.index("</dl>")]
    assert 'badge-yellow">Degraded' in panel and "1,234 ms" in panel
    assert "plugin-limping.s0" in panel and "plugin-limping.s1" in panel
    waiting = make_plugin(org, "plugin-waiting", State.INSTALLED, installed_ago=5)
    html = admin_client.get(f"/admin/plugins/plugin/{waiting.pk}/change/").content.decode()
    assert "not loaded yet" in html and "none registered" in html
    assert Plugin.objects.count() == 2
