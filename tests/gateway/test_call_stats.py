"""Gateway call counters: real calls through the gateway to a real upstream on 127.0.0.1, then the flush task,
then the numbers in GatewayCallStat (and on the dashboard)."""

import time
from datetime import UTC, datetime

import pytest
from django.conf import settings

from gateway import callstats
from gateway.models import GatewayCallStat
from plexica.plugins.models import Plugin
from plexica.tenancy.services import issue_api_key
from plexica.work.queue import registered_task
from tests.conftest import IssuedKey


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Counters of other tests (and the watermark) never leak into these."""
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        redis = get_redis_connection("default")
        for key in redis.scan_iter(callstats.KEY_PREFIX + "*"):
            redis.delete(key)
    callstats.reset_local_counters()
    yield
    callstats.reset_local_counters()


def flush():
    """The beat task, run by its registered name as the schedule does."""
    return registered_task("gateway.flush_call_stats").apply().get()


def stats():
    return {
        (row.caller.plugin_id, row.target_plugin_id): (row.calls, row.errors)
        for row in GatewayCallStat.objects.select_related("caller")
    }


def test_calls_are_counted_per_caller_and_target_and_flushed_by_the_task(call, contacts, grant, upstream,
                                                                          analytics_plugin):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    upstream.reply("/v2/contacts/1", 500, json={"error": "boom"})

    assert call("/contacts").status_code == 200
    assert call("/contacts").status_code == 200
    assert call("/contacts/1").status_code == 500  # the upstream's 5xx: an error
    assert call("/contacts/export").status_code == 403  # refused by the gateway (no grant): an error
    assert GatewayCallStat.objects.count() == 0  # nothing is written by a call

    assert flush() == 1

    row = GatewayCallStat.objects.get()
    assert (row.caller, row.target_plugin_id, row.calls, row.errors) == (analytics_plugin, "plugin-crm", 4, 2)
    assert row.organization_id == analytics_plugin.organization_id
    assert row.hour == datetime.fromtimestamp(time.time() // 3600 * 3600, tz=UTC)
    assert row.duration_ms >= 0


def test_a_second_flush_counts_nothing_twice_and_later_calls_are_added(call, contacts, grant, upstream):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    call("/contacts")
    flush()

    assert flush() == 0  # nothing changed: no row written
    assert stats() == {("plugin-analytics", "plugin-crm"): (1, 0)}

    call("/contacts")
    call("/contacts")
    flush()

    assert stats() == {("plugin-analytics", "plugin-crm"): (3, 0)}


def test_a_call_to_an_unknown_service_is_an_error_with_no_target(call, contacts, upstream):
    assert call("/contacts", targetServiceName="crm.nothing").status_code == 404

    flush()

    assert stats() == {("plugin-analytics", ""): (1, 1)}


def test_an_unreachable_upstream_counts_as_an_error(call, register, grant):
    from tests.gateway.upstream import closed_port

    register(f"http://127.0.0.1:{closed_port()}/v2")
    grant("crm:contacts:read")

    assert call("/contacts").status_code == 502
    flush()

    assert stats() == {("plugin-analytics", "plugin-crm"): (1, 1)}


def test_a_caller_the_key_may_not_act_as_is_not_counted(call, contacts, crm_plugin):
    response = call("/contacts", callerPluginId="plugin-crm")  # the analytics key naming another caller

    assert response.status_code == 403
    flush()
    assert GatewayCallStat.objects.count() == 0


def test_each_calling_plugin_has_its_own_row(api, call, contacts, grant, upstream, org):
    grant("crm:contacts:read")
    marketing = Plugin.objects.create(organization=org, plugin_id="plugin-marketing", name="Marketing")
    grant("crm:contacts:read", plugin=marketing)
    marketing_key = IssuedKey(*issue_api_key(org, name="marketing", plugin=marketing))
    upstream.reply("/v2/contacts", json=[])

    call("/contacts")
    for _ in range(3):
        call("/contacts", token=marketing_key.token, callerPluginId="plugin-marketing")
    flush()

    assert stats() == {("plugin-analytics", "plugin-crm"): (1, 0), ("plugin-marketing", "plugin-crm"): (3, 0)}


def test_the_flush_catches_up_on_earlier_hours_and_then_keeps_only_the_open_ones(analytics_plugin):
    now = time.time()
    three_hours_ago = now - 3 * 3600
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=12, now=three_hours_ago)
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=True, duration_ms=30, now=now)

    assert callstats.flush_call_stats(now=now) == 2

    rows = {row.hour: (row.calls, row.errors, row.duration_ms)
            for row in GatewayCallStat.objects.order_by("hour")}
    assert rows == {
        callstats.hour_start(callstats.hour_of(three_hours_ago)): (1, 0, 12),
        callstats.hour_start(callstats.hour_of(now)): (1, 1, 30),
    }
    # The old hour is final now: a late count for it is not read again (the watermark moved past it).
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=1, now=three_hours_ago)
    callstats.flush_call_stats(now=now)
    assert GatewayCallStat.objects.get(hour=callstats.hour_start(callstats.hour_of(three_hours_ago))).calls == 1


def test_a_stored_number_never_goes_backwards_when_the_counters_are_lost(analytics_plugin):
    now = time.time()
    for _ in range(5):
        callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=1, now=now)
    callstats.flush_call_stats(now=now)
    callstats.reset_local_counters()  # what a Redis restart does
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        get_redis_connection("default").delete(f"{callstats.KEY_PREFIX}{callstats.hour_of(now)}")
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=1, now=now)

    callstats.flush_call_stats(now=now)

    assert GatewayCallStat.objects.get().calls == 5


def test_the_flush_skips_the_counts_of_a_deleted_plugin(analytics_plugin, crm_plugin):
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=1)
    callstats.record_call(crm_plugin.pk, "", failed=True, duration_ms=1)
    crm_plugin.delete()

    assert callstats.flush_call_stats() == 1
    assert list(GatewayCallStat.objects.values_list("caller_id", flat=True)) == [analytics_plugin.pk]


def test_counting_adds_no_query_to_a_call(call, contacts, grant, upstream, django_assert_max_num_queries):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    call("/contacts")

    with django_assert_max_num_queries(1):  # the caller's grants, as without counting
        assert call("/contacts").status_code == 200


@pytest.mark.requires_redis
def test_with_redis_the_counters_are_one_hash_per_hour(call, contacts, grant, upstream, analytics_plugin):
    from django_redis import get_redis_connection

    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    call("/contacts")

    key = f"{callstats.KEY_PREFIX}{callstats.hour_of(time.time())}"
    fields = {name.decode(): int(value) for name, value in get_redis_connection("default").hgetall(key).items()}
    assert fields[f"c|{analytics_plugin.pk}|plugin-crm"] == 1
    assert f"e|{analytics_plugin.pk}|plugin-crm" not in fields
    assert 0 < get_redis_connection("default").ttl(key) <= callstats.KEEP_HOURS * 3600


def test_the_dashboard_shows_the_calls_and_errors_per_plugin(call, contacts, grant, upstream, org_admin, client):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    call("/contacts")
    call("/contacts")
    call("/contacts/export")  # 403: an error
    flush()
    client.force_login(org_admin.user)

    response = client.get("/admin/")

    widget = response.context["cards"]
    gateway = next(card for card in widget if card["widget"].name == "gateway_calls")["context"]
    assert gateway["calls"] == 3 and gateway["errors"] == 1
    assert [(p["plugin_id"], p["calls"], p["errors"]) for p in gateway["plugins"]] == [("plugin-analytics", 3, 1)]
    assert '"data":[3]' in gateway["chart"] and '"data":[1]' in gateway["chart"]


def test_durations_are_counted_in_buckets_and_the_dashboard_shows_p95(analytics_plugin, org_admin, client):
    now = time.time()
    for duration_ms in [3] * 90 + [40] * 8 + [400] * 2:  # p95 falls among the 25-50 ms calls
        callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=duration_ms, now=now)
    callstats.flush_call_stats(now=now)

    row = GatewayCallStat.objects.get()
    assert (row.ms_upto_5, row.ms_upto_50, row.ms_upto_500, row.ms_over_10000) == (90, 8, 2, 0)
    p95 = callstats.percentile([getattr(row, field) for field in callstats.BUCKET_FIELDS])
    assert 25 < p95 <= 50

    client.force_login(org_admin.user)
    cards = client.get("/admin/").context["cards"]
    gateway = next(card for card in cards if card["widget"].name == "gateway_calls")["context"]
    assert gateway["plugins"][0]["p95_ms"] == pytest.approx(p95)
    assert "p95 latency, ms" in gateway["latency_chart"]


def test_percentile_interpolates_within_the_bucket_and_stops_at_the_last_bound():
    buckets = [0] * len(callstats.BUCKET_FIELDS)
    assert callstats.percentile(buckets) is None
    buckets[callstats.bucket_of(7)] = 100  # all in (5, 10] ms
    assert callstats.percentile(buckets, 0.5) == pytest.approx(7.5)
    buckets = [0] * len(callstats.BUCKET_FIELDS)
    buckets[-1] = 1  # over 10 s
    assert callstats.percentile(buckets) == 10000
    assert callstats.bucket_of(5) == 0 and callstats.bucket_of(5.1) == 1 and callstats.bucket_of(10**6) == 11


def test_plugin_totals_count_each_call_once_across_flushes(analytics_plugin, crm_plugin, org, other_org):
    stranger = Plugin.objects.create(organization=other_org, plugin_id="plugin-x", name="X")
    now = time.time()
    old = now - 5 * 3600
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=10, now=old)
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=True, duration_ms=20, now=old)
    callstats.flush_call_stats(now=now)  # the old hour is final now, in GatewayCallStat only
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=5, now=now)
    callstats.flush_call_stats(now=now)  # the current hour: in the rows and still in the counters
    callstats.record_call(analytics_plugin.pk, "plugin-crm", failed=False, duration_ms=7, now=now)  # not flushed
    callstats.record_call(crm_plugin.pk, "plugin-analytics", failed=True, duration_ms=1, now=now)
    callstats.record_call(crm_plugin.pk, "", failed=True, duration_ms=1, now=now)  # reached no plugin
    callstats.record_call(stranger.pk, "plugin-crm", failed=False, duration_ms=99, now=now)  # another org's

    totals = callstats.plugin_totals(org.pk, now=now)

    assert totals == {
        "plugin-crm": {"requests_total": 4, "errors_total": 1, "latency_ms_sum": 42},
        "plugin-analytics": {"requests_total": 1, "errors_total": 1, "latency_ms_sum": 1},
    }
    assert callstats.plugin_totals(other_org.pk, now=now) == {
        "plugin-crm": {"requests_total": 1, "errors_total": 0, "latency_ms_sum": 99}}


def test_plugin_totals_of_500_plugins_take_two_queries(org, analytics_plugin, django_assert_num_queries):
    plugins = Plugin.objects.bulk_create([Plugin(organization=org, plugin_id=f"plugin-p{n}", name=f"P{n}")
                                          for n in range(500)])
    now = time.time()
    for plugin in plugins:
        callstats.record_call(analytics_plugin.pk, plugin.plugin_id, failed=False, duration_ms=3, now=now - 4 * 3600)
        callstats.record_call(analytics_plugin.pk, plugin.plugin_id, failed=False, duration_ms=3, now=now)
    callstats.flush_call_stats(now=now)

    with django_assert_num_queries(2):
        totals = callstats.plugin_totals(org.pk, now=now)
    with django_assert_num_queries(1):  # the caller knows the organization's plugins
        known = callstats.plugin_totals(org.pk, now=now, caller_pks={str(analytics_plugin.pk)})

    assert len(totals) == 500
    assert totals["plugin-p7"] == {"requests_total": 2, "errors_total": 0, "latency_ms_sum": 6}
    assert known == totals


def test_the_plugin_page_shows_its_calls_with_p95(call, contacts, grant, upstream, org_admin, client, crm_plugin):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts", json=[])
    call("/contacts")
    call("/contacts/export")  # 403: an error
    flush()
    client.force_login(org_admin.user)

    page = client.get(f"/admin/plugins/plugin/{crm_plugin.pk}/change/").content.decode()

    assert 'id="plugin-gateway-calls"' in page and 'id="plugin-gateway-charts"' in page
    from gateway.dashboard import plugin_call_stats

    stats = plugin_call_stats(crm_plugin)
    assert (stats["received"]["calls"], stats["received"]["errors"]) == (2, 1)
    assert stats["received"]["p95_ms"] is not None and stats["made"]["calls"] == 0
    assert sum(hour["calls"] for hour in stats["received"]["hours"]) == 2
