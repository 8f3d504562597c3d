import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.config_objects.models import ConfigObject
from plexica.plugins.models import Plugin

PLUGINS = "/api/v1/plugins"


def _plugin(org, plugin_id, **fields):
    return Plugin.objects.create(organization=org, plugin_id=plugin_id, name=plugin_id[7:], **fields)


def _object(org, title):
    return ConfigObject.objects.create(organization=org, type=ConfigObject.Type.SKILL, title=title)


def _member(plugin, obj, removed=False):
    return PluginConfigObject.objects.create(organization=plugin.organization, plugin=plugin, config_object=obj,
                                             removed_at=timezone.now() if removed else None)


def _marketplace(org, name, **fields):
    return Marketplace.objects.create(organization=org, name=name, **fields)


def _offer(marketplace, plugin, removed=False):
    return MarketplacePlugin.objects.create(organization=marketplace.organization, marketplace=marketplace,
                                            plugin=plugin, removed_at=timezone.now() if removed else None)


@pytest.fixture
def foreign(api, other_org_key):
    return api(other_org_key.token, tenant="globex")


# --- create --------------------------------------------------------------------------------------------------


def test_creating_a_plugin_is_201_with_the_item_registered_and_active(admin_api, org):
    body = {"pluginId": "plugin-crm", "name": "CRM", "description": "Contacts", "version": "1.2.0",
            "manifest": {"entry": "index.js"}}
    response = admin_api.post(PLUGINS, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["ok"] is True
    item = response.json()["item"]
    assert {key: item[key] for key in ("id", "name", "description", "version", "manifest", "lifecycleState",
                                       "catalogStatus", "memberCount", "marketplaces")} == {
        "id": "plugin-crm", "name": "CRM", "description": "Contacts", "version": "1.2.0",
        "manifest": {"entry": "index.js"}, "lifecycleState": "registered", "catalogStatus": "active",
        "memberCount": 0, "marketplaces": [],
    }
    assert Plugin.objects.get(organization=org, plugin_id="plugin-crm").version == "1.2.0"


def test_a_plugin_needs_only_an_id_and_a_name(admin_api):
    item = admin_api.post(PLUGINS, {"pluginId": "plugin-crm", "name": "CRM"}, format="json").json()["item"]
    assert (item["description"], item["version"], item["manifest"]) == ("", "0.0.0", {})


def test_creating_an_id_that_exists_in_the_org_is_409_and_changes_nothing(admin_api, crm_plugin):
    response = admin_api.post(PLUGINS, {"pluginId": "plugin-crm", "name": "Other"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    crm_plugin.refresh_from_db()
    assert crm_plugin.name == "CRM" and Plugin.objects.count() == 1


def test_the_same_id_may_exist_in_another_organization(admin_api, other_org):
    _plugin(other_org, "plugin-crm")
    assert admin_api.post(PLUGINS, {"pluginId": "plugin-crm", "name": "CRM"}, format="json").status_code == 201


@pytest.mark.parametrize(("body", "field"), [
    ({"pluginId": "crm", "name": "CRM"}, "pluginId"),
    ({"pluginId": "plugin-CRM", "name": "CRM"}, "pluginId"),
    ({"name": "CRM"}, "pluginId"),
    ({"pluginId": "plugin-crm"}, "name"),
    ({"pluginId": "plugin-crm", "name": "CRM", "version": "1.0"}, "version"),
    ({"pluginId": "plugin-crm", "name": "CRM", "manifest": ["not", "an", "object"]}, "manifest"),
    ({"pluginId": "plugin-crm", "name": "CRM", "manifest": "text"}, "manifest"),
])
def test_a_bad_create_body_is_400_naming_the_field_and_creates_nothing(admin_api, body, field):
    response = admin_api.post(PLUGINS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not Plugin.objects.exists()


# --- read ----------------------------------------------------------------------------------------------------


def test_the_list_and_detail_show_active_member_counts_and_active_marketplaces(admin_api, org, crm_plugin):
    _plugin(org, "plugin-bare")
    _member(crm_plugin, _object(org, "one"))
    _member(crm_plugin, _object(org, "two"))
    _member(crm_plugin, _object(org, "removed"), removed=True)
    deleted = _object(org, "deleted")
    ConfigObject.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now(), status=ConfigObject.Status.DELETED)
    _member(crm_plugin, deleted)
    sales, tools = _marketplace(org, "Sales"), _marketplace(org, "Tools")
    _offer(sales, crm_plugin)
    _offer(tools, crm_plugin)
    _offer(_marketplace(org, "Left"), crm_plugin, removed=True)
    _offer(_marketplace(org, "Old", status=Marketplace.Status.ARCHIVED), crm_plugin)
    _offer(_marketplace(org, "Gone", deleted_at=timezone.now()), crm_plugin)

    items = {item["id"]: item for item in admin_api.get(PLUGINS).json()["items"]}
    assert items["plugin-crm"]["memberCount"] == 2
    assert items["plugin-crm"]["marketplaces"] == sorted([sales.pk, tools.pk])
    assert (items["plugin-bare"]["memberCount"], items["plugin-bare"]["marketplaces"]) == (0, [])
    detail = admin_api.get(f"{PLUGINS}/plugin-crm").json()["item"]
    assert (detail["memberCount"], detail["marketplaces"]) == (2, sorted([sales.pk, tools.pk]))


def test_listing_costs_the_same_queries_for_two_plugins_or_ten(admin_api, org):
    def add(start, stop):
        market = _marketplace(org, f"Market {start}")
        for n in range(start, stop):
            plugin = _plugin(org, f"plugin-p{n:02}")
            _member(plugin, _object(org, f"object {n}"))
            _offer(market, plugin)

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = admin_api.get(PLUGINS, {"limit": 50})
        assert response.status_code == 200
        return len(queries), response.json()["items"]

    add(0, 2)
    admin_api.get(PLUGINS)  # warm the key's last-used stamp
    few, items = count()
    assert len(items) == 2
    add(2, 10)
    many, items = count()
    assert len(items) == 10 and all(item["memberCount"] == 1 and len(item["marketplaces"]) == 1 for item in items)
    assert many == few


def test_the_detail_costs_the_same_queries_with_many_members_and_marketplaces(admin_api, org, crm_plugin):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(f"{PLUGINS}/plugin-crm").status_code == 200
        return len(queries)

    admin_api.get(PLUGINS)  # warm the key's last-used stamp
    few = count()
    for n in range(10):
        _member(crm_plugin, _object(org, f"object {n}"))
        _offer(_marketplace(org, f"Market {n}"), crm_plugin)
    assert count() == few


def test_an_unknown_plugin_is_404(admin_api):
    response = admin_api.get(f"{PLUGINS}/plugin-nope")
    assert response.status_code == 404


# --- patch ---------------------------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(admin_api, crm_plugin):
    response = admin_api.patch(f"{PLUGINS}/plugin-crm", {"description": "Contacts", "manifest": {"a": 1}},
                               format="json")
    assert response.status_code == 200, response.json()
    item = response.json()["item"]
    assert (item["name"], item["description"], item["manifest"], item["version"]) == (
        "CRM", "Contacts", {"a": 1}, "1.0.0")
    assert response.json()["ok"] is True and item["memberCount"] == 0


def test_the_version_can_change_while_the_plugin_is_not_installed(admin_api, crm_plugin):
    response = admin_api.patch(f"{PLUGINS}/plugin-crm", {"version": "2.0.0"}, format="json")
    assert response.status_code == 200
    crm_plugin.refresh_from_db()
    assert crm_plugin.version == "2.0.0"


@pytest.mark.parametrize("state", [s.value for s in Plugin.INSTALLED_STATES])
def test_the_version_of_an_installed_plugin_is_409_because_the_lifecycle_owns_it(admin_api, crm_plugin, state):
    Plugin.objects.filter(pk=crm_plugin.pk).update(lifecycle_state=state)
    response = admin_api.patch(f"{PLUGINS}/plugin-crm", {"version": "2.0.0", "name": "New"}, format="json")
    assert response.status_code == 409
    assert "version" in response.json()["error"]["message"]
    crm_plugin.refresh_from_db()
    assert (crm_plugin.version, crm_plugin.name) == ("1.0.0", "CRM")


def test_an_installed_plugin_accepts_its_own_version_and_other_fields(admin_api, crm_plugin):
    Plugin.objects.filter(pk=crm_plugin.pk).update(lifecycle_state=Plugin.LifecycleState.ACTIVE)
    response = admin_api.patch(f"{PLUGINS}/plugin-crm", {"version": "1.0.0", "name": "New"}, format="json")
    assert response.status_code == 200 and response.json()["item"]["name"] == "New"


@pytest.mark.parametrize(("body", "field"), [
    ({"lifecycleState": "active"}, "lifecycleState"),
    ({"pluginId": "plugin-other"}, "pluginId"),
    ({"catalogStatus": "archived"}, "catalogStatus"),
    ({"version": "one"}, "version"),
    ({"manifest": [1, 2]}, "manifest"),
    ({"name": ""}, "name"),
])
def test_a_bad_patch_is_400_naming_the_field_and_changes_nothing(admin_api, crm_plugin, body, field):
    response = admin_api.patch(f"{PLUGINS}/plugin-crm", {**body, "description": "changed"}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    crm_plugin.refresh_from_db()
    assert (crm_plugin.plugin_id, crm_plugin.lifecycle_state, crm_plugin.description) == (
        "plugin-crm", "registered", "")


def test_patching_an_unknown_plugin_is_404(admin_api):
    assert admin_api.patch(f"{PLUGINS}/plugin-nope", {"name": "x"}, format="json").status_code == 404


# --- archive and restore -------------------------------------------------------------------------------------


def test_archive_then_restore_change_the_catalog_status(admin_api, crm_plugin):
    response = admin_api.post(f"{PLUGINS}/plugin-crm/archive")
    assert response.status_code == 200
    assert response.json()["item"]["catalogStatus"] == "archived"
    response = admin_api.post(f"{PLUGINS}/plugin-crm/restore")
    assert response.status_code == 200
    assert response.json()["item"]["catalogStatus"] == "active"


def test_archiving_an_archived_plugin_or_restoring_an_active_one_is_409(admin_api, crm_plugin):
    assert admin_api.post(f"{PLUGINS}/plugin-crm/restore").status_code == 409
    admin_api.post(f"{PLUGINS}/plugin-crm/archive")
    response = admin_api.post(f"{PLUGINS}/plugin-crm/archive")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    crm_plugin.refresh_from_db()
    assert crm_plugin.catalog_status == "archived"


def test_a_deleted_plugin_can_be_neither_archived_nor_restored(admin_api, crm_plugin):
    Plugin.objects.filter(pk=crm_plugin.pk).update(catalog_status=Plugin.CatalogStatus.DELETED)
    assert admin_api.post(f"{PLUGINS}/plugin-crm/archive").status_code == 409
    assert admin_api.post(f"{PLUGINS}/plugin-crm/restore").status_code == 409


def test_archiving_or_restoring_an_unknown_plugin_is_404(admin_api):
    assert admin_api.post(f"{PLUGINS}/plugin-nope/archive").status_code == 404
    assert admin_api.post(f"{PLUGINS}/plugin-nope/restore").status_code == 404


# --- who may call --------------------------------------------------------------------------------------------


def _every_endpoint():
    return [
        ("get", PLUGINS, None),
        ("post", PLUGINS, {"pluginId": "plugin-new", "name": "New"}),
        ("get", f"{PLUGINS}/plugin-crm", None),
        ("patch", f"{PLUGINS}/plugin-crm", {"name": "Taken over"}),
        ("post", f"{PLUGINS}/plugin-crm/archive", None),
        ("post", f"{PLUGINS}/plugin-crm/restore", None),
    ]


def test_a_member_without_a_grant_sees_no_plugins_and_may_change_none(api, crm_plugin, member_key):
    client = api(member_key.token)
    assert client.get(PLUGINS).json()["items"] == []
    for method, url, body in _every_endpoint()[1:]:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (method, url)
        expected = "org_capability_required" if method == "post" and url == PLUGINS else "resource_access_denied"
        assert response.json()["error"]["code"] == expected, (method, url)
    crm_plugin.refresh_from_db()
    assert (crm_plugin.name, crm_plugin.catalog_status, Plugin.objects.count()) == ("CRM", "active", 1)


def test_a_plugin_key_sees_its_own_plugin_only_and_may_change_nothing(api, crm_plugin, plugin_key, org):
    Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing", version="1.0.0")
    client = api(plugin_key.token)
    assert [p["id"] for p in client.get(PLUGINS).json()["items"]] == ["plugin-crm"]
    assert client.get(f"{PLUGINS}/plugin-crm").status_code == 200
    assert client.get(f"{PLUGINS}/plugin-billing").json()["error"]["code"] == "resource_access_denied"
    for method, url, body in _every_endpoint()[3:]:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403, (method, url)
    crm_plugin.refresh_from_db()
    assert (crm_plugin.name, crm_plugin.catalog_status, Plugin.objects.count()) == ("CRM", "active", 2)


def test_another_organization_sees_none_of_the_plugins_and_changes_nothing(foreign, crm_plugin):
    assert foreign.get(PLUGINS).json()["items"] == []
    for method, url, body in _every_endpoint()[2:]:
        response = getattr(foreign, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
    crm_plugin.refresh_from_db()
    assert (crm_plugin.name, crm_plugin.catalog_status) == ("CRM", "active")


def test_counts_and_marketplaces_never_include_another_organizations_rows(admin_api, org, other_org, crm_plugin):
    _member(crm_plugin, _object(org, "mine"))
    _offer(_marketplace(org, "Mine"), crm_plugin)
    theirs = _plugin(other_org, "plugin-crm")
    _member(theirs, _object(other_org, "theirs"))
    _offer(_marketplace(other_org, "Theirs"), theirs)
    item = admin_api.get(f"{PLUGINS}/plugin-crm").json()["item"]
    assert item["memberCount"] == 1
    assert item["marketplaces"] == [Marketplace.objects.get(organization=org).pk]


def test_creating_in_another_organization_leaves_this_one_alone(foreign, crm_plugin, other_org):
    response = foreign.post(PLUGINS, {"pluginId": "plugin-crm", "name": "Theirs"}, format="json")
    assert response.status_code == 201
    assert Plugin.objects.get(organization=other_org).name == "Theirs"
    crm_plugin.refresh_from_db()
    assert crm_plugin.name == "CRM"
