from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplaces.catalog.services.bundles import (
    add_config_object_to_plugin,
    remove_config_object_from_plugin,
)
from marketplaces.catalog.services.marketplaces import (
    add_plugin_to_marketplace,
    create_marketplace,
    remove_plugin_from_marketplace,
)
from marketplaces.config_objects import services
from marketplaces.config_objects.models import ConfigObject
from marketplaces.delivery.models import ClientState
from marketplaces.sharing import CONFIG_OBJECT, MARKETPLACE
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.plugins.models import Plugin
from plexica.plugins.sharing import PLUGIN
from plexica.tenancy.models import Membership, TeamMembership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_team, ensure_user, issue_api_key
from tests.marketplaces.conftest import SKILL_V1, add_version

DELIVERY = "/api/v1/delivery"
CRM = f"{DELIVERY}/plugins/plugin-crm"
OBJECTS = f"{DELIVERY}/config-objects"
RELEASES = "/api/v1/plugins/plugin-crm/releases"
STATE = f"{DELIVERY}/clients/laptop-1/state"
CHECK = f"{DELIVERY}/clients/laptop-1/check-updates"
GOOD = {"pluginId": "plugin-crm", "configObjectId": "cfo_abc", "versionId": "ver_abc"}  # a well-formed entry


def skill(title, ending="three bullets."):
    return SKILL_V1.replace("Summarize tickets", title).replace("three bullets.", ending)


@pytest.fixture
def admin(org, org_key):
    """The org key as a service-layer principal (a manager of everything)."""
    return Principal(organization=org, api_key=org_key.key)


@pytest.fixture
def billing(org):
    return Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing")


@pytest.fixture
def member_object(create, admin, crm_plugin):
    """member_object(title, plugin=crm) -> the JSON item of a new skill that is a member of the plugin."""

    def make(title="Summarize tickets", plugin=None, **create_kwargs):
        create_kwargs.setdefault("raw", skill(title))
        item = create(**create_kwargs)
        obj = ConfigObject.objects.get(pk=item["id"])
        add_config_object_to_plugin(admin, plugin or crm_plugin, obj)
        return item

    return make


@pytest.fixture
def mia(api, member_key):
    return api(member_key.token)


def grant_plugin(admin, plugin, membership, role=access.VIEWER):
    return access.grant(admin, PLUGIN, plugin.pk, role, membership_id=membership.pk)[0]


def new_version(client, object_id, title, ending):
    response = add_version(client, object_id, skill(title, ending))
    assert response.status_code == 201, response.json()
    return response.json()["item"]


def plugin_ids(client):
    return [plugin["id"] for plugin in client.get(f"{DELIVERY}/plugins").json()["items"]]


def items_of(manifest):
    return {item["configObjectId"]: item["versionId"] for item in manifest["items"]}


def install(client, manifest, plugin_id="plugin-crm", state=STATE):
    """Post the state a client has after installing everything `manifest` serves."""
    items = [{"pluginId": plugin_id, "configObjectId": i["configObjectId"], "versionId": i["versionId"]}
             for i in manifest["items"]]
    response = client.post(state, {"items": items}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["item"]


def checks(client, url=CHECK):
    """{configObjectId: (status, versionId, reason)} of a check-updates answer."""
    response = client.get(url)
    assert response.status_code == 200, response.json()
    items = response.json()["item"]["items"]
    return {i["configObjectId"]: (i["status"], i["versionId"], i["reason"]) for i in items}


# --- plugins ------------------------------------------------------------------------------------------------


def test_the_org_key_lists_every_active_plugin_with_its_pinned_release_and_marketplaces(
        admin_api, admin, org, crm_plugin, billing, member_object):
    Plugin.objects.create(organization=org, plugin_id="plugin-old", name="Old",
                          catalog_status=Plugin.CatalogStatus.ARCHIVED)
    Plugin.objects.create(organization=org, plugin_id="plugin-gone", name="Gone",
                          catalog_status=Plugin.CatalogStatus.DELETED)
    marketplace = create_marketplace(admin, "Sales")
    add_plugin_to_marketplace(admin, marketplace, crm_plugin)
    member_object()
    pinned = admin_api.post(RELEASES, {"pin": True}, format="json").json()["item"]
    response = admin_api.get(f"{DELIVERY}/plugins")
    assert response.status_code == 200
    items = response.json()["items"]
    assert [p["id"] for p in items] == ["plugin-billing", "plugin-crm"]
    assert (items[1]["pinnedReleaseId"], items[1]["marketplaces"], items[1]["name"]) == (
        pinned["id"], [marketplace.pk], "CRM")
    assert (items[0]["pinnedReleaseId"], items[0]["marketplaces"]) == (None, [])


def test_the_plugin_list_is_cursor_paginated(admin_api, org):
    for name in ("a", "b", "c"):
        Plugin.objects.create(organization=org, plugin_id=f"plugin-{name}", name=name)
    page = admin_api.get(f"{DELIVERY}/plugins", {"limit": 2}).json()
    assert [p["id"] for p in page["items"]] == ["plugin-a", "plugin-b"]
    rest = admin_api.get(f"{DELIVERY}/plugins", {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [p["id"] for p in rest["items"]] == ["plugin-c"] and rest["nextCursor"] is None
    assert admin_api.get(f"{DELIVERY}/plugins", {"limit": 0}).status_code == 400


def test_the_plugin_list_takes_the_same_queries_for_many_plugins(mia, admin, org, member, crm_plugin):
    sales = create_marketplace(admin, "Sales")
    access.grant(admin, MARKETPLACE, sales.pk, access.VIEWER, membership_id=member.pk)
    add_plugin_to_marketplace(admin, sales, crm_plugin)
    mia.get(f"{DELIVERY}/plugins")  # the key lookup is cached from here on
    with CaptureQueriesContext(connection) as one:
        assert len(mia.get(f"{DELIVERY}/plugins").json()["items"]) == 1
    baseline = len(one)
    for n in range(10):
        plugin = Plugin.objects.create(organization=org, plugin_id=f"plugin-p{n}", name=f"P{n}")
        if n % 2:
            grant_plugin(admin, plugin, member)
        else:
            add_plugin_to_marketplace(admin, sales, plugin)
    with CaptureQueriesContext(connection) as many:
        items = mia.get(f"{DELIVERY}/plugins").json()["items"]
    assert len(items) == 11 and len(many) == baseline
    marketplaces = {plugin["id"]: plugin["marketplaces"] for plugin in items}
    assert marketplaces["plugin-crm"] == marketplaces["plugin-p0"] == [sales.pk]
    assert marketplaces["plugin-p1"] == []


def test_one_plugin_is_read_by_id_and_an_unknown_one_is_404(admin_api, crm_plugin):
    response = admin_api.get(CRM)
    assert response.status_code == 200
    item = response.json()["item"]
    assert (item["id"], item["pinnedReleaseId"], item["marketplaces"]) == ("plugin-crm", None, [])
    for path in ("", "/manifest", "/download"):
        response = admin_api.get(f"{DELIVERY}/plugins/plugin-nope{path}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("status", [Plugin.CatalogStatus.ARCHIVED, Plugin.CatalogStatus.DELETED])
def test_an_archived_or_deleted_plugin_is_not_delivered(admin_api, crm_plugin, member_object, status):
    member_object()
    Plugin.objects.filter(pk=crm_plugin.pk).update(catalog_status=status)
    assert admin_api.get(f"{DELIVERY}/plugins").json()["items"] == []
    for path in ("", "/manifest", "/download"):
        response = admin_api.get(f"{CRM}{path}")
        assert response.status_code == 404 and response.json()["error"]["details"]["catalogStatus"] == status


# --- who sees what ------------------------------------------------------------------------------------------


def test_a_member_without_a_grant_sees_no_plugins_and_is_refused_each_one(mia, crm_plugin, member_object):
    obj = member_object()
    assert mia.get(f"{DELIVERY}/plugins").json() == {"items": [], "nextCursor": None}
    for path in (CRM, f"{CRM}/manifest", f"{CRM}/download", f"{OBJECTS}/{obj['id']}/download"):
        response = mia.get(path)
        assert response.status_code == 403 and response.json()["error"]["code"] == "resource_access_denied"


def test_a_member_with_a_plugin_grant_sees_that_plugin_only(mia, admin, member, crm_plugin, billing,
                                                             member_object):
    obj = member_object()
    grant_plugin(admin, crm_plugin, member)
    assert [p["id"] for p in mia.get(f"{DELIVERY}/plugins").json()["items"]] == ["plugin-crm"]
    assert mia.get(CRM).status_code == 200
    assert list(items_of(mia.get(f"{CRM}/manifest").json()["item"])) == [obj["id"]]
    assert mia.get(f"{OBJECTS}/{obj['id']}/download").status_code == 200
    assert mia.get(f"{DELIVERY}/plugins/plugin-billing").status_code == 403


def test_a_marketplace_grant_makes_its_plugins_visible_with_that_marketplace(
        mia, admin, member, crm_plugin, billing, member_object):
    member_object()
    sales, hidden = (create_marketplace(admin, name) for name in ("Sales", "Hidden"))
    add_plugin_to_marketplace(admin, sales, crm_plugin)
    add_plugin_to_marketplace(admin, hidden, crm_plugin)
    access.grant(admin, MARKETPLACE, sales.pk, access.VIEWER, membership_id=member.pk)
    items = mia.get(f"{DELIVERY}/plugins").json()["items"]
    assert [(p["id"], p["marketplaces"]) for p in items] == [("plugin-crm", [sales.pk])]
    assert mia.get(f"{CRM}/manifest").status_code == 200
    assert mia.get(f"{DELIVERY}/plugins/plugin-billing").status_code == 403


def test_a_team_grant_and_an_org_wide_grant_open_a_plugin(mia, api, org, admin, member, crm_plugin, billing):
    team, _ = ensure_team(org, "sales")
    TeamMembership.objects.create(team=team, membership=member)
    access.grant(admin, PLUGIN, crm_plugin.pk, access.VIEWER, team_id=team.pk)
    access.grant(admin, PLUGIN, billing.pk, access.VIEWER, org_wide=True)
    assert plugin_ids(mia) == ["plugin-billing", "plugin-crm"]
    user, _ = ensure_user("noah")
    noah = api(issue_api_key(org, name="noah", membership=add_member(org, user)[0])[1])
    assert [p["id"] for p in noah.get(f"{DELIVERY}/plugins").json()["items"]] == ["plugin-billing"]
    assert noah.get(CRM).status_code == 403


def test_a_plugin_key_sees_its_own_plugin_only(api, plugin_key, billing, member_object):
    obj = member_object()
    other = member_object("Invoices", plugin=billing)
    crm = api(plugin_key.token)
    assert [p["id"] for p in crm.get(f"{DELIVERY}/plugins").json()["items"]] == ["plugin-crm"]
    assert list(items_of(crm.get(f"{CRM}/manifest").json()["item"])) == [obj["id"]]
    assert crm.get(f"{DELIVERY}/plugins/plugin-billing/manifest").status_code == 403
    assert crm.get(f"{OBJECTS}/{obj['id']}/download").status_code == 200
    assert crm.get(f"{OBJECTS}/{other['id']}/download").status_code == 403


def test_an_admin_member_sees_everything_without_grants(api, org, crm_plugin, billing):
    user, _ = ensure_user("otto")
    owner = add_member(org, user, Membership.Role.ADMIN)[0]
    client = api(issue_api_key(org, name="otto", membership=owner)[1])
    assert plugin_ids(client) == ["plugin-billing", "plugin-crm"]


def test_another_organization_is_refused_and_its_ids_are_unknown(api, other_org_key, member_object):
    obj = member_object()
    foreign = api(other_org_key.token)
    for path in (f"{DELIVERY}/plugins", CRM, f"{CRM}/manifest", STATE, CHECK):
        assert foreign.get(path).status_code == 403
    globex = api(other_org_key.token, tenant="globex")
    assert globex.get(f"{DELIVERY}/plugins").json()["items"] == []
    assert globex.get(CRM).status_code == 404
    assert globex.get(f"{CRM}/manifest").status_code == 404
    assert globex.get(f"{OBJECTS}/{obj['id']}/download").status_code == 404


def test_no_credential_is_401(api, crm_plugin):
    assert api().get(f"{DELIVERY}/plugins").status_code == 401


# --- manifest and downloads ---------------------------------------------------------------------------------


def test_the_manifest_lists_each_member_at_its_latest_version_without_payloads(admin_api, member_object):
    alpha, beta = member_object("Alpha"), member_object("Beta")
    beta_v2 = new_version(admin_api, beta["id"], "Beta", "five bullets.")
    response = admin_api.get(f"{CRM}/manifest")
    assert response.status_code == 200
    manifest = response.json()["item"]
    assert manifest["plugin"]["id"] == "plugin-crm" and manifest["release"] is None
    assert manifest["items"] == [
        {"configObjectId": alpha["id"], "type": "skill", "title": "Alpha",
         "versionId": alpha["latestVersion"]["id"], "sha256": alpha["latestVersion"]["sha256"]},
        {"configObjectId": beta["id"], "type": "skill", "title": "Beta", "versionId": beta_v2["id"],
         "sha256": beta_v2["sha256"]},
    ]
    assert "rawSourceText" not in str(manifest)


def test_deleted_objects_and_objects_deleted_at_their_source_leave_the_manifest(admin_api, admin,
                                                                                member_object):
    kept, deleted, gone = member_object("Kept"), member_object("Deleted"), member_object("Gone")
    services.delete_config_object(admin, deleted["id"])
    services.record_deleted_version(admin, gone["id"])
    assert list(items_of(admin_api.get(f"{CRM}/manifest").json()["item"])) == [kept["id"]]
    for obj in (deleted, gone):
        assert admin_api.get(f"{OBJECTS}/{obj['id']}/download").status_code == 404


def test_the_download_carries_each_payload_decrypted(admin_api, member_object):
    skill_item = member_object("Alpha", schemaVersion="2",
                               metadata={"fileName": "alpha.md", "relativePath": "skills/alpha.md"})
    mcp = member_object("unused", type_="mcp", raw=None, normalizedPayloadJson={"command": "crm-mcp"})
    response = admin_api.get(f"{CRM}/download")
    assert response.status_code == 200
    download = response.json()["item"]
    assert download["release"] is None and download["plugin"]["id"] == "plugin-crm"
    by_id = {item["configObjectId"]: item for item in download["items"]}
    assert by_id[skill_item["id"]] == {
        "configObjectId": skill_item["id"], "type": "skill", "title": "Alpha",
        "versionId": skill_item["latestVersion"]["id"], "sha256": skill_item["latestVersion"]["sha256"],
        "schemaVersion": "2", "rawSourceText": skill("Alpha"), "normalizedPayloadJson": None,
        "fileName": "alpha.md", "relativePath": "skills/alpha.md",
    }
    assert by_id[mcp["id"]]["normalizedPayloadJson"] == {"command": "crm-mcp"}
    assert by_id[mcp["id"]]["fileName"] == "" and by_id[mcp["id"]]["type"] == "mcp"


def test_one_config_object_downloads_at_its_latest_version(admin_api, member_object):
    obj = member_object("Alpha")
    v2 = new_version(admin_api, obj["id"], "Alpha", "two bullets.")
    response = admin_api.get(f"{OBJECTS}/{obj['id']}/download")
    assert response.status_code == 200
    item = response.json()["item"]
    assert (item["versionId"], item["sha256"], item["rawSourceText"]) == (v2["id"], v2["sha256"],
                                                                           skill("Alpha", "two bullets."))
    assert admin_api.get(f"{OBJECTS}/cfo_missing/download").status_code == 404


def test_a_direct_grant_on_a_config_object_allows_its_download(mia, admin, member, create):
    obj = create()
    assert mia.get(f"{OBJECTS}/{obj['id']}/download").status_code == 403
    access.grant(admin, CONFIG_OBJECT, obj["id"], access.VIEWER, membership_id=member.pk)
    assert mia.get(f"{OBJECTS}/{obj['id']}/download").json()["item"]["configObjectId"] == obj["id"]


def test_the_manifest_takes_a_bounded_number_of_queries(admin_api, mia, admin, member, crm_plugin,
                                                        member_object, django_assert_max_num_queries):
    grant_plugin(admin, crm_plugin, member)
    member_object("First")
    counts = {}
    for client in (admin_api, mia):
        client.get(f"{CRM}/manifest")  # the key lookup is cached from here on
        with CaptureQueriesContext(connection) as few:
            assert client.get(f"{CRM}/manifest").status_code == 200
        counts[client] = len(few)
    assert counts[admin_api] <= 2 and counts[mia] <= 4  # the plugin, the role check, the items
    for n in range(12):
        member_object(f"Object {n}")
    admin_api.post(RELEASES, {"pin": True}, format="json")
    for client in (admin_api, mia):
        with django_assert_max_num_queries(counts[client] + 1):  # + the pinned release row
            response = client.get(f"{CRM}/manifest")
        assert len(response.json()["item"]["items"]) == 13
    with django_assert_max_num_queries(counts[mia] + 2):  # + the release row and the payloads
        assert len(mia.get(f"{CRM}/download").json()["item"]["items"]) == 13


# --- releases in delivery -----------------------------------------------------------------------------------


def test_a_pinned_release_is_served_until_it_is_unpinned(admin_api, member_object):
    obj = member_object("Alpha")
    v1 = obj["latestVersion"]["id"]
    pinned = admin_api.post(RELEASES, {"name": "stable", "pin": True},
                            format="json").json()["item"]
    v2 = new_version(admin_api, obj["id"], "Alpha", "two bullets.")
    manifest = admin_api.get(f"{CRM}/manifest").json()["item"]
    assert items_of(manifest) == {obj["id"]: v1}
    assert manifest["release"] == {"id": pinned["id"], "name": "stable", "createdAt": pinned["createdAt"],
                                   "pinned": True}
    assert admin_api.get(f"{CRM}/download").json()["item"]["items"][0]["rawSourceText"] == skill("Alpha")
    admin_api.post(f"{RELEASES}/unpin")
    manifest = admin_api.get(f"{CRM}/manifest").json()["item"]
    assert items_of(manifest) == {obj["id"]: v2["id"]} and manifest["release"] is None


def test_a_client_can_ask_for_a_specific_release(admin_api, billing, member_object):
    obj = member_object("Alpha")
    old = admin_api.post(RELEASES, {"name": "old"}, format="json").json()["item"]
    new_version(admin_api, obj["id"], "Alpha", "two bullets.")
    manifest = admin_api.get(f"{CRM}/manifest", {"release": old["id"]}).json()["item"]
    assert items_of(manifest) == {obj["id"]: obj["latestVersion"]["id"]}
    assert manifest["release"]["id"] == old["id"] and manifest["release"]["pinned"] is False
    other = admin_api.post("/api/v1/plugins/plugin-billing/releases", {}, format="json").json()["item"]
    for release_id in ("rel_missing", other["id"]):
        for path in ("manifest", "download"):
            response = admin_api.get(f"{CRM}/{path}", {"release": release_id})
            assert response.status_code == 404 and response.json()["error"]["details"]["field"] == "release"


def test_a_pinned_release_still_drops_deleted_objects_but_keeps_objects_that_left_the_plugin(
        admin_api, admin, crm_plugin, member_object):
    deleted, left = member_object("Deleted"), member_object("Left")
    admin_api.post(RELEASES, {"pin": True}, format="json")
    services.delete_config_object(admin, deleted["id"])
    remove_config_object_from_plugin(admin, crm_plugin, ConfigObject.objects.get(pk=left["id"]))
    manifest = admin_api.get(f"{CRM}/manifest").json()["item"]
    assert items_of(manifest) == {left["id"]: left["latestVersion"]["id"]}


# --- client state -------------------------------------------------------------------------------------------


def test_posted_state_replaces_the_stored_one_and_reads_back(mia, member):
    first = [{"pluginId": "plugin-crm", "configObjectId": "cfo_a1", "versionId": "ver_a1"},
             {"pluginId": "plugin-crm", "configObjectId": "cfo_b1", "versionId": "ver_b1"}]
    response = mia.post(STATE, {"items": first}, format="json")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert response.json()["item"]["clientId"] == "laptop-1" and response.json()["item"]["items"] == first
    mia.post(STATE, {"items": first[1:]}, format="json")
    item = mia.get(STATE).json()["item"]
    assert (item["clientId"], item["items"]) == ("laptop-1", first[1:]) and item["updatedAt"]
    state = ClientState.objects.get()
    assert (state.owner_key, state.client_id) == (f"mem:{member.pk}", "laptop-1")


def test_state_that_was_never_posted_is_404_as_are_its_update_checks(mia):
    for path in (STATE, CHECK):
        response = mia.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_one_members_client_state_is_invisible_to_another_member_with_the_same_client_id(mia, api, org):
    mia.post(STATE, {"items": [{"pluginId": "plugin-crm", "configObjectId": "cfo_a", "versionId": "ver_a"}]},
             format="json")
    user, _ = ensure_user("noah")
    noah = api(issue_api_key(org, name="noah", membership=add_member(org, user)[0])[1])
    assert noah.get(STATE).status_code == 404
    assert noah.post(STATE, {"items": []}, format="json").status_code == 200
    assert len(mia.get(STATE).json()["item"]["items"]) == 1 and noah.get(STATE).json()["item"]["items"] == []
    assert ClientState.objects.count() == 2


def test_a_members_session_and_member_key_share_client_state(mia, api, member):
    mia.post(STATE, {"items": [GOOD]}, format="json")
    session = api()
    session.force_login(member.user)
    assert session.get(STATE).json()["item"]["items"] == [GOOD]


def test_keys_without_a_member_keep_their_own_client_state(api, org_key, plugin_key):
    api(org_key.token).post(STATE, {"items": []}, format="json")
    assert api(plugin_key.token).get(STATE).status_code == 404
    assert ClientState.objects.get().owner_key == f"key:{org_key.key.pk}"


@pytest.mark.parametrize("body, field", [
    ({}, "items"),
    ({"items": {"pluginId": "plugin-crm"}}, "items"),
    ({"items": [GOOD, "plugin-crm"]}, "items[1]"),
    ({"items": [GOOD, {**GOOD, "versionId": None, "configObjectId": "cfo_x"}]}, "items[1].versionId"),
    ({"items": [{k: v for k, v in GOOD.items() if k != "pluginId"}]}, "items[0].pluginId"),
    ({"items": [{**GOOD, "pluginId": "crm"}]}, "items[0].pluginId"),
    ({"items": [{**GOOD, "configObjectId": "ver_abc"}]}, "items[0].configObjectId"),
    ({"items": [{**GOOD, "versionId": 42}]}, "items[0].versionId"),
    ({"items": [{**GOOD, "versionId": "ver_" + "x" * 40}]}, "items[0].versionId"),
    ({"items": [GOOD, GOOD]}, "items[1].configObjectId"),
    ({"items": [{**GOOD, "configObjectId": f"cfo_{n}"} for n in range(5001)]}, "items"),
])
def test_a_bad_state_is_400_naming_the_field_and_index_and_stores_nothing(mia, body, field):
    response = mia.post(STATE, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["message"]
    assert response.json()["error"]["details"]["field"] == field
    assert not ClientState.objects.exists()


@pytest.mark.parametrize("client_id", ["a b", "x" * 101, "caf\u00e9", "laptop;1"])
def test_a_bad_client_id_is_400_naming_client_id(mia, client_id):
    url = f"{DELIVERY}/clients/{quote(client_id, safe='')}"
    for response in (mia.post(f"{url}/state", {"items": []}, format="json"), mia.get(f"{url}/state"),
                     mia.get(f"{url}/check-updates")):
        assert response.status_code == 400, response.json()
        assert response.json()["error"]["details"]["field"] == "clientId"
    assert not ClientState.objects.exists()


def test_a_client_id_with_a_slash_is_no_endpoint(mia):
    assert mia.get(f"{DELIVERY}/clients/laptop%2F1/state").status_code == 404


@pytest.mark.parametrize("client_id", ["x" * 100, "host.example:laptop_1-A"])
def test_client_ids_up_to_100_letters_digits_and_dots_colons_dashes_are_fine(mia, client_id):
    assert mia.post(f"{DELIVERY}/clients/{client_id}/state", {"items": []}, format="json").status_code == 200
    assert ClientState.objects.get().client_id == client_id


def test_the_largest_allowed_state_is_stored(mia):
    items = [{**GOOD, "configObjectId": f"cfo_{n}"} for n in range(5000)]
    assert mia.post(STATE, {"items": items}, format="json").status_code == 200
    assert len(ClientState.objects.get().items) == 5000


# --- check-updates across a sequence of edits ------------------------------------------------------------


def test_check_updates_follows_a_sequence_of_edits(mia, admin_api, admin, member, crm_plugin, member_object):
    alpha, beta = member_object("Alpha"), member_object("Beta")
    grant = grant_plugin(admin, crm_plugin, member)
    install(mia, mia.get(f"{CRM}/manifest").json()["item"])
    report = mia.get(CHECK).json()["item"]
    assert report["clientId"] == "laptop-1" and report["counts"]["up_to_date"] == 2
    assert checks(mia) == {alpha["id"]: ("up_to_date", alpha["latestVersion"]["id"], None),
                           beta["id"]: ("up_to_date", beta["latestVersion"]["id"], None)}

    alpha_v2 = new_version(admin_api, alpha["id"], "Alpha", "two bullets.")
    item = next(i for i in mia.get(CHECK).json()["item"]["items"] if i["configObjectId"] == alpha["id"])
    assert (item["status"], item["installedVersionId"], item["versionId"], item["sha256"]) == (
        "update_available", alpha["latestVersion"]["id"], alpha_v2["id"], alpha_v2["sha256"])
    assert item["releaseId"] is None

    services.delete_config_object(admin, beta["id"])
    assert checks(mia)[beta["id"]] == ("removed_upstream", None, "object_deleted")
    assert beta["id"] not in items_of(mia.get(f"{CRM}/manifest").json()["item"])

    gamma = member_object("Gamma")
    assert checks(mia)[gamma["id"]] == ("new", gamma["latestVersion"]["id"], None)

    remove_config_object_from_plugin(admin, crm_plugin, ConfigObject.objects.get(pk=alpha["id"]))
    assert checks(mia)[alpha["id"]] == ("removed_upstream", None, "removed_from_plugin")

    install(mia, mia.get(f"{CRM}/manifest").json()["item"])
    assert checks(mia) == {gamma["id"]: ("up_to_date", gamma["latestVersion"]["id"], None)}

    access.revoke(admin, PLUGIN, crm_plugin.pk, grant.pk)
    assert checks(mia) == {gamma["id"]: ("no_longer_accessible", None, None)}
    assert AccessGrant.objects.get(pk=grant.pk).revoked_at is not None


def test_an_object_deleted_at_its_source_is_removed_upstream(admin_api, admin, member_object):
    obj = member_object()
    install(admin_api, admin_api.get(f"{CRM}/manifest").json()["item"])
    services.record_deleted_version(admin, obj["id"])
    assert checks(admin_api) == {obj["id"]: ("removed_upstream", None, "object_deleted")}


def test_leaving_the_only_marketplace_that_offered_a_plugin_makes_it_no_longer_accessible(
        mia, admin, member, crm_plugin, member_object):
    obj = member_object()
    sales = create_marketplace(admin, "Sales")
    add_plugin_to_marketplace(admin, sales, crm_plugin)
    access.grant(admin, MARKETPLACE, sales.pk, access.VIEWER, membership_id=member.pk)
    install(mia, mia.get(f"{CRM}/manifest").json()["item"])
    assert checks(mia)[obj["id"]][0] == "up_to_date"
    remove_plugin_from_marketplace(admin, sales, crm_plugin)
    assert checks(mia) == {obj["id"]: ("no_longer_accessible", None, None)}
    assert mia.get(f"{DELIVERY}/plugins").json()["items"] == []


def test_an_archived_or_unknown_plugin_is_removed_upstream(admin_api, crm_plugin, member_object):
    obj = member_object()
    items = [{"pluginId": "plugin-crm", "configObjectId": obj["id"], "versionId": obj["latestVersion"]["id"]},
             {"pluginId": "plugin-ghost", "configObjectId": "cfo_ghost", "versionId": "ver_ghost"}]
    admin_api.post(STATE, {"items": items}, format="json")
    Plugin.objects.filter(pk=crm_plugin.pk).update(catalog_status=Plugin.CatalogStatus.ARCHIVED)
    assert checks(admin_api) == {obj["id"]: ("removed_upstream", None, "plugin_withdrawn"),
                                 "cfo_ghost": ("removed_upstream", None, "plugin_withdrawn")}


def test_check_updates_compares_with_the_pinned_release(admin_api, member_object):
    alpha = member_object("Alpha")
    v1 = alpha["latestVersion"]["id"]
    stable = admin_api.post(RELEASES, {"name": "stable"}, format="json").json()["item"]
    v2 = new_version(admin_api, alpha["id"], "Alpha", "two bullets.")
    beta = member_object("Beta")
    install(admin_api, admin_api.get(f"{CRM}/manifest").json()["item"])  # the rolling latest: alpha v2, beta
    assert checks(admin_api) == {alpha["id"]: ("up_to_date", v2["id"], None),
                                 beta["id"]: ("up_to_date", beta["latestVersion"]["id"], None)}

    admin_api.post(f"{RELEASES}/{stable['id']}/pin")
    item = next(i for i in admin_api.get(CHECK).json()["item"]["items"] if i["configObjectId"] == alpha["id"])
    assert (item["status"], item["installedVersionId"], item["versionId"], item["releaseId"]) == (
        "update_available", v2["id"], v1, stable["id"])
    assert checks(admin_api)[beta["id"]] == ("removed_upstream", None, "not_in_release")

    install(admin_api, admin_api.get(f"{CRM}/manifest").json()["item"])
    assert checks(admin_api) == {alpha["id"]: ("up_to_date", v1, None)}

    admin_api.post(f"{RELEASES}/unpin")
    assert checks(admin_api) == {alpha["id"]: ("update_available", v2["id"], None),
                                 beta["id"]: ("new", beta["latestVersion"]["id"], None)}


def test_new_items_are_offered_only_for_plugins_the_client_has_installed(admin_api, billing, member_object):
    alpha = member_object("Alpha")
    member_object("Invoices", plugin=billing)
    install(admin_api, admin_api.get(f"{CRM}/manifest").json()["item"])
    report = admin_api.get(CHECK).json()["item"]
    assert [(i["pluginId"], i["configObjectId"]) for i in report["items"]] == [("plugin-crm", alpha["id"])]
    assert report["counts"] == {"up_to_date": 1, "update_available": 0, "removed_upstream": 0,
                                "no_longer_accessible": 0, "new": 0}


def test_check_updates_takes_a_bounded_number_of_queries(mia, admin_api, admin, member, crm_plugin, billing,
                                                         member_object, django_assert_max_num_queries):
    grant_plugin(admin, crm_plugin, member)
    grant_plugin(admin, billing, member)
    member_object("First")
    install(mia, mia.get(f"{CRM}/manifest").json()["item"])
    with CaptureQueriesContext(connection) as few:
        checks(mia)
    baseline = len(few)  # read now: the test client clears the query log at each request
    objects = [member_object(f"Crm {n}") for n in range(8)] + [member_object(f"Bill {n}", plugin=billing)
                                                                 for n in range(8)]
    admin_api.post("/api/v1/plugins/plugin-billing/releases", {"pin": True}, format="json")
    items = [{"pluginId": "plugin-crm" if "Crm" in o["title"] else "plugin-billing",
              "configObjectId": o["id"], "versionId": o["latestVersion"]["id"]} for o in objects]
    mia.post(STATE, {"items": items}, format="json")
    for obj in objects[:3]:
        new_version(admin_api, obj["id"], obj["title"], "changed.")
    services.delete_config_object(admin, objects[4]["id"])
    with django_assert_max_num_queries(baseline + 2):  # + the pinned release's items and the deleted objects
        result = checks(mia)
    assert len(result) == 17 and result[objects[4]["id"]][0] == "removed_upstream"


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_first_posts_of_the_same_client_store_one_state(api, member_key):
    from tests.concurrency import run_together

    for round_ in range(5):
        url = f"{DELIVERY}/clients/race-{round_}/state"

        def post(version_id):
            item = {**GOOD, "versionId": version_id}
            return api(member_key.token).post(url, {"items": [item]}, format="json").status_code

        assert run_together(lambda: post("ver_one"), lambda: post("ver_two")) == [200, 200], round_
        state = ClientState.objects.get(client_id=f"race-{round_}")
        assert state.items[0]["versionId"] in ("ver_one", "ver_two")
