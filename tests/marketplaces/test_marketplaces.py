import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplaces.catalog.models import Marketplace, MarketplacePlugin
from plexica.plugins.models import Plugin
from tests.marketplaces.conftest import SKILL_V2, add_version

MARKETPLACES = "/api/v1/marketplaces"
PLUGINS = "/api/v1/plugins"


@pytest.fixture
def marketplace(admin_api):
    """marketplace(**body) -> the JSON item of a new marketplace."""

    def make(name="Sales tools", **body):
        response = admin_api.post(MARKETPLACES, {"name": name, **body}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["item"]

    return make


def _plugin(org, plugin_id):
    return Plugin.objects.create(organization=org, plugin_id=plugin_id, name=plugin_id.title(), version="1.0.0")


# --- create, get, list --------------------------------------------------------------------------------------


def test_creating_a_marketplace_is_201_with_the_mutation_envelope(admin_api, org):
    body = {"name": "Sales tools", "description": "What the sales team installs", "logoUrl": "https://cdn.example/l.png"}
    response = admin_api.post(MARKETPLACES, body, format="json")
    assert response.status_code == 201
    assert response.json()["ok"] is True
    item = response.json()["item"]
    assert item["id"].startswith("mkt_")
    assert (item["name"], item["description"], item["logoUrl"], item["status"], item["deletedAt"]) == (
        "Sales tools", "What the sales team installs", "https://cdn.example/l.png", "active", None)
    assert Marketplace.objects.get(pk=item["id"]).organization == org


def test_a_marketplace_needs_only_a_name_and_accepts_a_root_relative_logo(marketplace):
    assert marketplace()["description"] == "" and marketplace()["logoUrl"] == ""
    assert marketplace(logoUrl="/static/logos/sales.svg")["logoUrl"] == "/static/logos/sales.svg"


@pytest.mark.parametrize("logo", [
    "http://cdn.example/l.png", "javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.example/l.png",
    "ftp://cdn.example/l.png", "logo.png", "https://", "https://cdn.example/a b.png", "/static/\\x.png",
    "https://[", "https://\uff03a",  # urlsplit's ValueError: an unclosed IPv6 bracket, a host NFKC makes "#a"
])
def test_a_logo_url_that_is_not_https_or_root_relative_is_400_naming_logo_url(admin_api, logo):
    response = admin_api.post(MARKETPLACES, {"name": "Sales", "logoUrl": logo}, format="json")
    assert response.status_code == 400
    assert "logoUrl" in response.json()["error"]["message"]
    assert not Marketplace.objects.exists()


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 201}])
def test_a_marketplace_without_a_valid_name_is_400(admin_api, body):
    response = admin_api.post(MARKETPLACES, body, format="json")
    assert response.status_code == 400 and "name" in response.json()["error"]["message"]
    assert not Marketplace.objects.exists()


def test_a_marketplace_can_be_read_by_id(admin_api, marketplace):
    item = marketplace()
    response = admin_api.get(f"{MARKETPLACES}/{item['id']}")
    assert response.status_code == 200
    assert response.json()["item"] == item


def test_an_unknown_marketplace_is_404(admin_api):
    response = admin_api.get(f"{MARKETPLACES}/mkt_missing")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_list_is_newest_first_with_cursor_pagination_and_a_q_filter(admin_api, marketplace):
    sales, support, _ = marketplace("Sales"), marketplace("Support", description="Help desk"), marketplace("Ops")
    page = admin_api.get(MARKETPLACES, {"limit": 2}).json()
    assert [i["name"] for i in page["items"]] == ["Ops", "Support"]
    rest = admin_api.get(MARKETPLACES, {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [i["id"] for i in rest["items"]] == [sales["id"]] and rest["nextCursor"] is None
    assert [i["id"] for i in admin_api.get(MARKETPLACES, {"q": "help"}).json()["items"]] == [support["id"]]
    assert [i["id"] for i in admin_api.get(MARKETPLACES, {"q": "SAL"}).json()["items"]] == [sales["id"]]


def test_listing_costs_the_same_queries_for_two_marketplaces_or_ten(admin_api, marketplace):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(MARKETPLACES).status_code == 200
        return len(queries)

    for _ in range(2):
        marketplace()
    few = count()
    for _ in range(8):
        marketplace()
    assert count() == few


# --- patch, archive, restore, delete ----------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(admin_api, marketplace):
    item = marketplace(description="Old", logoUrl="/static/a.png")
    response = admin_api.patch(f"{MARKETPLACES}/{item['id']}", {"name": "Renamed"}, format="json")
    assert response.status_code == 200 and response.json()["ok"] is True
    changed = response.json()["item"]
    assert (changed["name"], changed["description"], changed["logoUrl"]) == ("Renamed", "Old", "/static/a.png")
    response = admin_api.patch(f"{MARKETPLACES}/{item['id']}", {"description": "", "logoUrl": ""}, format="json")
    assert (response.json()["item"]["description"], response.json()["item"]["logoUrl"]) == ("", "")


def test_a_bad_patch_is_400_and_changes_nothing(admin_api, marketplace):
    item = marketplace(logoUrl="/static/a.png")
    response = admin_api.patch(f"{MARKETPLACES}/{item['id']}", {"name": "x", "logoUrl": "http://x.example"},
                               format="json")
    assert response.status_code == 400 and "logoUrl" in response.json()["error"]["message"]
    assert admin_api.patch(f"{MARKETPLACES}/{item['id']}", {"name": ""}, format="json").status_code == 400
    stored = Marketplace.objects.get(pk=item["id"])
    assert (stored.name, stored.logo_url) == ("Sales tools", "/static/a.png")


def test_patching_an_unknown_or_deleted_marketplace_is_404(admin_api, marketplace):
    assert admin_api.patch(f"{MARKETPLACES}/mkt_missing", {"name": "x"}, format="json").status_code == 404
    item = marketplace()
    admin_api.delete(f"{MARKETPLACES}/{item['id']}")
    assert admin_api.patch(f"{MARKETPLACES}/{item['id']}", {"name": "x"}, format="json").status_code == 404


def test_archive_and_restore_change_the_status(admin_api, marketplace):
    item = marketplace()
    response = admin_api.post(f"{MARKETPLACES}/{item['id']}/archive")
    assert response.status_code == 200 and response.json()["item"]["status"] == "archived"
    assert admin_api.post(f"{MARKETPLACES}/{item['id']}/archive").json()["item"]["status"] == "archived"
    assert admin_api.get(MARKETPLACES, {"status": "archived"}).json()["items"][0]["id"] == item["id"]
    response = admin_api.post(f"{MARKETPLACES}/{item['id']}/restore")
    assert response.status_code == 200 and response.json()["item"]["status"] == "active"
    assert admin_api.post(f"{MARKETPLACES}/mkt_missing/archive").status_code == 404
    assert admin_api.post(f"{MARKETPLACES}/mkt_missing/restore").status_code == 404


def test_delete_is_soft_hides_the_marketplace_and_restore_brings_it_back(admin_api, marketplace):
    item = marketplace()
    assert admin_api.delete(f"{MARKETPLACES}/{item['id']}").status_code == 204
    assert Marketplace.objects.get(pk=item["id"]).deleted_at is not None
    assert admin_api.get(f"{MARKETPLACES}/{item['id']}").status_code == 404
    assert admin_api.get(MARKETPLACES).json()["items"] == []
    listed = admin_api.get(MARKETPLACES, {"includeDeleted": "true"}).json()["items"]
    assert [i["id"] for i in listed] == [item["id"]] and listed[0]["deletedAt"]
    assert admin_api.get(f"{MARKETPLACES}/{item['id']}", {"includeDeleted": "true"}).status_code == 200
    assert admin_api.delete(f"{MARKETPLACES}/{item['id']}").status_code == 404
    assert admin_api.post(f"{MARKETPLACES}/{item['id']}/archive").status_code == 404

    response = admin_api.post(f"{MARKETPLACES}/{item['id']}/restore")
    assert response.status_code == 200 and response.json()["item"]["deletedAt"] is None
    assert admin_api.get(f"{MARKETPLACES}/{item['id']}").status_code == 200


# --- plugin membership --------------------------------------------------------------------------------------


def test_adding_a_plugin_is_201_then_200_and_removal_is_soft_with_reactivation(admin_api, marketplace, crm_plugin):
    item = marketplace()
    url = f"{MARKETPLACES}/{item['id']}/plugins"
    response = admin_api.post(url, {"pluginId": "plugin-crm"}, format="json")
    assert response.status_code == 201 and response.json()["ok"] is True
    assert (response.json()["item"]["pluginId"], response.json()["item"]["marketplaceId"]) == ("plugin-crm",
                                                                                              item["id"])
    assert admin_api.post(url, {"pluginId": "plugin-crm"}, format="json").status_code == 200
    row = MarketplacePlugin.objects.get()

    assert admin_api.delete(f"{url}/plugin-crm").status_code == 204
    row.refresh_from_db()
    assert row.removed_at is not None
    assert admin_api.get(url).json()["items"] == []
    assert admin_api.delete(f"{url}/plugin-crm").status_code == 404

    assert admin_api.post(url, {"pluginId": "plugin-crm"}, format="json").status_code == 200
    assert MarketplacePlugin.objects.get().pk == row.pk
    assert [m["pluginId"] for m in admin_api.get(url).json()["items"]] == ["plugin-crm"]


def test_plugin_membership_rejects_bad_bodies_unknown_plugins_and_deleted_marketplaces(admin_api, marketplace,
                                                                                        crm_plugin):
    item = marketplace()
    url = f"{MARKETPLACES}/{item['id']}/plugins"
    response = admin_api.post(url, {}, format="json")
    assert response.status_code == 400 and "pluginId" in response.json()["error"]["message"]
    assert admin_api.post(url, {"pluginId": "plugin-nope"}, format="json").status_code == 404
    assert admin_api.delete(f"{url}/plugin-nope").status_code == 404
    assert admin_api.post(f"{MARKETPLACES}/mkt_missing/plugins", {"pluginId": "plugin-crm"},
                          format="json").status_code == 404
    assert admin_api.get(f"{MARKETPLACES}/mkt_missing/plugins").status_code == 404
    admin_api.delete(f"{MARKETPLACES}/{item['id']}")
    assert admin_api.post(url, {"pluginId": "plugin-crm"}, format="json").status_code == 404
    assert not MarketplacePlugin.objects.exists()


# --- resolved --------------------------------------------------------------------------------------------


def test_the_resolved_marketplace_has_its_plugins_and_their_objects_with_latest_versions(
    admin_api, marketplace, create, org, crm_plugin
):
    _plugin(org, "plugin-wiki")
    _plugin(org, "plugin-dropped")
    item = marketplace()
    url = f"{MARKETPLACES}/{item['id']}/plugins"
    for plugin_id in ("plugin-wiki", "plugin-crm", "plugin-dropped"):
        admin_api.post(url, {"pluginId": plugin_id}, format="json")
    admin_api.delete(f"{url}/plugin-dropped")
    skill, note = create(), create("context", "House style")
    for plugin_id, obj in (("plugin-crm", skill), ("plugin-crm", note), ("plugin-wiki", note),
                           ("plugin-dropped", skill)):
        admin_api.post(f"{PLUGINS}/{plugin_id}/config-objects", {"configObjectId": obj["id"]}, format="json")
    newest = add_version(admin_api, skill["id"], SKILL_V2).json()["item"]

    response = admin_api.get(f"{MARKETPLACES}/{item['id']}/resolved")
    assert response.status_code == 200
    resolved = response.json()["item"]
    assert resolved["marketplace"]["id"] == item["id"]
    assert [p["plugin"]["id"] for p in resolved["plugins"]] == ["plugin-crm", "plugin-wiki"]
    crm, wiki = resolved["plugins"]
    versions = {o["id"]: o["latestVersion"]["id"] for o in crm["configObjects"]}
    assert versions == {skill["id"]: newest["id"], note["id"]: note["latestVersion"]["id"]}
    assert [o["id"] for o in wiki["configObjects"]] == [note["id"]]


def test_resolving_an_unknown_or_deleted_marketplace_is_404(admin_api, marketplace):
    assert admin_api.get(f"{MARKETPLACES}/mkt_missing/resolved").status_code == 404
    item = marketplace()
    admin_api.delete(f"{MARKETPLACES}/{item['id']}")
    assert admin_api.get(f"{MARKETPLACES}/{item['id']}/resolved").status_code == 404
    assert admin_api.get(f"{MARKETPLACES}/{item['id']}/resolved", {"includeDeleted": "true"}).status_code == 200


def test_resolving_costs_the_same_queries_for_small_and_large_marketplaces(admin_api, marketplace, create, org):
    item = marketplace()

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(f"{MARKETPLACES}/{item['id']}/resolved").status_code == 200
        return len(queries)

    def grow(plugins, objects_each):
        for _ in range(plugins):
            plugin = _plugin(org, f"plugin-p{Plugin.objects.count()}")
            admin_api.post(f"{MARKETPLACES}/{item['id']}/plugins", {"pluginId": plugin.plugin_id}, format="json")
            for n in range(objects_each):
                obj = create("context", f"note {n} of {plugin.plugin_id}")
                admin_api.post(f"{PLUGINS}/{plugin.plugin_id}/config-objects", {"configObjectId": obj["id"]},
                               format="json")

    grow(1, 2)
    few = count()
    grow(4, 3)
    assert len(admin_api.get(f"{MARKETPLACES}/{item['id']}/resolved").json()["item"]["plugins"]) == 5
    assert count() == few


# --- who may call -----------------------------------------------------------------------------------------


def _every_endpoint(marketplace_id):
    one = f"{MARKETPLACES}/{marketplace_id}"
    return [
        ("get", one, None), ("patch", one, {"name": "Hijacked"}), ("post", f"{one}/archive", None),
        ("post", f"{one}/restore", None), ("get", f"{one}/plugins", None),
        ("post", f"{one}/plugins", {"pluginId": "plugin-crm"}), ("delete", f"{one}/plugins/plugin-crm", None),
        ("get", f"{one}/resolved", None), ("delete", one, None),
    ]


@pytest.mark.parametrize("who", ["plugin_key", "member_key"])
def test_keys_without_a_grant_see_no_marketplaces_and_get_403_on_each(api, marketplace, crm_plugin, request, who):
    item = marketplace()
    client = api(request.getfixturevalue(who).token)
    assert client.get(MARKETPLACES).json()["items"] == []
    create = client.post(MARKETPLACES, {"name": "Theirs"}, format="json")
    assert create.status_code == 403 and create.json()["error"]["code"] == "org_capability_required"
    for method, url, body in _every_endpoint(item["id"]):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json()["error"]["code"] == "resource_access_denied"
    stored = Marketplace.objects.get()
    assert (stored.name, stored.status, stored.deleted_at) == ("Sales tools", "active", None)


def test_another_organization_gets_404_on_every_marketplace_endpoint_and_changes_nothing(
    admin_api, api, marketplace, crm_plugin, other_org, other_org_key
):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="Their CRM", version="1.0.0")
    item = marketplace()
    admin_api.post(f"{MARKETPLACES}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    foreign = api(other_org_key.token, tenant="globex")
    for method, url, body in _every_endpoint(item["id"]):
        response = getattr(foreign, method)(url, body, format="json")
        if url == MARKETPLACES:
            assert response.status_code in (200, 201), (method, url)
            if method == "get":
                assert response.json()["items"] == []
        else:
            assert response.status_code == 404, (method, url)
    stored = Marketplace.objects.get(pk=item["id"])
    assert (stored.name, stored.status, stored.deleted_at) == ("Sales tools", "active", None)
    assert MarketplacePlugin.objects.get().removed_at is None
    assert item["id"] not in [i["id"] for i in foreign.get(MARKETPLACES, {"includeDeleted": "true"}).json()["items"]]


def test_a_marketplace_cannot_offer_a_plugin_of_another_organization(admin_api, marketplace, other_org):
    Plugin.objects.create(organization=other_org, plugin_id="plugin-globex", name="Globex", version="1.0.0")
    item = marketplace()
    response = admin_api.post(f"{MARKETPLACES}/{item['id']}/plugins", {"pluginId": "plugin-globex"}, format="json")
    assert response.status_code == 404
    assert not MarketplacePlugin.objects.exists()
