import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from plexica.plugins.models import Plugin
from plexica.tenancy.services import issue_api_key
from shareddata.models import SharedEntry
from shareddata.services import purge_expired

URL = "/api/plugin-gateway/shared-data"


@pytest.fixture
def analytics_plugin(org):
    return Plugin.objects.create(organization=org, plugin_id="plugin-analytics", name="Analytics")


@pytest.fixture
def analytics_key(org, analytics_plugin):
    return issue_api_key(org, name="analytics", plugin=analytics_plugin)[1]


def put(client, namespace="crm.cache", key="contact_count", value=1250, owner="plugin-crm", **extra):
    headers = {"HTTP_IF_MATCH": extra.pop("if_match")} if "if_match" in extra else {}
    return client.post(URL, {"namespace": namespace, "key": key, "value": value, "ownerId": owner, **extra},
                       format="json", **headers)


def test_set_then_get_round_trips_exactly_as_the_seed_shows(api, plugin_key):
    client = api(plugin_key.token)
    response = put(client, ttl=3600)
    assert response.status_code == 201
    assert response.json() == {"success": True, "message": "Data stored successfully"}
    got = client.get(f"{URL}/crm.cache/contact_count")
    assert got.status_code == 200
    assert {k: got.json()[k] for k in ("namespace", "key", "value")} == {
        "namespace": "crm.cache", "key": "contact_count", "value": 1250}
    assert got.json()["ownerId"] == "plugin-crm"
    assert got["ETag"] == response["ETag"]


@pytest.mark.parametrize("value", [None, 0, "", [], {}, {"nested": {"list": [1, 2.5, None, True]}}, "ünïcødé"])
def test_any_json_value_round_trips_including_null(api, plugin_key, value):
    client = api(plugin_key.token)
    assert put(client, value=value).status_code == 201
    got = client.get(f"{URL}/crm.cache/contact_count")
    assert got.status_code == 200
    assert got.json()["value"] == value


def test_a_missing_entry_is_404_with_the_seed_error(api, plugin_key):
    response = api(plugin_key.token).get(f"{URL}/crm.cache/nothing")
    assert response.status_code == 404
    assert response.json()["error"] == "Data not found"


@pytest.mark.parametrize("field", ["namespace", "key", "ownerId"])
@pytest.mark.parametrize("value", [True, 7, 1.5, [], ["plugin-crm"], {"a": 1}])
def test_a_non_string_name_is_400_naming_it_and_stores_nothing(api, plugin_key, field, value):
    # A RegexField failed a list with its "plugin-{name}" message, which DRF str.format()s (a 500);
    # it took 7 as "7".
    response = put(api(plugin_key.token), **{"owner" if field == "ownerId" else field: value})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request", "message": f"{field}: Must be a string."}
    assert not SharedEntry.objects.exists()


@pytest.mark.parametrize("ttl", [0, -5, 1.5, "60", True, "sixty", [60]])
def test_a_bad_ttl_is_400_and_stores_nothing(api, plugin_key, ttl):
    response = put(api(plugin_key.token), ttl=ttl)
    assert response.status_code == 400
    assert response.json()["message"].startswith("ttl:")
    assert not SharedEntry.objects.exists()


def test_a_whole_number_ttl_written_as_a_float_is_accepted(api, plugin_key):
    assert put(api(plugin_key.token), ttl=60.0).status_code == 201


@pytest.mark.parametrize(
    ("field", "bad"), [("namespace", "has space"), ("namespace", "-leading"), ("key", "x" * 129), ("key", "a/b")]
)
def test_bad_namespace_or_key_is_400_naming_it(api, plugin_key, field, bad):
    response = put(api(plugin_key.token), **{field: bad})
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_missing_value_is_400(api, plugin_key):
    response = api(plugin_key.token).post(
        URL, {"namespace": "n", "key": "k", "ownerId": "plugin-crm"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "Missing required field: value"


def test_a_value_over_the_limit_is_413(api, plugin_key, settings):
    settings.SHAREDDATA_MAX_VALUE_BYTES = 100
    response = put(api(plugin_key.token), value="x" * 200)
    assert response.status_code == 413
    assert not SharedEntry.objects.exists()


def test_a_non_json_body_is_415(api, plugin_key):
    response = api(plugin_key.token).post(URL, "namespace=x", content_type="text/plain")
    assert response.status_code == 415


# --- Expiry -------------------------------------------------------------------------------------


def test_an_expired_entry_is_never_returned_listed_or_counted(api, plugin_key, time_machine):
    client = api(plugin_key.token)
    put(client, key="short", ttl=10)
    put(client, key="forever")
    assert client.get(f"{URL}/crm.cache").json()["count"] == 2
    time_machine.move_to(timezone.now() + timedelta(seconds=11))
    assert client.get(f"{URL}/crm.cache/short").status_code == 404
    listing = client.get(f"{URL}/crm.cache").json()
    assert listing["keys"] == ["forever"] and listing["count"] == 1
    assert client.delete(f"{URL}/crm.cache/short").status_code == 404
    assert SharedEntry.objects.filter(key="short").exists()  # the row waits for the purge


def test_an_expired_entry_of_another_plugin_can_be_claimed(api, plugin_key, analytics_key, time_machine):
    put(api(plugin_key.token), ttl=5)
    time_machine.move_to(timezone.now() + timedelta(seconds=6))
    assert put(api(analytics_key), owner="plugin-analytics", value=7).status_code == 201
    assert api(plugin_key.token).get(f"{URL}/crm.cache/contact_count").json()["ownerId"] == "plugin-analytics"


def test_purge_removes_only_expired_rows(api, plugin_key, time_machine):
    client = api(plugin_key.token)
    put(client, key="a", ttl=5)
    put(client, key="b", ttl=500)
    put(client, key="c")
    time_machine.move_to(timezone.now() + timedelta(seconds=10))
    assert purge_expired(batch_size=1) == 1
    assert sorted(SharedEntry.objects.values_list("key", flat=True)) == ["b", "c"]


# --- Ownership ----------------------------------------------------------------------------------


def test_a_plugin_key_can_only_write_as_itself(api, plugin_key):
    response = put(api(plugin_key.token), owner="plugin-analytics")
    assert response.status_code == 403
    assert not SharedEntry.objects.exists()


def test_only_the_owner_or_an_org_key_may_overwrite_or_delete(api, plugin_key, analytics_key, org_key):
    put(api(plugin_key.token))
    other = api(analytics_key)
    overwrite = put(other, owner="plugin-analytics", value=1)
    assert overwrite.status_code == 403
    assert overwrite.json()["ownerId"] == "plugin-crm" and "plugin-crm" in overwrite.json()["message"]
    assert other.delete(f"{URL}/crm.cache/contact_count").status_code == 403
    assert other.get(f"{URL}/crm.cache/contact_count").json()["value"] == 1250  # everyone may read
    assert put(api(org_key.token), value=2).status_code == 201
    assert api(org_key.token).delete(f"{URL}/crm.cache/contact_count").status_code == 200


def test_an_org_key_writing_for_an_unknown_plugin_is_400(api, org_key):
    response = put(api(org_key.token), owner="plugin-ghost")
    assert response.status_code == 400
    assert "ownerId" in response.json()["message"]


def test_a_plain_member_key_cannot_write(api, member_key):
    assert put(api(member_key.token)).status_code == 403


def test_delete_answers_as_the_seed_shows(api, plugin_key):
    client = api(plugin_key.token)
    put(client)
    response = client.delete(f"{URL}/crm.cache/contact_count")
    assert response.json() == {"success": True, "message": "Data deleted successfully"}
    assert client.delete(f"{URL}/crm.cache/contact_count").status_code == 404


# --- Concurrency --------------------------------------------------------------------------------


def test_if_match_protects_a_read_modify_write(api, plugin_key):
    client = api(plugin_key.token)
    put(client, value=1)
    etag = client.get(f"{URL}/crm.cache/contact_count")["ETag"]
    assert put(client, value=2, if_match=etag).status_code == 201
    stale = put(client, value=3, if_match=etag)
    assert stale.status_code == 412
    assert client.get(f"{URL}/crm.cache/contact_count").json()["value"] == 2
    assert client.delete(f"{URL}/crm.cache/contact_count", HTTP_IF_MATCH=etag).status_code == 412


def test_if_match_on_a_missing_entry_is_412(api, plugin_key):
    assert put(api(plugin_key.token), if_match='"anything"').status_code == 412
    assert not SharedEntry.objects.exists()


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_plugins_racing_with_the_same_etag_lose_no_acknowledged_write(api, crm_plugin, org_key):
    client = api(org_key.token)
    assert put(client, value={"n": 0}).status_code == 201
    barrier = threading.Barrier(2)
    results = {}

    def increment(name):
        try:
            mine = api(org_key.token)
            current = mine.get(f"{URL}/crm.cache/contact_count")
            barrier.wait()
            response = put(mine, value={"n": current.json()["value"]["n"] + 1, "by": name},
                           if_match=current["ETag"])
            results[name] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=increment, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [201, 412]
    winner = next(name for name, status in results.items() if status == 201)
    assert api(org_key.token).get(f"{URL}/crm.cache/contact_count").json()["value"] == {"n": 1, "by": winner}


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_writes_of_one_key_all_succeed_and_one_wins_whole(api, crm_plugin, org_key):
    barrier = threading.Barrier(4)
    statuses = []

    def write(n):
        try:
            barrier.wait()
            statuses.append(put(api(org_key.token), key="race", value={"writer": n, "payload": [n] * 50}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 4
    entry = SharedEntry.objects.get(key="race")
    assert entry.value["payload"] == [entry.value["writer"]] * 50  # never torn


# --- Listing ------------------------------------------------------------------------------------


def test_list_keys_is_sorted_filters_by_owner_and_counts(api, plugin_key, analytics_key):
    crm, analytics = api(plugin_key.token), api(analytics_key)
    for key in ("last_sync", "contact_count", "deal_count"):
        put(crm, key=key)
    put(analytics, key="b_report", owner="plugin-analytics")
    listing = crm.get(f"{URL}/crm.cache").json()
    assert listing == {"namespace": "crm.cache", "keys": ["b_report", "contact_count", "deal_count", "last_sync"],
                       "count": 4}
    mine = crm.get(f"{URL}/crm.cache", {"ownerId": "plugin-crm"}).json()
    assert mine["keys"] == ["contact_count", "deal_count", "last_sync"] and mine["count"] == 3


def test_list_keys_pages_with_limit_and_cursor(api, plugin_key):
    client = api(plugin_key.token)
    for n in range(7):
        put(client, key=f"k{n}")
    seen, cursor = [], None
    while True:
        page = client.get(f"{URL}/crm.cache", {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        assert page["count"] == 7
        seen += page["keys"]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert seen == [f"k{n}" for n in range(7)]
    assert client.get(f"{URL}/crm.cache", {"limit": 0}).status_code == 400
    assert client.get(f"{URL}/crm.cache", {"cursor": "%%%"}).status_code == 400


@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "1.5", "-1", " 3", "9" * 30])
def test_a_limit_that_is_not_ascii_digits_in_range_is_a_400(api, plugin_key, limit):
    # "²" passes str.isdigit() but int() refuses it: that was a 500.
    response = api(plugin_key.token).get(f"{URL}/crm.cache", {"limit": limit})
    assert response.status_code == 400
    assert response.json()["message"].startswith("limit: ")


def test_an_empty_namespace_lists_nothing(api, plugin_key):
    assert api(plugin_key.token).get(f"{URL}/nothing.here").json() == {
        "namespace": "nothing.here", "keys": [], "count": 0}


# --- Isolation and cost -------------------------------------------------------------------------


def test_another_org_sees_nothing_of_acme_data(api, plugin_key, other_org, other_org_key):
    put(api(plugin_key.token))
    foreign = api(other_org_key.token, tenant="globex")
    assert foreign.get(f"{URL}/crm.cache/contact_count").status_code == 404
    assert foreign.get(f"{URL}/crm.cache").json()["count"] == 0
    assert foreign.delete(f"{URL}/crm.cache/contact_count").status_code == 404
    assert api(other_org_key.token, tenant="acme-corp").get(f"{URL}/crm.cache/contact_count").status_code == 403
    # The same namespace and key in another org is another entry.
    Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="crm")
    assert put(foreign, value=99).status_code == 201
    assert api(plugin_key.token).get(f"{URL}/crm.cache/contact_count").json()["value"] == 1250


def test_get_and_set_do_a_bounded_number_of_queries(api, plugin_key, django_assert_max_num_queries):
    client = api(plugin_key.token)
    put(client)
    client.get(f"{URL}/crm.cache/contact_count")  # last-used is now fresh
    with django_assert_max_num_queries(2):
        assert client.get(f"{URL}/crm.cache/contact_count").status_code == 200
    with django_assert_max_num_queries(6):
        assert put(client, value=1).status_code == 201
