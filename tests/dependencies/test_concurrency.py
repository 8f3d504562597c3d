"""Concurrent writers on PostgreSQL: registrations replace whole lists; lifecycle checks do not interleave."""

import pytest

from dependencies.models import PluginDependency
from plexica.plugins.models import Plugin
from tests.concurrency import run_together

BASE = "/api/plugin-gateway/dependencies"


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_plugin_each_replace_the_whole_list(api, org, org_key):
    for round_ in range(10):
        plugin_id = f"plugin-app{round_}"
        if round_ % 2:  # odd rounds: the plugin exists already; even rounds: both requests create it
            Plugin.objects.create(organization=org, plugin_id=plugin_id, name="app")

        def register(extra, plugin_id=plugin_id):
            body = {"dependencies": [
                {"pluginId": plugin_id, "dependsOnPluginId": "plugin-crm", "version": "^1.0.0"},
                {"pluginId": plugin_id, "dependsOnPluginId": extra, "version": "*"},
            ]}
            return api(org_key.token).post(BASE, body, format="json").status_code

        assert run_together(lambda: register("plugin-mail"), lambda: register("plugin-maps")) == [201, 201]
        targets = sorted(PluginDependency.objects.filter(plugin__plugin_id=plugin_id)
                         .values_list("depends_on_plugin_id", flat=True))
        assert targets in (["plugin-crm", "plugin-mail"], ["plugin-crm", "plugin-maps"])
        assert Plugin.objects.filter(organization=org, plugin_id=plugin_id).count() == 1


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_installing_a_plugin_while_its_dependency_is_uninstalled_never_leaves_it_unmet(api, org, org_key):
    for round_ in range(5):
        crm = Plugin.objects.create(organization=org, plugin_id=f"plugin-crm{round_}", name="crm", version="1.0.0",
                                    lifecycle_state=Plugin.LifecycleState.ACTIVE)
        app = Plugin.objects.create(organization=org, plugin_id=f"plugin-app{round_}", name="app")
        PluginDependency.objects.create(plugin=app, depends_on_plugin_id=crm.plugin_id, version="^1.0.0")

        install, uninstall = run_together(
            lambda app=app: api(org_key.token).post(
                f"/api/v1/plugins/{app.plugin_id}/install", {"version": "1.0.0"}, format="json"
            ).status_code,
            lambda crm=crm: api(org_key.token).post(f"/api/v1/plugins/{crm.plugin_id}/uninstall").status_code,
        )
        assert sorted([install, uninstall]) == [200, 409]  # whichever goes second is refused
        app.refresh_from_db()
        crm.refresh_from_db()
        assert not (app.is_installed and not crm.is_installed)
