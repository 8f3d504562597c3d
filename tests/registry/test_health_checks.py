"""Active health checks against real services on 127.0.0.1: what counts as pass, warn and fail, the thresholds
that move a service's status both ways, the claim that keeps two runs from checking twice, retention, and the
plugin's lifecycle timestamps."""

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings

from dependencies.lifecycle import change_lifecycle
from plexica.events.models import Event
from plexica.plugins.models import Plugin
from plexica.tenancy.principal import Principal
from registry.health_checks import judge, run_health_checks
from registry.models import PluginService, ServiceHealthCheck, ServiceStatus, ServiceStatusTransition
from registry.services import (
    Registration,
    discover_service,
    find_service,
    list_services,
    record_heartbeat,
    register_service,
    sweep_service_health,
)
from tests.concurrency import run_together
from tests.gateway.upstream import Upstream

T0 = datetime(2026, 1, 22, 20, 0, 0, tzinfo=UTC)
HEALTH_JSON = {"Content-Type": "application/health+json"}
REGISTER = "/api/plugin-gateway/services/register"


def at(seconds):
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def _quiet_heartbeats(settings):
    """Heartbeats stay fresh for the whole test unless a test says otherwise: only the checks move status."""
    settings.REGISTRY_DEGRADED_AFTER = 3600
    settings.REGISTRY_UNAVAILABLE_AFTER = 7200
    settings.REGISTRY_HEALTH_CHECK_INTERVAL = 30
    settings.REGISTRY_HEALTH_CHECK_TIMEOUT_MS = 2000


@pytest.fixture
def upstream():
    with Upstream() as server:
        yield server


def register(org, base_url, service_name="crm.contacts", metadata=None, now=T0):
    return register_service(Principal.system(org), Registration(
        plugin_id="plugin-crm", service_name=service_name, version="1.0.0", base_url=base_url, metadata=metadata,
    ), now=now)[0]


def checks(service):
    return list(ServiceHealthCheck.objects.filter(service_id=service.pk).order_by("at", "id")
                .values_list("outcome", "http_status", "reason"))


def last_check(service):
    return ServiceHealthCheck.objects.filter(service_id=service.pk).order_by("-at", "-id").first()


def transitions(service):
    return list(ServiceStatusTransition.objects.filter(service_id=service.pk).order_by("at", "id")
                .values_list("from_status", "to_status", "cause"))


def status_events(org):
    return [(e.data["fromStatus"], e.data["toStatus"], e.data["cause"], e.actor_type)
            for e in Event.objects.filter(organization=org, type="service.status_changed").order_by("position")]


def run_periods(first, count):
    """One check run per period (30 s apart) from second `first`; the last run's counts."""
    result = None
    for index in range(count):
        result = run_health_checks(now=at(first + 30 * index))
    return result


def stored(service):
    return PluginService.objects.get(pk=service.pk)


# --- What a check concludes ----------------------------------------------------------------------


def test_a_plain_2xx_answer_passes_and_the_check_is_recorded(org, upstream):
    upstream.reply("/health", text="ok")
    service = register(org, upstream.url)

    assert run_health_checks(now=at(1)) == {"pass": 1}

    check = last_check(service)
    assert (check.outcome, check.http_status, check.reason, check.at) == ("pass", 200, "", at(1))
    assert check.url == f"{upstream.url}/health" and check.organization_id == org.pk
    assert 0 <= check.duration_ms < 2000
    [request] = upstream.requests_to("/health")
    assert request.method == "GET" and "application/health+json" in request.headers["accept"]
    row = stored(service)
    assert (row.last_check_at, row.last_check_outcome, row.check_successes, row.check_failures) == (
        at(1), "pass", 1, 0)


@pytest.mark.parametrize("status, body, outcome, reason", [
    (200, {"status": "pass"}, "pass", ""),
    (200, {"status": "warn", "output": "cache is cold"}, "warn", "cache is cold"),
    (200, {"status": "warn"}, "warn", "the service reports status warn"),
    (200, {"status": "fail", "output": "database unreachable"}, "fail", "database unreachable"),
    (503, {"status": "fail", "output": "database unreachable"}, "fail", "HTTP 503 error: database unreachable"),
    (200, {"status": "ok"}, "pass", ""),
    (200, {"status": "healthy", "checks": {"database": "healthy"}}, "pass", ""),  # the extensions seed's words
])
def test_health_json_answers_are_understood(org, upstream, status, body, outcome, reason):
    upstream.reply("/health", status, json=body, headers=HEALTH_JSON)
    service = register(org, upstream.url)
    run_health_checks(now=at(1))
    assert checks(service) == [(outcome, status, reason)]


def test_a_server_error_fails_with_its_status_as_the_reason(org, upstream):
    upstream.reply("/health", 500, text="Internal Server Error")
    service = register(org, upstream.url)
    assert run_health_checks(now=at(1)) == {"fail": 1}
    assert checks(service) == [("fail", 500, "HTTP 500 error: Internal Server Error")]


def test_a_redirect_is_not_followed_and_fails(org, upstream):
    upstream.reply("/health", 302, redirect="http://169.254.169.254/")
    service = register(org, upstream.url)
    run_health_checks(now=at(1))
    assert checks(service) == [("fail", 302, "HTTP 302 redirect (not followed)")]
    assert len(upstream.requests) == 1


def test_a_service_that_hangs_past_the_timeout_fails_quickly(org, upstream, settings):
    settings.REGISTRY_HEALTH_CHECK_TIMEOUT_MS = 300
    upstream.reply("/health", text="too late", delay=3)
    service = register(org, upstream.url)

    started = time.monotonic()
    assert run_health_checks(now=at(1)) == {"fail": 1}

    assert time.monotonic() - started < 2
    check = last_check(service)
    assert (check.outcome, check.http_status, check.reason) == ("fail", None, "no answer within 0.3s")
    assert 250 <= check.duration_ms < 1500


def test_a_body_that_stalls_past_the_timeout_fails(org, upstream, settings):
    settings.REGISTRY_HEALTH_CHECK_TIMEOUT_MS = 300
    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON, body_delay=3)
    service = register(org, upstream.url)
    run_health_checks(now=at(1))
    assert checks(service) == [("fail", 200, "no complete answer within 0.3s")]


@pytest.mark.parametrize("body, headers, reason", [
    (b"{not json", HEALTH_JSON, "malformed body: it is declared as JSON but does not parse"),
    (b'{"checks": {}}', HEALTH_JSON, 'malformed health body: no "status"'),
    (b'{"status": "splendid"}', HEALTH_JSON, "malformed health body: unknown status 'splendid'"),
    (b'["pass"]', HEALTH_JSON, 'malformed health body: no "status"'),
    (b"{not json", {"Content-Type": "application/json"}, "malformed body: it is declared as JSON but does not parse"),
])
def test_a_malformed_body_fails_with_the_reason(org, upstream, body, headers, reason):
    upstream.reply("/health", body=body, headers=headers)
    service = register(org, upstream.url)
    run_health_checks(now=at(1))
    assert checks(service) == [("fail", 200, reason)]


def test_a_huge_health_body_is_not_read_to_the_end(org, upstream):
    upstream.reply("/health", body=b'{"status": "pass", "pad": "' + b"x" * 1_000_000 + b'"}', headers=HEALTH_JSON)
    service = register(org, upstream.url)
    run_health_checks(now=at(1))
    assert checks(service) == [("fail", 200, "malformed health body: larger than 8 KiB")]


def test_a_huge_plain_answer_still_passes(org, upstream):
    upstream.reply("/health", oversized=1_000_000)
    service = register(org, upstream.url)
    run_health_checks(now=at(1))
    assert checks(service) == [("pass", 200, "")]


def test_a_refused_connection_fails(org):
    with socket.socket() as probe_socket:  # a port nobody listens on
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    service = register(org, f"http://127.0.0.1:{port}")
    run_health_checks(now=at(1))
    [(outcome, http_status, reason)] = checks(service)
    assert (outcome, http_status) == ("fail", None)
    assert reason.startswith("connection failed: ") and "refused" in reason.lower()


def test_an_address_outside_the_allowed_networks_is_a_failed_check_and_never_a_connection(org, upstream, settings):
    service = register(org, upstream.url)  # allowed when it registered; the policy changed since
    settings.GATEWAY_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    run_health_checks(now=at(1))

    assert checks(service) == [("fail", None, "refused by the network policy: address 127.0.0.1 is outside the "
                                              "allowed networks")]
    assert upstream.requests == []


def test_the_health_path_comes_from_the_registrations_metadata(org, upstream):
    upstream.reply("/v2/ops/ready", json={"status": "pass"}, headers=HEALTH_JSON)
    service = register(org, upstream.url + "/v2", metadata={"healthCheck": {"path": "/ops/ready?full=1"}})
    run_health_checks(now=at(1))
    assert checks(service) == [("pass", 200, "")]
    assert [r.path for r in upstream.requests] == ["/v2/ops/ready?full=1"]


def test_a_registration_may_switch_its_checks_off_and_a_service_without_base_url_is_never_checked(org, upstream):
    switched_off = register(org, upstream.url, metadata={"healthCheck": {"enabled": False}})
    no_url = register(org, "", service_name="crm.jobs")
    assert run_health_checks(now=at(1)) == {}
    assert upstream.requests == [] and checks(switched_off) == checks(no_url) == []


def test_the_switch_turns_checks_off_and_their_conclusion_no_longer_counts(org, upstream, settings):
    upstream.reply("/health", 500)
    service = register(org, upstream.url)
    run_periods(1, 5)
    assert find_service(org, "crm.contacts", now=at(130))["status"] == ServiceStatus.UNAVAILABLE

    settings.REGISTRY_HEALTH_CHECKS_ENABLED = False
    assert run_health_checks(now=at(200)) == {}
    assert len(checks(service)) == 5
    assert find_service(org, "crm.contacts", now=at(200))["status"] == ServiceStatus.HEALTHY
    assert sweep_service_health(now=at(200)) == {ServiceStatus.HEALTHY: 1}  # the sweep persists it


def test_judging_bodies_needs_no_server():
    assert judge(204, "", b"") == ("pass", "")
    assert judge(404, "text/html", b"<h1>Not Found</h1>") == ("fail", "HTTP 404 error: <h1>Not Found</h1>")
    assert judge(200, "application/json", b'{"ready": true}') == ("pass", "")
    assert judge(200, "application/health+json; charset=utf-8", b'{"status": "WARN"}') == (
        "warn", "the service reports status warn")


# --- Registration validates the health path ------------------------------------------------------


@pytest.mark.parametrize("health_check", [
    {"path": "http://evil.example/health"},
    {"path": "health"},
    {"path": "//evil.example/health"},
    {"path": "/../admin"},
    {"path": "/he alth"},
    {"path": 5},
    {"enabled": "no"},
    "/health",
])
def test_a_health_path_that_is_not_a_relative_path_is_a_400(api, org_key, org, health_check):
    response = api(org_key.token).post(REGISTER, {
        "pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
        "baseUrl": "http://127.0.0.1:3100", "metadata": {"healthCheck": health_check},
    }, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"
    assert "healthCheck" in response.json()["message"]
    assert not PluginService.objects.exists()


def test_a_relative_health_path_registers(api, org_key, org):
    response = api(org_key.token).post(REGISTER, {
        "pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
        "baseUrl": "http://127.0.0.1:3100", "metadata": {"healthCheck": {"path": "/ops/health?deep=1"}},
    }, format="json")
    assert response.status_code == 201, response.json()


# --- Thresholds: status both ways, transitions and events -----------------------------------------


def test_failures_degrade_then_make_unavailable_and_successes_recover(org, upstream):
    upstream.reply("/health", 500)
    service = register(org, upstream.url)

    run_periods(0, 1)
    assert stored(service).status == ServiceStatus.HEALTHY  # one failure is not enough (threshold 2)
    run_periods(30, 1)
    assert stored(service).status == ServiceStatus.DEGRADED
    assert find_service(org, "crm.contacts", now=at(31))["status"] == ServiceStatus.DEGRADED
    run_periods(60, 3)
    assert stored(service).status == ServiceStatus.UNAVAILABLE
    assert [s["status"] for s in list_services(Principal.system(org), now=at(121))] == ["UNAVAILABLE"]

    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON)
    run_periods(150, 1)
    assert stored(service).status == ServiceStatus.UNAVAILABLE  # one success is not enough (threshold 2)
    run_periods(180, 1)
    assert stored(service).status == ServiceStatus.HEALTHY

    assert transitions(service) == [("HEALTHY", "DEGRADED", "check"), ("DEGRADED", "UNAVAILABLE", "check"),
                                    ("UNAVAILABLE", "HEALTHY", "check")]
    assert status_events(org) == [("HEALTHY", "DEGRADED", "check", "system"),
                                  ("DEGRADED", "UNAVAILABLE", "check", "system"),
                                  ("UNAVAILABLE", "HEALTHY", "check", "system")]
    assert ServiceStatusTransition.objects.filter(service_id=service.pk).first().at == at(180)


def test_the_thresholds_are_settings(org, upstream, settings):
    settings.REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_DEGRADED = 1
    settings.REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_UNAVAILABLE = 1
    settings.REGISTRY_HEALTH_CHECK_SUCCESSES_BEFORE_HEALTHY = 3
    upstream.reply("/health", 500)
    service = register(org, upstream.url)
    run_periods(0, 1)
    assert transitions(service) == [("HEALTHY", "UNAVAILABLE", "check")]
    upstream.reply("/health", 200)
    run_periods(30, 2)
    assert stored(service).status == ServiceStatus.UNAVAILABLE
    run_periods(90, 1)
    assert stored(service).status == ServiceStatus.HEALTHY


def test_a_warning_degrades_a_healthy_service_at_once_and_a_pass_restores_it(org, upstream):
    upstream.reply("/health", json={"status": "warn", "output": "replica lagging"}, headers=HEALTH_JSON)
    service = register(org, upstream.url)
    run_periods(0, 3)
    assert stored(service).status == ServiceStatus.DEGRADED  # warnings never make it UNAVAILABLE
    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON)
    run_periods(90, 1)
    assert transitions(service) == [("HEALTHY", "DEGRADED", "check"), ("DEGRADED", "HEALTHY", "check")]


def test_a_transition_is_visible_at_once_through_a_warm_discovery_cache(org, upstream):
    upstream.reply("/health", 500)
    register(org, upstream.url)
    principal = Principal.system(org)
    assert discover_service(principal, "crm.contacts", now=at(1))["status"] == "HEALTHY"  # cached from here
    run_periods(0, 2)
    assert discover_service(principal, "crm.contacts", now=at(31))["status"] == "DEGRADED"
    run_periods(60, 3)
    with pytest.raises(Exception, match="Service not found"):
        discover_service(principal, "crm.contacts", now=at(121))


def test_a_stale_heartbeat_keeps_a_service_unavailable_whatever_its_checks_say(org, upstream, settings):
    settings.REGISTRY_DEGRADED_AFTER = 90
    settings.REGISTRY_UNAVAILABLE_AFTER = 300
    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON)
    service = register(org, upstream.url)
    sweep_service_health(now=at(400))
    run_periods(400, 3)
    assert checks(service) == [("pass", 200, "")] * 3
    assert stored(service).status == ServiceStatus.UNAVAILABLE
    assert find_service(org, "crm.contacts", now=at(461))["status"] == ServiceStatus.UNAVAILABLE
    assert transitions(service) == [("HEALTHY", "UNAVAILABLE", "sweep")]


def test_a_heartbeat_does_not_revive_a_service_whose_checks_fail(org, upstream):
    upstream.reply("/health", 500)
    service = register(org, upstream.url)
    run_periods(0, 5)
    record_heartbeat(Principal.system(org), service.pk, now=at(130))
    assert stored(service).status == ServiceStatus.UNAVAILABLE
    assert stored(service).last_seen_at == at(130)
    assert [cause for *_, cause in transitions(service)] == ["check", "check"]


def test_a_heartbeat_lifts_a_silent_service_only_as_far_as_its_checks_allow(org, upstream, settings):
    settings.REGISTRY_DEGRADED_AFTER = 90
    settings.REGISTRY_UNAVAILABLE_AFTER = 300
    upstream.reply("/health", json={"status": "warn"}, headers=HEALTH_JSON)
    service = register(org, upstream.url)
    run_periods(0, 1)
    sweep_service_health(now=at(400))
    record_heartbeat(Principal.system(org), service.pk, now=at(401))
    assert transitions(service)[-1] == ("UNAVAILABLE", "DEGRADED", "heartbeat")


def test_re_registering_another_url_forgets_what_the_checks_concluded(org, upstream):
    upstream.reply("/health", 500)
    service = register(org, upstream.url)
    run_periods(0, 5)
    register(org, upstream.url, now=at(130))  # the same URL: the failures still count
    assert stored(service).status == ServiceStatus.UNAVAILABLE
    with Upstream() as fixed:
        register(org, fixed.url, now=at(140))
        assert stored(service).status == ServiceStatus.HEALTHY
        assert run_health_checks(now=at(141)) == {"pass": 1}  # checked at once, not at the old claim's time
    assert transitions(service)[-1] == ("UNAVAILABLE", "HEALTHY", "register")


# --- Claims, concurrency, retention ----------------------------------------------------------------


def test_a_second_run_in_the_same_period_checks_nothing(org, upstream):
    for index in range(3):
        register(org, upstream.url, service_name=f"crm.part{index}")
    assert run_health_checks(now=at(0)) == {"pass": 3}
    assert run_health_checks(now=at(1)) == {}
    assert run_health_checks(now=at(20)) == {}
    assert run_health_checks(now=at(29)) == {"pass": 3}  # the next period, a little early
    assert len(upstream.requests_to("/health")) == 6


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_check_each_service_exactly_once(org, upstream):
    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON, delay=0.05)
    services = [register(org, upstream.url + f"/s{index}", service_name=f"crm.part{index}") for index in range(30)]
    for index in range(30):
        upstream.reply(f"/s{index}/health", json={"status": "pass"}, headers=HEALTH_JSON, delay=0.05)

    results = run_together(lambda: run_health_checks(now=at(0)), lambda: run_health_checks(now=at(0)))

    assert sum(result.get("pass", 0) for result in results) == 30
    assert sorted(len(upstream.requests_to(f"/s{index}/health")) for index in range(30)) == [1] * 30
    assert ServiceHealthCheck.objects.count() == 30
    assert {service.pk for service in services} == set(ServiceHealthCheck.objects.values_list("service_id",
                                                                                              flat=True))


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_check_and_heartbeats_racing_record_each_transition_once(org, upstream):
    upstream.reply("/health", 500)
    service = register(org, upstream.url)
    run_periods(0, 4)  # one failure short of UNAVAILABLE, DEGRADED now

    def beat():
        for second in range(121, 126):
            record_heartbeat(Principal.system(org), service.pk, now=at(second))

    run_together(lambda: run_health_checks(now=at(120)), beat)
    assert stored(service).status == ServiceStatus.UNAVAILABLE
    assert transitions(service) == [("HEALTHY", "DEGRADED", "check"), ("DEGRADED", "UNAVAILABLE", "check")]


def test_many_services_are_checked_concurrently(org, upstream, settings):
    settings.REGISTRY_HEALTH_CHECK_CONCURRENCY = 20
    upstream.reply("/health", text="ok", delay=0.2)
    for index in range(40):
        register(org, upstream.url, service_name=f"crm.part{index}")
    started = time.monotonic()
    assert run_health_checks(now=at(0)) == {"pass": 40}
    assert time.monotonic() - started < 40 * 0.2 / 4  # one at a time would take 8 s


def test_only_the_newest_checks_of_each_service_are_kept(org, upstream, settings):
    settings.REGISTRY_HEALTH_CHECK_HISTORY = 3
    first = register(org, upstream.url)
    second = register(org, upstream.url, service_name="crm.jobs")
    run_periods(0, 5)
    for service in (first, second):
        assert list(ServiceHealthCheck.objects.filter(service_id=service.pk).values_list("at", flat=True)) == [
            at(120), at(90), at(60)]


def test_the_beat_runs_the_check_task_by_name_every_interval():
    entry = django_settings.CELERY_BEAT_SCHEDULE["registry-check-service-health"]
    assert entry["task"] == "registry.check_service_health"
    assert entry["schedule"] == float(django_settings.REGISTRY_HEALTH_CHECK_INTERVAL)
    assert entry["options"]["expires"] < entry["schedule"]


def test_the_task_runs_the_checks(org, upstream):
    from plexica.work.queue import registered_task

    register(org, upstream.url)
    registered_task("registry.check_service_health").apply(throw=True)
    assert len(upstream.requests_to("/health")) == 1


# --- Lifecycle timestamps ----------------------------------------------------------------------


@pytest.fixture
def installed(org, crm_plugin, time_machine):
    time_machine.move_to(T0, tick=False)
    change_lifecycle(Principal.system(org), "plugin-crm", "install")
    crm_plugin.refresh_from_db()
    return crm_plugin


def test_installing_stamps_installed_at_and_clears_loaded_at(org, crm_plugin, time_machine):
    time_machine.move_to(T0, tick=False)
    Plugin.objects.filter(pk=crm_plugin.pk).update(loaded_at=at(-100))
    change_lifecycle(Principal.system(org), "plugin-crm", "install")
    crm_plugin.refresh_from_db()
    assert (crm_plugin.installed_at, crm_plugin.loaded_at) == (T0, None)


def test_the_first_healthy_heartbeat_after_install_sets_loaded_at_once(org, installed):
    service = register(org, "", now=at(-10))  # registered before the install: loaded_at waits for a sign of life
    Plugin.objects.filter(pk=installed.pk).update(loaded_at=None)
    record_heartbeat(Principal.system(org), service.pk, now=at(5))
    record_heartbeat(Principal.system(org), service.pk, now=at(35))
    installed.refresh_from_db()
    assert (installed.installed_at, installed.loaded_at) == (T0, at(5))


def test_a_healthy_registration_after_install_sets_loaded_at(org, installed):
    register(org, "", now=at(7))
    installed.refresh_from_db()
    assert installed.loaded_at == at(7)


def test_a_passing_check_sets_loaded_at_and_a_failing_one_does_not(org, installed, upstream):
    service = register(org, upstream.url, now=at(-10))
    Plugin.objects.filter(pk=installed.pk).update(loaded_at=None)
    upstream.reply("/health", 500)
    run_periods(0, 1)
    assert Plugin.objects.get(pk=installed.pk).loaded_at is None
    upstream.reply("/health", 200)
    run_periods(30, 1)
    assert Plugin.objects.get(pk=installed.pk).loaded_at == at(30)
    assert stored(service).status == ServiceStatus.HEALTHY


def test_a_plugin_never_installed_gets_no_loaded_at(org, crm_plugin):
    service = register(org, "")
    record_heartbeat(Principal.system(org), service.pk, now=at(5))
    crm_plugin.refresh_from_db()
    assert (crm_plugin.installed_at, crm_plugin.loaded_at) == (None, None)


def test_a_healthy_heartbeat_costs_two_queries_once_loaded_at_is_set(org, installed, django_assert_num_queries):
    service = register(org, "", now=at(1))
    assert Plugin.objects.get(pk=installed.pk).loaded_at == at(1)
    with django_assert_num_queries(2):  # read and update, as before the checks
        record_heartbeat(Principal.system(org), service.pk, now=at(5))


def test_only_the_first_healthy_heartbeat_after_install_pays_one_more_query(org, installed,
                                                                            django_assert_num_queries):
    service = register(org, "", now=at(-10))
    Plugin.objects.filter(pk=installed.pk).update(loaded_at=None)
    with django_assert_num_queries(3):
        record_heartbeat(Principal.system(org), service.pk, now=at(5))
    with django_assert_num_queries(2):
        record_heartbeat(Principal.system(org), service.pk, now=at(6))


def test_a_check_run_costs_a_bounded_number_of_queries_per_service(org, upstream, django_assert_max_num_queries):
    for index in range(10):
        register(org, upstream.url, service_name=f"crm.part{index}")
    # candidates, claims (1 each), per check: read, organization once, insert, update; the purge's two.
    with django_assert_max_num_queries(2 + 10 * 4 + 1 + 2):
        assert run_health_checks(now=at(0)) == {"pass": 10}


def test_five_hundred_services_are_checked_within_one_period(org, monkeypatch):
    from tests.gateway import upstream as upstream_module

    monkeypatch.setattr(upstream_module._Server, "request_queue_size", 256)  # the stub's backlog, not ours
    upstream = Upstream().start()
    try:
        check_five_hundred(org, upstream)
    finally:
        upstream.stop()


def check_five_hundred(org, upstream):
    upstream.reply("/health", json={"status": "pass"}, headers=HEALTH_JSON, delay=0.1)
    plugin = Plugin.objects.create(organization=org, plugin_id="plugin-bulk", name="Bulk", version="1.0.0")
    PluginService.objects.bulk_create(
        PluginService(organization=org, plugin=plugin, service_name=f"bulk.s{index}", version="1.0.0",
                      base_url=upstream.url, last_seen_at=T0) for index in range(500))
    started = time.monotonic()
    result = run_health_checks(now=at(0))
    assert result == {"pass": 500}, set(ServiceHealthCheck.objects.values_list("reason", flat=True))
    assert time.monotonic() - started < django_settings.REGISTRY_HEALTH_CHECK_INTERVAL
    assert ServiceHealthCheck.objects.count() == 500


def test_a_check_leaves_a_change_the_heartbeats_age_alone_makes_to_the_sweep(org, upstream, settings):
    settings.REGISTRY_DEGRADED_AFTER = 90
    settings.REGISTRY_UNAVAILABLE_AFTER = 300
    service = register(org, upstream.url)
    run_periods(100, 1)  # passes, but the heartbeat is 100 s old: DEGRADED, which is not the check's doing
    assert transitions(service) == []
    assert find_service(org, "crm.contacts", now=at(100))["status"] == ServiceStatus.DEGRADED
    sweep_service_health(now=at(101))
    assert transitions(service) == [("HEALTHY", "DEGRADED", "sweep")]
