"""GET /metrics: the exposition, its token, the HTTP and task series and the bound on label values."""

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from plexica.observability import metrics
from plexica.tenancy.principal import Principal
from plexica.work.queue import registered_task
from tests.observability.scrape import parse, series, value

SEED_FAMILIES = {
    # the seed's names (counters are named without `_total` by the parser)
    "http_requests": "counter", "task_executions": "counter", "extension_requests": "counter",
    "extension_request_duration_seconds": "histogram", "extension_errors": "counter",
    "extension_active_connections": "gauge",
    # the platform's own
    "plexica_heartbeats": "counter", "plexica_services": "gauge", "plexica_shared_data_operations": "counter",
    "plexica_dependency_resolutions": "counter", "plexica_sync_outcomes": "counter",
    "plexica_webhook_delivery_attempts": "counter", "plexica_integration_executions": "counter",
}


def test_the_exposition_parses_and_has_the_seeds_series(db, scrape, client):
    client.get("/healthz")

    samples, families = scrape()

    assert {name: families[name].type for name in SEED_FAMILIES} == SEED_FAMILIES
    assert value(samples, "http_requests_total", method="GET", endpoint="/healthz", status="200") == 1


def test_the_seeds_path_answers_the_same(db, scrape):
    samples, families = scrape(path="/ext/observability/metrics")

    assert "extension_requests" in families


@override_settings(METRICS_TOKEN="s3cret-metrics-token")
@pytest.mark.parametrize("path", ["/metrics", "/ext/observability/metrics"])
def test_with_a_token_set_only_its_bearer_reads_the_metrics(db, client, path, scrape):
    missing = client.get(path)
    wrong = client.get(path, HTTP_AUTHORIZATION="Bearer s3cret-metrics-tokeN")
    not_bearer = client.get(path, HTTP_AUTHORIZATION="Basic s3cret-metrics-token")

    for response in (missing, wrong, not_bearer):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith('Bearer realm="metrics"')
        assert response.json()["error"] == "Unauthorized"
    assert 'error="invalid_token"' in wrong["WWW-Authenticate"]
    scrape(token="s3cret-metrics-token", path=path)  # 200


@override_settings(METRICS_TOKEN="", REDIS_URL=None)
def test_without_a_token_the_embedded_mode_is_open(db, scrape):
    scrape()


@override_settings(METRICS_TOKEN="", REDIS_URL="redis://127.0.0.1:6379/0")
def test_without_a_token_full_mode_refuses_and_says_what_to_set(db, client):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")

    assert response.status_code == 401
    assert "METRICS_TOKEN is not set" in response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_system_check_warns_when_full_mode_has_no_token():
    with override_settings(METRICS_TOKEN="", REDIS_URL="redis://127.0.0.1:6379/0"):
        assert "plexica.W010" in [message.id for message in run_checks()]
    with override_settings(METRICS_TOKEN="set", REDIS_URL="redis://127.0.0.1:6379/0"):
        assert "plexica.W010" not in [message.id for message in run_checks()]


def test_with_metrics_off_nothing_is_recorded_and_the_endpoint_is_gone(db, client):
    with override_settings(METRICS_ENABLED=False):
        metrics.count_http_request("GET", "/healthz", 200)
        metrics.count_task("gateway.flush_call_stats", "SUCCESS")
        response = client.get("/metrics")

    assert response.status_code == 404
    samples, _ = parse(metrics.exposition().decode())
    assert series(samples, "http_requests_total") == [] and series(samples, "task_executions_total") == []


def test_requests_are_counted_by_route_template_method_and_status(db, scrape, client):
    client.get("/api/v1/plugins/plugin-crm")  # no key: 401
    client.get("/api/v1/plugins/plugin-other")
    client.post("/healthz")  # 405
    client.get("/no/such/page")
    client.get("/api/v1/no-such-endpoint")  # the API's catch-all 404

    samples, _ = scrape()

    assert value(samples, "http_requests_total", method="GET", endpoint="/api/v1/plugins/{plugin_id}",
                 status="401") == 2
    assert value(samples, "http_requests_total", method="POST", endpoint="/healthz", status="405") == 1
    assert value(samples, "http_requests_total", method="GET", endpoint="unmatched", status="404") == 2
    assert not any("plugin-crm" in labels["endpoint"] for labels in series(samples, "http_requests_total"))


@pytest.mark.timeout(600)
def test_ten_thousand_distinct_raw_paths_make_no_new_series(db, client, scrape):
    for n in range(5000):
        client.get(f"/api/v1/plugins/plugin-{n}")  # a route: its template
        client.get(f"/random/{n}/page")  # no route: unmatched
    samples, _ = scrape()

    assert sorted((labels["endpoint"], labels["status"]) for labels in series(samples, "http_requests_total")) == [
        ("/api/v1/plugins/{plugin_id}", "401"), ("unmatched", "404")]
    assert value(samples, "http_requests_total", method="GET", endpoint="unmatched", status="404") == 5000


@override_settings(METRICS_MAX_SERIES=10)
def test_past_the_series_bound_new_label_sets_count_as_other(db):
    for n in range(50):
        metrics.count_shared_data(f"operation-{n}", "ok")

    samples, _ = parse(metrics.exposition().decode())

    assert len(series(samples, "plexica_shared_data_operations_total")) == 11
    assert value(samples, "plexica_shared_data_operations_total", operation="other", outcome="other") == 40


def test_a_methods_outside_the_known_ones_is_other(db):
    metrics.count_http_request("BREW", "/healthz", 418)

    samples, _ = parse(metrics.exposition().decode())

    assert value(samples, "http_requests_total", method="other", endpoint="/healthz", status="418") == 1


def test_task_executions_are_counted_by_task_and_state(db, scrape):
    registered_task("gateway.flush_call_stats").apply()
    registered_task("gateway.flush_call_stats").apply()

    samples, _ = scrape()

    assert value(samples, "task_executions_total", task="gateway.flush_call_stats", status="success") == 2


def test_services_by_health_are_computed_at_scrape_time_in_one_query(org, crm_plugin, scrape,
                                                                     django_assert_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from registry.models import PluginService
    from registry.services import Registration, register_service

    for name in ("crm.a", "crm.b", "crm.c"):
        register_service(Principal.system(org), Registration(plugin_id="plugin-crm", service_name=name,
                                                             version="1.0.0", base_url="http://127.0.0.1:9/",
                                                             endpoints=[]))
    PluginService.objects.filter(service_name="crm.c").update(last_seen_at=timezone.now() - timedelta(hours=1))

    with django_assert_num_queries(1):
        samples, _ = parse(metrics.exposition().decode())

    assert value(samples, "plexica_services", organization="acme-corp", status="healthy") == 2
    assert value(samples, "plexica_services", organization="acme-corp", status="unavailable") == 1
    assert value(samples, "plexica_services", organization="acme-corp", status="degraded") == 0


def test_heartbeats_are_counted_and_a_recovery_apart(org, crm_plugin, scrape):
    from datetime import timedelta

    from django.utils import timezone

    from registry.models import PluginService
    from registry.services import Registration, record_heartbeat, register_service, sweep_service_health

    service, _ = register_service(Principal.system(org), Registration(
        plugin_id="plugin-crm", service_name="crm.a", version="1.0.0", base_url="http://127.0.0.1:9/", endpoints=[]))
    service_id = service.pk if hasattr(service, "pk") else service["id"]
    record_heartbeat(Principal.system(org), service_id)
    PluginService.objects.filter(pk=service_id).update(last_seen_at=timezone.now() - timedelta(hours=1))
    sweep_service_health()
    record_heartbeat(Principal.system(org), service_id)

    samples, _ = scrape()

    assert value(samples, "plexica_heartbeats_total", result="healthy") == 1
    assert value(samples, "plexica_heartbeats_total", result="recovered") == 1


def test_shared_data_operations_are_counted_with_their_outcome(org, crm_plugin, scrape):
    from plexica.errors import NotFound
    from shareddata.services import Write as EntryWrite, delete_entry, get_entry, set_entry

    principal = Principal.system(org)
    set_entry(principal, EntryWrite(namespace="crm.cache", key="k", value=1, owner_id="plugin-crm"))
    get_entry(principal, "crm.cache", "k")
    delete_entry(principal, "crm.cache", "k")
    with pytest.raises(NotFound):
        get_entry(principal, "crm.cache", "k")

    samples, _ = scrape()

    assert value(samples, "plexica_shared_data_operations_total", operation="set", outcome="ok") == 1
    assert value(samples, "plexica_shared_data_operations_total", operation="get", outcome="ok") == 1
    assert value(samples, "plexica_shared_data_operations_total", operation="delete", outcome="ok") == 1
    assert value(samples, "plexica_shared_data_operations_total", operation="get", outcome="not_found") == 1


def test_dependency_resolutions_are_counted_by_outcome(org, crm_plugin, scrape):
    from dependencies.services import resolve_dependencies

    resolve_dependencies(Principal.system(org), "plugin-crm")

    samples, _ = scrape()

    assert value(samples, "plexica_dependency_resolutions_total", outcome="valid") == 1
