"""The admin dashboard: each widget's content for the organization in view (never another one's rows), the
chart numbers computed from known transitions and sync events, the empty states, and a flat query count
with 1,000 rows of each kind it shows."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from connectors.dashboard import sync_outcomes
from connectors.models import ConnectorAccount, ConnectorInstance, ConnectorTarget, SyncEvent
from gateway.models import GatewayCallStat
from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from plexica.adminsite import dashboard
from plexica.adminsite.scope import Scope
from plexica.plugins.models import LifecycleTransition, Plugin
from plexica.tenancy.admin import admin_url
from plexica.tenancy.models import ApiKey
from plexica.tenancy.services import issue_api_key
from registry.dashboard import health_history
from registry.models import PluginService, ServiceStatus, ServiceStatusTransition
from tests.adminsite.querycount import assert_flat

H, D, U = ServiceStatus.HEALTHY, ServiceStatus.DEGRADED, ServiceStatus.UNAVAILABLE
NOW = datetime(2026, 12, 2, 12, 30, tzinfo=UTC)


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin.user)
    return client


@pytest.fixture
def superuser_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "correct-horse-battery")
    client.force_login(user)
    return client


def cards(response):
    return {card["widget"].name: card for card in response.context["cards"]}


def widget(response, name):
    return cards(response)[name]["context"]


def html_of(response, name):
    """The rendered card of widget `name`."""
    content = response.content.decode()
    start = content.index(f'id="widget-{name}"')
    end = content.find('<section class="plexica-card', start)
    return content[start:end if end > 0 else None]


_plugins = {}


def plugin(organization, plugin_id, state=Plugin.LifecycleState.ACTIVE, **fields):
    found, _ = Plugin.objects.get_or_create(
        organization=organization, plugin_id=plugin_id,
        defaults={"name": plugin_id.removeprefix("plugin-").title(), "version": "1.0.0", "lifecycle_state": state,
                  **fields})
    return found


def service(organization, name, last_seen_at, status=H, registered_at=None, plugin_id="plugin-crm"):
    return PluginService.objects.create(
        organization=organization, plugin=plugin(organization, plugin_id), service_name=name, version="1.0.0",
        base_url="http://127.0.0.1:9", status=status, last_seen_at=last_seen_at,
        registered_at=registered_at or last_seen_at - timedelta(days=2),
    )


def transition(svc, at, from_status, to_status, cause="sweep"):
    return ServiceStatusTransition.objects.create(organization_id=svc.organization_id, service=svc, at=at,
                                                  from_status=from_status, to_status=to_status, cause=cause)


def github_target(organization, repo="acme/agent-configs", installation_id=None, branch="main"):
    account, _ = ConnectorAccount.objects.get_or_create(
        installation_id=installation_id or abs(hash(organization.pk)) % 10**8,
        defaults={"organization": organization, "account_login": repo.split("/")[0]})
    instance = ConnectorInstance.objects.create(organization=organization, account=account,
                                                name=f"{repo}@{branch}")
    return ConnectorTarget.objects.create(organization=organization, instance=instance, repository_id=42,
                                          repository_full_name=repo, branch=branch)


def sync_event(target, status, finished_at, error="", **fields):
    return SyncEvent.objects.create(organization_id=target.organization_id, target=target, event_type="push",
                                    status=status, finished_at=finished_at, error=error, **fields)


# --- Services by health -------------------------------------------------------------------------------


def test_services_are_counted_by_health_and_the_unhealthy_listed_longest_first(admin_client, org, other_org):
    now = timezone.now()
    service(org, "crm.contacts", now - timedelta(seconds=10))
    service(org, "crm.deals", now - timedelta(seconds=120))  # degraded since 30 s
    service(org, "crm.search", now - timedelta(hours=2), status=U)  # unhealthy since about 2 hours
    service(other_org, "globex.billing", now - timedelta(hours=5), plugin_id="plugin-billing")

    response = admin_client.get("/admin/")

    data = widget(response, "services_health")
    assert data["total"] == 3
    assert [stat["count"] for stat in data["stats"]] == [1, 1, 1]
    assert [row["service"].service_name for row in data["unhealthy"]] == ["crm.search", "crm.deals"]
    search, deals = data["unhealthy"]
    assert search["since"] == search["service"].last_seen_at + timedelta(seconds=90)
    assert "Unavailable" in search["badge"] and "Degraded" in deals["badge"]
    html = html_of(response, "services_health")
    assert "globex.billing" not in html
    assert admin_url("registry_pluginservice_change", search["service"].pk) in html
    assert "badge-red" in html and "badge-yellow" in html and "badge-green" in html
    assert "1\xa0hour" in html or "2\xa0hours" in html


def test_all_services_healthy_says_so(admin_client, org):
    service(org, "crm.contacts", timezone.now())

    html = html_of(admin_client.get("/admin/"), "services_health")

    assert "All 1 service healthy." in html


def test_no_services_yet_says_how_they_come(admin_client, org):
    response = admin_client.get("/admin/")

    assert "No services registered yet" in html_of(response, "services_health")
    assert "service_health_chart" not in cards(response)  # no chart of nothing


# --- Service health over 24 hours -----------------------------------------------------------------------


def test_health_history_counts_each_service_per_hour_at_its_worst(org, other_org):
    day = NOW.replace(hour=0, minute=0)
    # A: down from 09:10 to 10:05 (the sweep saw it degrade, then go unavailable; a heartbeat brought it back).
    a = service(org, "a", NOW - timedelta(seconds=10))
    transition(a, day.replace(hour=9, minute=10), H, D)
    transition(a, day.replace(hour=9, minute=20), D, U)
    transition(a, day.replace(hour=10, minute=5), U, H, cause="heartbeat")
    # B: last heartbeat at 11:00 and no sweep since: degraded at 11:01:30, unavailable at 11:05 by its age.
    service(org, "b", day.replace(hour=11))
    # C: registered at 12:10, healthy since: only in the current hour.
    service(org, "c", NOW - timedelta(seconds=30), registered_at=day.replace(hour=12, minute=10))
    # Another organization's service, unavailable all day: never counted.
    service(other_org, "d", NOW - timedelta(days=1), status=U, plugin_id="plugin-billing")

    history = health_history(Scope(organization_ids=frozenset([org.pk]), organization=org), now=NOW)

    assert history["labels"][0] == "13:00" and history["labels"][-1] == "12:00" and len(history["labels"]) == 24
    assert history["counts"][H] == [2] * 20 + [1, 1, 1, 2]
    assert history["counts"][D] == [0] * 24
    assert history["counts"][U] == [0] * 20 + [1, 1, 1, 1]


def test_a_service_unhealthy_before_the_window_starts_unhealthy(org):
    # Unavailable since yesterday (persisted then), back at 08:30 by a heartbeat, healthy since.
    svc = service(org, "a", NOW - timedelta(seconds=5), status=H)
    transition(svc, NOW.replace(hour=8, minute=30), U, H, cause="heartbeat")

    counts = health_history(Scope(organization_ids=frozenset([org.pk])), now=NOW)["counts"]

    assert counts[U] == [1] * 20 + [0, 0, 0, 0]  # 13:00 yesterday .. 08:00 today (worst in the 08:00 hour)
    assert counts[H] == [0] * 20 + [1, 1, 1, 1]


def test_the_health_chart_is_the_history_as_stacked_bars(admin_client, org, time_machine):
    time_machine.move_to(NOW, tick=False)
    service(org, "b", NOW.replace(hour=11))  # unavailable from 11:05 by its age

    data = widget(admin_client.get("/admin/"), "service_health_chart")

    chart = json.loads(data["chart"])
    assert [dataset["label"] for dataset in chart["datasets"]] == ["Healthy", "Degraded", "Unavailable"]
    healthy, degraded, unavailable = (dataset["data"] for dataset in chart["datasets"])
    assert healthy == [1] * 22 + [0, 0]
    assert degraded == [0] * 24
    assert unavailable == [0] * 22 + [1, 1]
    assert json.loads(data["options"])["scales"]["y"]["stacked"] is True


# --- Plugins by lifecycle state and recent transitions ---------------------------------------------------


def test_plugins_are_counted_by_lifecycle_state_with_links_to_the_filtered_list(admin_client, org, other_org):
    plugin(org, "plugin-crm", Plugin.LifecycleState.ACTIVE)
    plugin(org, "plugin-analytics", Plugin.LifecycleState.ACTIVE)
    plugin(org, "plugin-marketing", Plugin.LifecycleState.INSTALLED)
    plugin(org, "plugin-old", Plugin.LifecycleState.DISABLED, catalog_status=Plugin.CatalogStatus.DELETED)
    plugin(other_org, "plugin-billing", Plugin.LifecycleState.DISABLED)

    response = admin_client.get("/admin/")

    data = widget(response, "plugins_lifecycle")
    assert {state["url"].split("=")[-1]: state["count"] for state in data["states"]} == {
        "registered": 0, "installed": 1, "active": 2, "disabled": 0, "uninstalled": 0}
    assert "/admin/plugins/plugin/?lifecycle_state__exact=active" in html_of(response, "plugins_lifecycle")


def test_recent_lifecycle_transitions_name_the_plugin_and_who(admin_client, org, other_org):
    crm = plugin(org, "plugin-crm")
    billing = plugin(other_org, "plugin-billing")
    for at, target, action in ((1, crm, "install"), (2, crm, "enable"), (3, billing, "install")):
        LifecycleTransition.objects.create(
            organization_id=target.organization_id, plugin=target, action=action, from_state="registered",
            to_state="installed" if action == "install" else "active", version="1.0.0", actor="ada", via="admin",
            at=timezone.now() - timedelta(minutes=10 - at))

    response = admin_client.get("/admin/")

    rows = widget(response, "lifecycle_transitions")["rows"]
    assert [(row["transition"].plugin.plugin_id, row["transition"].action) for row in rows] == [
        ("plugin-crm", "enable"), ("plugin-crm", "install")]
    html = html_of(response, "lifecycle_transitions")
    assert "Crm</a>" in html and "plugin-crm" in html and "plugin-billing" not in html and "badge-green" in html


# --- Failing syncs and sync outcomes -------------------------------------------------------------------


def test_failing_syncs_are_the_targets_whose_last_sync_failed_with_its_error(admin_client, org, other_org):
    now = timezone.now()
    broken = github_target(org, "acme/broken")
    sync_event(broken, SyncEvent.Status.COMPLETED, now - timedelta(hours=3), head_sha="a")
    sync_event(broken, SyncEvent.Status.FAILED, now - timedelta(hours=1), "GitHub answered 404: Not Found",
               head_sha="b")
    mended = github_target(org, "acme/mended")
    sync_event(mended, SyncEvent.Status.FAILED, now - timedelta(hours=2), "timeout", head_sha="c")
    sync_event(mended, SyncEvent.Status.COMPLETED, now - timedelta(hours=1), head_sha="d")
    partial = github_target(org, "acme/partial")
    sync_event(partial, SyncEvent.Status.PARTIAL, now - timedelta(minutes=5), head_sha="e",
               summary={"errors": [{"path": "skills/bad.md", "error": "front matter line 2: bad YAML"}]})
    sync_event(partial, SyncEvent.Status.QUEUED, None, "Attempt 1 of 5 failed, retrying in 30s", head_sha="f")
    theirs = github_target(other_org, "globex/secret", installation_id=777)
    sync_event(theirs, SyncEvent.Status.FAILED, now, "globex failure", head_sha="g")

    response = admin_client.get("/admin/")

    data = widget(response, "failing_syncs")
    assert [(row["event"].target.repository_full_name, row["error"]) for row in data["rows"]] == [
        ("acme/partial", "skills/bad.md: front matter line 2: bad YAML"),
        ("acme/broken", "GitHub answered 404: Not Found"),
    ]
    assert data["retrying"] == 1
    html = html_of(response, "failing_syncs")
    assert "globex" not in html and "badge-red" in html and "1 sync retrying" in html


def test_failing_syncs_and_their_chart_are_left_out_without_connectors(admin_client, org):
    names = cards(admin_client.get("/admin/"))

    assert "failing_syncs" not in names and "sync_outcomes_chart" not in names


def test_all_syncs_fine_says_so(admin_client, org):
    sync_event(github_target(org), SyncEvent.Status.COMPLETED, timezone.now())

    assert "last sync succeeded" in html_of(admin_client.get("/admin/"), "failing_syncs")


def test_sync_outcomes_are_counted_per_day_by_when_they_finished(org, other_org):
    target = github_target(org)
    days_ago = lambda days, hour=10: (NOW - timedelta(days=days)).replace(hour=hour)
    for finished, status in [
        (days_ago(0, 9), SyncEvent.Status.COMPLETED), (days_ago(0, 11), SyncEvent.Status.COMPLETED),
        (days_ago(0, 12), SyncEvent.Status.FAILED), (days_ago(1), SyncEvent.Status.PARTIAL),
        (days_ago(13), SyncEvent.Status.FAILED), (days_ago(14), SyncEvent.Status.FAILED),  # too old
    ]:
        sync_event(target, status, finished, head_sha=f"{finished:%d%H}{status}")
    sync_event(target, SyncEvent.Status.QUEUED, None, head_sha="open")  # not finished: not counted
    sync_event(github_target(other_org, "globex/x", installation_id=9), SyncEvent.Status.FAILED, NOW)

    outcomes = sync_outcomes(Scope(organization_ids=frozenset([org.pk])), now=NOW)

    assert outcomes["labels"][0] == "Nov 19" and outcomes["labels"][-1] == "Dec 02"
    assert outcomes["counts"][SyncEvent.Status.COMPLETED] == [0] * 13 + [2]
    assert outcomes["counts"][SyncEvent.Status.PARTIAL] == [0] * 12 + [1, 0]
    assert outcomes["counts"][SyncEvent.Status.FAILED] == [1] + [0] * 12 + [1]


def test_the_sync_chart_carries_the_counts(admin_client, org, time_machine):
    time_machine.move_to(NOW, tick=False)
    target = github_target(org)
    sync_event(target, SyncEvent.Status.COMPLETED, NOW - timedelta(hours=1), head_sha="a")
    sync_event(target, SyncEvent.Status.FAILED, NOW - timedelta(days=1), head_sha="b")

    chart = json.loads(widget(admin_client.get("/admin/"), "sync_outcomes_chart")["chart"])

    assert {dataset["label"]: dataset["data"][-2:] for dataset in chart["datasets"]} == {
        "Succeeded": [0, 1], "Partial": [0, 0], "Failed": [1, 0]}


# --- Config object versions and expiring keys ------------------------------------------------------------


def config_object(organization, title):
    obj = ConfigObject.objects.create(organization=organization, type="skill", title=title)
    ConfigObjectVersion.objects.create(config_object=obj, raw_source_text=f"---\nname: {title}\n---\n",
                                       sha256="0" * 64, reason="first")
    return obj


def test_recent_config_versions_name_the_object_and_its_type(admin_client, org, other_org, org_admin):
    summarize = config_object(org, "Summarize")
    ConfigObjectVersion.objects.create(config_object=summarize, raw_source_text="v2", sha256="1" * 64,
                                       created_by=org_admin.user)
    config_object(other_org, "Globex secret")
    gone = config_object(org, "Deleted one")
    ConfigObject.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())

    response = admin_client.get("/admin/")

    rows = widget(response, "config_versions")["rows"]
    assert [(row["object"].title, row["by"]) for row in rows] == [("Summarize", "ada"), ("Summarize", "Cloud")]
    html = html_of(response, "config_versions")
    assert "Globex secret" not in html and "Skill" in html
    assert admin_url("marketplaces_configobject_change", summarize.pk) in html


def test_keys_expiring_within_14_days_soonest_first(admin_client, org, other_org, crm_plugin):
    now = timezone.now()
    keys = {}
    for name, days, org_of, bound in [("soon", 2, org, crm_plugin), ("later", 10, org, None),
                                      ("far", 30, org, None), ("expired", -1, org, None),
                                      ("theirs", 1, other_org, None)]:
        key, _ = issue_api_key(org_of, name=name, plugin=bound)
        ApiKey.objects.filter(pk=key.pk).update(expires_at=now + timedelta(days=days))
        keys[name] = key
    revoked, _ = issue_api_key(org, name="revoked")
    ApiKey.objects.filter(pk=revoked.pk).update(expires_at=now + timedelta(days=1), revoked_at=now)

    response = admin_client.get("/admin/")

    rows = widget(response, "expiring_keys")["rows"]
    assert [(row["key"].name, row["acts_as"]) for row in rows] == [
        ("soon", "CRM (plugin-crm)"), ("later", "the organization (automation)")]
    html = html_of(response, "expiring_keys")
    assert "theirs" not in html and "badge-red" in html and "badge-yellow" in html


def test_an_empty_organization_gets_a_sensible_word_in_each_card(admin_client, org):
    response = admin_client.get("/admin/")

    html = response.content.decode()
    assert "No plugins in the catalog yet" in html
    assert "No services registered yet" in html
    assert "No calls through the plugin gateway in the last 24 hours" in html
    assert "No config objects yet" in html
    assert "No plugin has been installed" in html
    assert "No key expires in the next 14 days" in html


# --- Scope: another organization, all organizations -------------------------------------------------------


def test_a_superuser_on_all_organizations_sees_every_organizations_rows_named(superuser_client, org, other_org):
    now = timezone.now()
    service(org, "crm.search", now - timedelta(hours=1), status=U)
    service(other_org, "globex.billing", now - timedelta(hours=2), status=U, plugin_id="plugin-billing")

    response = superuser_client.get("/admin/")

    html = html_of(response, "services_health")
    assert "crm.search" in html and "globex.billing" in html
    assert "<th>Organization</th>" in html and "Globex" in html and "Acme Corp" in html
    assert [stat["count"] for stat in widget(response, "services_health")["stats"]] == [0, 0, 2]


def test_a_superuser_who_picked_an_organization_sees_only_it(superuser_client, org, other_org):
    service(other_org, "globex.billing", timezone.now() - timedelta(hours=2), status=U, plugin_id="plugin-billing")
    superuser_client.post("/admin/organization/", {"organization": org.pk})

    response = superuser_client.get("/admin/")

    assert "globex.billing" not in response.content.decode()
    assert widget(response, "services_health")["total"] == 0


def test_a_failing_widget_is_a_card_saying_so_not_a_broken_dashboard(admin_client, org, settings):
    settings.DEBUG = False

    def broken(request, scope):
        raise RuntimeError("boom")

    dashboard.register_widget("broken", "Broken", broken, "admin/dashboard/services_health.html", order=1)
    try:
        response = admin_client.get("/admin/")
    finally:
        dashboard._widgets.pop("broken")

    assert response.status_code == 200
    assert "could not be loaded" in html_of(response, "broken")
    assert "services_health" in cards(response)


def test_a_widget_width_is_one_to_four_columns():
    with pytest.raises(ValueError):
        dashboard.register_widget("wide", "Wide", lambda request, scope: {}, "x.html", width=5)


# --- Query count ----------------------------------------------------------------------------------------


def test_the_dashboard_does_not_query_more_with_1000_rows_of_each_kind(admin_client, org, other_org):
    now = timezone.now()
    crm = plugin(org, "plugin-crm")
    svc = service(org, "seed.service", now - timedelta(hours=1), status=U)
    target = github_target(org)
    sync_event(target, SyncEvent.Status.FAILED, now, "boom", head_sha="seed")
    config_object(org, "Seed")
    key, _ = issue_api_key(org, name="seed")
    ApiKey.objects.filter(pk=key.pk).update(expires_at=now + timedelta(days=3))
    hour = now.replace(minute=0, second=0, microsecond=0)
    GatewayCallStat.objects.create(organization=org, hour=hour, caller=crm, target_plugin_id="plugin-crm", calls=3)

    def grow():
        plugins = Plugin.objects.bulk_create(
            Plugin(organization=org, plugin_id=f"plugin-p{i}", name=f"P{i}", version="1.0.0",
                   lifecycle_state=Plugin.LifecycleState.choices[i % 5][0]) for i in range(1000))
        services = PluginService.objects.bulk_create(
            PluginService(organization=org, plugin=plugins[i], service_name=f"svc.{i}", version="1",
                          last_seen_at=now - timedelta(seconds=(0, 120, 3600)[i % 3]),
                          registered_at=now - timedelta(days=2)) for i in range(1000))
        ServiceStatusTransition.objects.bulk_create(
            ServiceStatusTransition(organization=org, service=services[i], from_status=H, to_status=D,
                                    at=now - timedelta(hours=i % 20), cause="sweep") for i in range(1000))
        ServiceStatusTransition.objects.bulk_create(
            ServiceStatusTransition(organization=org, service=svc, from_status=U, to_status=U,
                                    at=now - timedelta(minutes=i), cause="sweep") for i in range(1000))
        LifecycleTransition.objects.bulk_create(
            LifecycleTransition(organization=org, plugin=plugins[i], action="install", from_state="registered",
                                to_state="installed", version="1.0.0", actor="ada", via="admin")
            for i in range(1000))
        account = target.instance.account
        instances = ConnectorInstance.objects.bulk_create(
            ConnectorInstance(organization=org, account=account, name=f"inst {i}") for i in range(1000))
        targets = ConnectorTarget.objects.bulk_create(
            ConnectorTarget(organization=org, instance=instances[i], repository_id=i, repository_full_name=f"a/r{i}",
                            branch="main", ref="refs/heads/main") for i in range(1000))
        SyncEvent.objects.bulk_create(
            SyncEvent(organization=org, target=targets[i], event_type="push", head_sha=f"s{i}",
                      status=(SyncEvent.Status.FAILED, SyncEvent.Status.COMPLETED)[i % 2], error="boom",
                      finished_at=now - timedelta(days=i % 14)) for i in range(1000))
        objects = ConfigObject.objects.bulk_create(
            ConfigObject(organization=org, type="skill", title=f"Object {i}") for i in range(1000))
        ConfigObjectVersion.objects.bulk_create(
            ConfigObjectVersion(config_object=objects[i], raw_source_text="x", sha256="0" * 64) for i in range(1000))
        ApiKey.objects.bulk_create(
            ApiKey(organization=org, name=f"key {i}", prefix="plx_x", key_hash=f"{i:064d}",
                   expires_at=now + timedelta(days=1 + i % 13), plugin=plugins[i]) for i in range(1000))
        GatewayCallStat.objects.bulk_create(
            GatewayCallStat(organization=org, hour=hour - timedelta(hours=i % 24), caller=plugins[i],
                            target_plugin_id="plugin-crm", calls=10, errors=i % 3) for i in range(1000))

    _, response = assert_flat(admin_client, "/admin/", grow, ceiling=40)

    assert widget(response, "services_health")["total"] == 1001
    assert len(widget(response, "gateway_calls")["plugins"]) == 10
