"""The gateway's extension_* series: real calls through the gateway to a real upstream on 127.0.0.1."""

import threading
import time

import pytest
from django.test import override_settings

from plexica.observability import metrics
from tests.observability.scrape import parse, series, value

LABELS = {"organization": "acme-corp", "extension": "plugin-crm"}


@pytest.fixture(autouse=True)
def _fresh_metrics():
    metrics.reset()
    yield
    metrics.reset()


def scrape():
    return parse(metrics.exposition().decode())[0]


def test_a_call_is_counted_under_its_target_plugin_and_endpoint_template(call, contacts, grant, upstream):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts/42", json={"id": 42})
    upstream.reply("/v2/contacts/43", json={"id": 43})

    assert call("/contacts/42").status_code == 200
    assert call("/contacts/43").status_code == 200

    samples = scrape()
    assert value(samples, "extension_requests_total", **LABELS, endpoint="/contacts/:id", method="GET",
                 status="200") == 2
    assert value(samples, "extension_request_duration_seconds_count", **LABELS, endpoint="/contacts/:id",
                 method="GET") == 2
    assert series(samples, "extension_errors_total") == []
    assert not any("42" in labels["endpoint"] for labels in series(samples, "extension_requests_total"))


def test_the_duration_histogram_is_in_seconds(call, contacts, grant, upstream):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[], delay=0.3)

    call("/contacts")

    samples = scrape()
    labels = {**LABELS, "endpoint": "/contacts", "method": "GET"}
    total = value(samples, "extension_request_duration_seconds_sum", **labels)
    assert 0.3 <= total < 5  # seconds, not milliseconds
    assert value(samples, "extension_request_duration_seconds_bucket", **labels, le="0.25") == 0
    assert value(samples, "extension_request_duration_seconds_bucket", **labels, le="10.0") == 1
    assert value(samples, "extension_request_duration_seconds_bucket", **labels, le="+Inf") == 1


def test_errors_are_counted_by_type(call, contacts, grant, upstream):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts/1", 500, json={"error": "boom"})

    assert call("/contacts/1").status_code == 500
    assert call("/contacts/export").status_code == 403  # no grant
    assert call("/nowhere/at/all").status_code == 404  # no such endpoint
    assert call("/contacts", targetServiceName="crm.nothing").status_code == 404  # no such service

    samples = scrape()
    assert value(samples, "extension_errors_total", **LABELS, endpoint="/contacts/:id",
                 error_type="upstream_5xx") == 1
    assert value(samples, "extension_errors_total", **LABELS, endpoint="/contacts/export", error_type="forbidden") == 1
    assert value(samples, "extension_errors_total", **LABELS, endpoint="unmatched", error_type="not_found") == 1
    assert value(samples, "extension_errors_total", organization="acme-corp", extension="unmatched",
                 endpoint="unmatched", error_type="not_found") == 1
    assert value(samples, "extension_requests_total", **LABELS, endpoint="/contacts/export", method="GET",
                 status="403") == 1


def test_a_call_in_flight_is_an_active_connection_until_it_ends(call, contacts, grant, upstream):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[], delay=1.0)
    gauge = metrics.extension_active_connections.metric.labels("acme-corp", "plugin-crm", "/contacts")
    seen, done = [], threading.Event()

    def watch():  # the call holds this thread's test transaction: watch the gauge from another one
        while not done.is_set():
            seen.append(gauge._value.get())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert call("/contacts").status_code == 200
    finally:
        done.set()
        watcher.join()

    assert max(seen) == 1
    assert value(scrape(), "extension_active_connections", **LABELS, endpoint="/contacts") == 0


@pytest.mark.timeout(300)
def test_distinct_raw_paths_make_no_new_series(call, contacts, grant, upstream):
    grant("crm:contacts:read")
    for n in range(300):
        upstream.reply(f"/v2/contacts/{n}", json={"id": n})
    for n in range(300):
        call(f"/contacts/{n}")  # one template
        call(f"/unknown/{n}")  # no endpoint: unmatched

    samples = scrape()
    assert sorted(labels["endpoint"] for labels in series(samples, "extension_requests_total")) == [
        "/contacts/:id", "unmatched"]


def test_metrics_add_no_query_to_a_call(call, contacts, grant, upstream, django_assert_max_num_queries):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    call("/contacts")

    with django_assert_max_num_queries(1):  # the caller's grants, as without metrics
        assert call("/contacts").status_code == 200
    with override_settings(METRICS_ENABLED=False), django_assert_max_num_queries(1):
        assert call("/contacts").status_code == 200
    assert value(scrape(), "extension_requests_total", **LABELS, endpoint="/contacts", method="GET",
                 status="200") == 2  # the call with metrics off is not counted
