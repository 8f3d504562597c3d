import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplaces.catalog.models import PluginConfigObject
from marketplaces.config_objects.models import ConfigObject
from plexica.plugins.models import Plugin
from tests.marketplaces.conftest import BASE, SKILL_V2, add_version

PLUGINS = "/api/v1/plugins"


@pytest.fixture
def globex_plugin(other_org):
    return Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="Globex", version="1.0.0")


@pytest.fixture
def foreign(api, other_org_key):
    return api(other_org_key.token, tenant="globex")


def _plugin(org, plugin_id):
    return Plugin.objects.create(organization=org, plugin_id=plugin_id, name=plugin_id.title(), version="1.0.0")


# --- POST/GET/DELETE /config-objects/{id}/plugins ---------------------------------------------------------


def test_adding_an_object_to_a_plugin_is_201_with_the_membership(admin_api, create, crm_plugin):
    item = create()
    response = admin_api.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["ok"] is True
    membership = body["item"]
    assert (membership["pluginId"], membership["configObjectId"], membership["source"]) == (
        "plugin-crm", item["id"], "api")
    assert membership["configObjectTitle"] == "Summarize tickets" and membership["addedAt"]
    row = PluginConfigObject.objects.get()
    assert (row.organization_id, row.plugin, row.removed_at) == (crm_plugin.organization_id, crm_plugin, None)


def test_adding_an_object_that_is_already_a_member_is_200_and_keeps_one_row(admin_api, create, crm_plugin):
    item = create()
    url = f"{BASE}/{item['id']}/plugins"
    assert admin_api.post(url, {"pluginId": "plugin-crm"}, format="json").status_code == 201
    response = admin_api.post(url, {"pluginId": "plugin-crm"}, format="json")
    assert response.status_code == 200
    assert response.json()["item"]["pluginId"] == "plugin-crm"
    assert PluginConfigObject.objects.count() == 1


def test_removal_is_soft_and_re_adding_reactivates_the_same_row(admin_api, create, crm_plugin):
    item = create()
    url = f"{BASE}/{item['id']}/plugins"
    admin_api.post(url, {"pluginId": "plugin-crm"}, format="json")
    row = PluginConfigObject.objects.get()

    assert admin_api.delete(f"{url}/plugin-crm").status_code == 204
    row.refresh_from_db()
    assert row.removed_at is not None
    assert admin_api.get(url).json()["items"] == []

    response = admin_api.post(url, {"pluginId": "plugin-crm"}, format="json")
    assert response.status_code == 200
    assert PluginConfigObject.objects.get().pk == row.pk
    row.refresh_from_db()
    assert row.removed_at is None
    assert [m["pluginId"] for m in admin_api.get(url).json()["items"]] == ["plugin-crm"]


def test_removing_an_object_that_is_not_a_member_is_404(admin_api, create, crm_plugin):
    item = create()
    response = admin_api.delete(f"{BASE}/{item['id']}/plugins/plugin-crm")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_removing_twice_is_404_the_second_time(admin_api, create, crm_plugin):
    item = create()
    url = f"{BASE}/{item['id']}/plugins"
    admin_api.post(url, {"pluginId": "plugin-crm"}, format="json")
    assert admin_api.delete(f"{url}/plugin-crm").status_code == 204
    assert admin_api.delete(f"{url}/plugin-crm").status_code == 404


def test_listing_an_objects_plugins_shows_active_memberships_newest_first(admin_api, create, org, crm_plugin):
    _plugin(org, "plugin-billing")
    _plugin(org, "plugin-wiki")
    item = create()
    url = f"{BASE}/{item['id']}/plugins"
    for plugin_id in ("plugin-crm", "plugin-billing", "plugin-wiki"):
        admin_api.post(url, {"pluginId": plugin_id}, format="json")
    admin_api.delete(f"{url}/plugin-billing")
    body = admin_api.get(url).json()
    assert [m["pluginId"] for m in body["items"]] == ["plugin-wiki", "plugin-crm"]
    assert body["nextCursor"] is None


@pytest.mark.parametrize("body", [{}, {"pluginId": ""}, {"pluginId": ["plugin-crm"]}])
def test_a_membership_body_without_a_plugin_id_is_400(admin_api, create, crm_plugin, body):
    item = create()
    response = admin_api.post(f"{BASE}/{item['id']}/plugins", body, format="json")
    assert response.status_code == 400
    assert "pluginId" in response.json()["error"]["message"]
    assert not PluginConfigObject.objects.exists()


def test_an_unknown_plugin_or_object_is_404_and_writes_nothing(admin_api, create, crm_plugin):
    item = create()
    assert admin_api.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-nope"},
                          format="json").status_code == 404
    assert admin_api.post(f"{BASE}/cfo_missing/plugins", {"pluginId": "plugin-crm"}, format="json").status_code == 404
    assert admin_api.get(f"{BASE}/cfo_missing/plugins").status_code == 404
    assert admin_api.delete(f"{BASE}/{item['id']}/plugins/plugin-nope").status_code == 404
    assert not PluginConfigObject.objects.exists()


def test_a_deleted_object_cannot_join_a_plugin(admin_api, create, crm_plugin):
    item = create()
    admin_api.delete(f"{BASE}/{item['id']}")
    response = admin_api.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    assert response.status_code == 404
    assert not PluginConfigObject.objects.exists()


# --- the mirror: /plugins/{pluginId}/config-objects -------------------------------------------------------


def test_adding_through_the_plugin_is_the_same_membership(admin_api, create, crm_plugin):
    item = create()
    url = f"{PLUGINS}/plugin-crm/config-objects"
    response = admin_api.post(url, {"configObjectId": item["id"]}, format="json")
    assert response.status_code == 201
    assert response.json()["item"]["configObjectId"] == item["id"]
    assert admin_api.post(url, {"configObjectId": item["id"]}, format="json").status_code == 200
    assert [m["configObjectId"] for m in admin_api.get(url).json()["items"]] == [item["id"]]
    assert [m["pluginId"] for m in admin_api.get(f"{BASE}/{item['id']}/plugins").json()["items"]] == ["plugin-crm"]

    assert admin_api.delete(f"{url}/{item['id']}").status_code == 204
    assert admin_api.get(url).json()["items"] == []
    assert admin_api.delete(f"{url}/{item['id']}").status_code == 404
    assert admin_api.post(url, {"configObjectId": item["id"]}, format="json").status_code == 200
    assert PluginConfigObject.objects.count() == 1


def test_the_plugin_side_rejects_a_missing_body_and_unknown_ids(admin_api, create, crm_plugin):
    item = create()
    url = f"{PLUGINS}/plugin-crm/config-objects"
    response = admin_api.post(url, {}, format="json")
    assert response.status_code == 400 and "configObjectId" in response.json()["error"]["message"]
    assert admin_api.post(url, {"configObjectId": "cfo_missing"}, format="json").status_code == 404
    assert admin_api.post(f"{PLUGINS}/plugin-nope/config-objects", {"configObjectId": item["id"]},
                          format="json").status_code == 404
    assert admin_api.get(f"{PLUGINS}/plugin-nope/config-objects").status_code == 404
    assert admin_api.delete(f"{url}/cfo_missing").status_code == 404
    assert not PluginConfigObject.objects.exists()


# --- pluginId filter and pluginIds on create --------------------------------------------------------------


def test_the_list_filters_by_plugin_membership(admin_api, create, org, crm_plugin):
    _plugin(org, "plugin-wiki")
    inside, outside, removed = create(), create("context", "other"), create("context", "gone")
    admin_api.post(f"{PLUGINS}/plugin-crm/config-objects", {"configObjectId": inside["id"]}, format="json")
    admin_api.post(f"{PLUGINS}/plugin-wiki/config-objects", {"configObjectId": outside["id"]}, format="json")
    admin_api.post(f"{PLUGINS}/plugin-crm/config-objects", {"configObjectId": removed["id"]}, format="json")
    admin_api.delete(f"{PLUGINS}/plugin-crm/config-objects/{removed['id']}")
    assert [i["id"] for i in admin_api.get(BASE, {"pluginId": "plugin-crm"}).json()["items"]] == [inside["id"]]
    assert admin_api.get(BASE, {"pluginId": "plugin-nope"}).json()["items"] == []


def test_creating_with_plugin_ids_adds_the_object_to_those_plugins(admin_api, org, crm_plugin):
    _plugin(org, "plugin-wiki")
    body = {"type": "context", "pluginIds": ["plugin-crm", "plugin-wiki", "plugin-crm"],
            "input": {"rawSourceText": "House style"}}
    response = admin_api.post(BASE, body, format="json")
    assert response.status_code == 201
    rows = PluginConfigObject.objects.filter(config_object_id=response.json()["item"]["id"])
    assert sorted(r.plugin.plugin_id for r in rows) == ["plugin-crm", "plugin-wiki"]
    assert {r.source for r in rows} == {"api"}


def test_creating_with_an_unknown_or_foreign_plugin_id_is_404_and_creates_nothing(admin_api, crm_plugin,
                                                                                   globex_plugin):
    for plugin_id in ("plugin-nope", "plugin-globex"):
        body = {"type": "context", "pluginIds": ["plugin-crm", plugin_id], "input": {"rawSourceText": "x"}}
        response = admin_api.post(BASE, body, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not ConfigObject.objects.exists() and not PluginConfigObject.objects.exists()


def test_plugin_ids_must_be_a_list_of_strings(admin_api, crm_plugin):
    body = {"type": "context", "pluginIds": "plugin-crm", "input": {"rawSourceText": "x"}}
    response = admin_api.post(BASE, body, format="json")
    assert response.status_code == 400 and "pluginIds" in response.json()["error"]["message"]
    assert not ConfigObject.objects.exists()


# --- GET /plugins/{pluginId}/resolved ---------------------------------------------------------------------


def test_the_resolved_plugin_lists_each_active_member_with_its_latest_version(admin_api, create, crm_plugin):
    kept, removed, deleted = create(), create("context", "removed"), create("context", "deleted")
    url = f"{PLUGINS}/plugin-crm/config-objects"
    for item in (kept, removed, deleted):
        admin_api.post(url, {"configObjectId": item["id"]}, format="json")
    admin_api.delete(f"{url}/{removed['id']}")
    admin_api.delete(f"{BASE}/{deleted['id']}")
    newest = add_version(admin_api, kept["id"], SKILL_V2).json()["item"]

    response = admin_api.get(f"{PLUGINS}/plugin-crm/resolved")
    assert response.status_code == 200
    resolved = response.json()["item"]
    assert resolved["plugin"]["id"] == "plugin-crm" and resolved["plugin"]["name"] == "CRM"
    assert [o["id"] for o in resolved["configObjects"]] == [kept["id"]]
    assert resolved["configObjects"][0]["latestVersion"]["id"] == newest["id"]
    assert resolved["configObjects"][0]["title"] == "Summarize tickets"


def test_a_plugin_without_members_resolves_to_an_empty_list(admin_api, crm_plugin):
    response = admin_api.get(f"{PLUGINS}/plugin-crm/resolved")
    assert response.status_code == 200
    assert response.json()["item"]["configObjects"] == []


def test_resolving_an_unknown_plugin_is_404(admin_api):
    assert admin_api.get(f"{PLUGINS}/plugin-nope/resolved").status_code == 404


def test_resolving_costs_the_same_queries_for_two_members_or_ten(admin_api, create, crm_plugin):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(f"{PLUGINS}/plugin-crm/resolved").status_code == 200
        return len(queries)

    def add(n):
        for _ in range(n):
            item = create("context", f"note {ConfigObject.objects.count()}")
            add_version(admin_api, item["id"], "changed " + item["id"])
            admin_api.post(f"{PLUGINS}/plugin-crm/config-objects", {"configObjectId": item["id"]}, format="json")

    add(2)
    few = count()
    add(8)
    assert len(admin_api.get(f"{PLUGINS}/plugin-crm/resolved").json()["item"]["configObjects"]) == 10
    assert count() == few


# --- who may call -----------------------------------------------------------------------------------------


def _every_endpoint(object_id):
    return [
        ("get", f"{BASE}/{object_id}/plugins", None),
        ("post", f"{BASE}/{object_id}/plugins", {"pluginId": "plugin-crm"}),
        ("delete", f"{BASE}/{object_id}/plugins/plugin-crm", None),
        ("get", f"{PLUGINS}/plugin-crm/config-objects", None),
        ("post", f"{PLUGINS}/plugin-crm/config-objects", {"configObjectId": object_id}),
        ("delete", f"{PLUGINS}/plugin-crm/config-objects/{object_id}", None),
        ("get", f"{PLUGINS}/plugin-crm/resolved", None),
        ("get", f"{BASE}?pluginId=plugin-crm", None),
    ]


def test_a_member_without_a_grant_gets_403_on_every_membership_endpoint(admin_api, api, create, crm_plugin,
                                                                        member_key):
    item = create()
    admin_api.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    client = api(member_key.token)
    for method, url, body in _every_endpoint(item["id"]):
        response = getattr(client, method)(url, body, format="json")
        if url.startswith(f"{BASE}?"):
            assert response.status_code == 200 and response.json()["items"] == []
            continue
        assert response.status_code == 403, (method, url)
        assert response.json()["error"]["code"] == "resource_access_denied"
    assert PluginConfigObject.objects.get().removed_at is None


def test_a_plugin_key_views_its_plugins_objects_but_changes_no_membership(admin_api, api, create, crm_plugin,
                                                                          plugin_key):
    item = create()
    admin_api.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    client = api(plugin_key.token)
    for method, url, body in _every_endpoint(item["id"]):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == (200 if method == "get" else 403), (method, url)
    assert [o["id"] for o in client.get(f"{BASE}?pluginId=plugin-crm").json()["items"]] == [item["id"]]
    assert PluginConfigObject.objects.get().removed_at is None


def test_another_organization_gets_404_on_every_membership_endpoint_and_writes_nothing(
    admin_api, create, crm_plugin, foreign
):
    item = create()
    admin_api.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    for method, url, body in _every_endpoint(item["id"]):
        response = getattr(foreign, method)(url, body, format="json")
        if url.startswith(f"{BASE}?"):
            assert response.status_code == 200 and response.json()["items"] == []
        else:
            assert response.status_code == 404, (method, url)
    row = PluginConfigObject.objects.get()
    assert row.removed_at is None and row.source == "api"


def test_a_plugin_of_another_organization_cannot_take_this_organizations_objects(
    admin_api, create, globex_plugin, foreign
):
    item = create()
    # This organization naming the other's plugin, and the other naming this one's object: both 404.
    assert admin_api.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-globex"},
                          format="json").status_code == 404
    assert admin_api.post(f"{PLUGINS}/plugin-globex/config-objects", {"configObjectId": item["id"]},
                          format="json").status_code == 404
    assert foreign.post(f"{PLUGINS}/plugin-globex/config-objects", {"configObjectId": item["id"]},
                        format="json").status_code == 404
    assert foreign.get(f"{PLUGINS}/plugin-globex/resolved").json()["item"]["configObjects"] == []
    assert not PluginConfigObject.objects.exists()
