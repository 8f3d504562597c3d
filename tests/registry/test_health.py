"""Health derived from heartbeat age, and the sweep that persists its transitions."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from registry.models import PluginService, ServiceStatus, ServiceStatusTransition
from registry.services import (
    Registration,
    derive_status,
    discover_service,
    find_service,
    list_services,
    register_service,
    sweep_service_health,
)

T0 = datetime(2026, 1, 22, 20, 0, 0, tzinfo=UTC)
SERVICES = "/api/plugin-gateway/services"


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def register(org, service_name="crm.contacts", plugin_id="plugin-crm", now=T0):
    return register_service(
        Principal.system(org), Registration(plugin_id=plugin_id, service_name=service_name, version="1.0.0"), now=now
    )[0]


def history(service):
    return [
        (t.from_status, t.to_status, t.at, t.cause)
        for t in ServiceStatusTransition.objects.filter(service_id=service.pk).order_by("at", "id")
    ]


# --- Derived health ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "age, status",
    [
        (0, "HEALTHY"),
        (89.9, "HEALTHY"),
        (90, "HEALTHY"),
        (90.5, "DEGRADED"),
        (200, "DEGRADED"),
        (300, "DEGRADED"),
        (300.5, "UNAVAILABLE"),
        (86400, "UNAVAILABLE"),
    ],
)
def test_status_follows_the_age_of_the_last_heartbeat(age, status):
    assert derive_status(T0, now=at(age)) == status


def test_every_read_shows_the_derived_status_though_no_sweep_ran(org, api, org_key, time_machine):
    register(org, now=T0)
    client = api(org_key.token)

    def seen():
        services = client.get(SERVICES).json()["services"]
        return services[0]["status"], client.get(f"{SERVICES}/discover/crm.contacts").status_code

    time_machine.move_to(at(90), tick=False)
    assert seen() == ("HEALTHY", 200)
    time_machine.move_to(at(91), tick=False)
    assert seen() == ("DEGRADED", 200)
    time_machine.move_to(at(301), tick=False)
    assert seen() == ("UNAVAILABLE", 404)
    assert PluginService.objects.get().status == ServiceStatus.HEALTHY  # nothing was persisted
    assert not ServiceStatusTransition.objects.exists()


def test_both_thresholds_follow_the_settings(org, settings):
    settings.REGISTRY_DEGRADED_AFTER = 10
    settings.REGISTRY_UNAVAILABLE_AFTER = 20
    register(org, now=T0)
    assert find_service(org, "crm.contacts", now=at(9))["status"] == "HEALTHY"
    assert find_service(org, "crm.contacts", now=at(15))["status"] == "DEGRADED"
    assert [s["status"] for s in list_services(Principal.system(org), now=at(25))] == ["UNAVAILABLE"]
    unavailable = list_services(Principal.system(org), status="UNAVAILABLE", now=at(25))
    assert [s["serviceName"] for s in unavailable] == ["crm.contacts"]
    assert derive_status(T0, now=at(100)) == "UNAVAILABLE"


def test_a_cached_snapshot_still_reports_the_status_of_the_moment_it_is_read(org):
    register(org, now=T0)
    assert discover_service(Principal.system(org), "crm.contacts", now=at(1))["status"] == "HEALTHY"  # cached from here
    assert discover_service(Principal.system(org), "crm.contacts", now=at(120))["status"] == "DEGRADED"
    assert find_service(org, "crm.contacts", now=at(400))["status"] == "UNAVAILABLE"


# --- The sweep -----------------------------------------------------------------------------------


def test_the_sweep_leaves_a_fresh_service_alone(org):
    service = register(org, now=T0)
    assert sweep_service_health(now=at(90)) == {}
    assert PluginService.objects.get(pk=service.pk).status == ServiceStatus.HEALTHY
    assert history(service) == []


def test_the_sweep_persists_each_transition_and_records_it(org):
    service = register(org, now=T0)
    assert sweep_service_health(now=at(120)) == {ServiceStatus.DEGRADED: 1}
    assert PluginService.objects.get(pk=service.pk).status == ServiceStatus.DEGRADED
    assert sweep_service_health(now=at(400)) == {ServiceStatus.UNAVAILABLE: 1}
    assert PluginService.objects.get(pk=service.pk).status == ServiceStatus.UNAVAILABLE
    assert history(service) == [
        ("HEALTHY", "DEGRADED", at(120), "sweep"),
        ("DEGRADED", "UNAVAILABLE", at(400), "sweep"),
    ]
    transition = ServiceStatusTransition.objects.filter(service_id=service.pk).first()
    assert transition.organization_id == org.pk


def test_a_service_silent_past_both_thresholds_between_sweeps_goes_straight_to_unavailable(org):
    service = register(org, now=T0)
    sweep_service_health(now=at(400))
    assert history(service) == [("HEALTHY", "UNAVAILABLE", at(400), "sweep")]


def test_running_the_sweep_again_records_nothing_new(org):
    service = register(org, now=T0)
    sweep_service_health(now=at(120))
    assert sweep_service_health(now=at(120)) == {}
    assert sweep_service_health(now=at(130)) == {}
    assert len(history(service)) == 1


def test_the_sweep_records_a_recovery_it_did_not_see_happen(org):
    service = register(org, now=T0)
    sweep_service_health(now=at(120))
    # A last-seen time written without its status change (a heartbeat that lost a race with this sweep).
    PluginService.objects.filter(pk=service.pk).update(last_seen_at=at(125))
    assert sweep_service_health(now=at(130)) == {ServiceStatus.HEALTHY: 1}
    assert history(service)[-1] == ("DEGRADED", "HEALTHY", at(130), "sweep")


def test_the_sweep_covers_every_organization(org, other_org):
    acme = register(org, now=T0)
    globex = register(other_org, now=at(50))
    assert sweep_service_health(now=at(150)) == {ServiceStatus.DEGRADED: 2}
    assert history(acme)[0][1] == history(globex)[0][1] == "DEGRADED"
    transition = ServiceStatusTransition.objects.get(service_id=globex.pk)
    assert transition.organization_id == other_org.pk


def test_services_silent_longer_than_deregister_after_are_removed(org, settings):
    settings.REGISTRY_DEREGISTER_AFTER = 600
    register(org, "crm.archive", now=T0)
    quiet = register(org, "crm.deals", now=at(300))
    fresh = register(org, "crm.contacts", now=at(700))
    result = sweep_service_health(now=at(701))
    assert result["deregistered"] == 1
    assert set(PluginService.objects.values_list("pk", flat=True)) == {quiet.pk, fresh.pk}
    assert Plugin.objects.filter(organization=org, plugin_id="plugin-crm").exists()  # the plugin stays


def test_a_service_removed_by_the_sweep_disappears_from_a_warm_discover_cache(org, settings):
    settings.REGISTRY_DEREGISTER_AFTER = 120
    register(org, now=T0)
    system = Principal.system(org)
    assert discover_service(system, "crm.contacts", now=at(100))["status"] == "DEGRADED"  # cached from here
    sweep_service_health(now=at(130))
    assert find_service(org, "crm.contacts", now=at(130)) is None


def test_without_deregister_after_silent_services_are_kept_forever(org, settings):
    settings.REGISTRY_DEREGISTER_AFTER = 0
    service = register(org, now=T0)
    result = sweep_service_health(now=T0 + timedelta(days=30))
    assert "deregistered" not in result
    assert PluginService.objects.get(pk=service.pk).status == ServiceStatus.UNAVAILABLE


# --- Two sweeps at once (PostgreSQL: real concurrent transactions) -------------------------------


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_record_each_transition_exactly_once(org):
    services = [register(org, f"crm.part{index}", now=T0) for index in range(40)]
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait(timeout=10)
            return sweep_service_health(now=at(120))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [future.result(timeout=60) for future in [pool.submit(sweep), pool.submit(sweep)]]

    assert sum((Counter(result) for result in results), Counter()) == {ServiceStatus.DEGRADED: 40}
    recorded = Counter(ServiceStatusTransition.objects.values_list("service_id", flat=True))
    assert recorded == {service.pk: 1 for service in services}
    assert set(ServiceStatusTransition.objects.values_list("from_status", "to_status", "cause")) == {
        ("HEALTHY", "DEGRADED", "sweep")
    }
    assert set(PluginService.objects.values_list("status", flat=True)) == {ServiceStatus.DEGRADED}
