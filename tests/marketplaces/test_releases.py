import pytest

from marketplaces.catalog.services.bundles import (
    add_config_object_to_plugin,
    remove_config_object_from_plugin,
)
from marketplaces.catalog.services.marketplaces import add_plugin_to_marketplace, create_marketplace
from marketplaces.config_objects import services
from marketplaces.config_objects.models import ConfigObject
from marketplaces.delivery.models import PluginRelease, PluginReleaseItem
from marketplaces.sharing import MARKETPLACE
from plexica.access import services as access
from plexica.plugins.models import Plugin
from plexica.plugins.sharing import PLUGIN
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import issue_api_key
from tests.marketplaces.conftest import SKILL_V1, SKILL_V2, add_version

RELEASES = "/api/v1/plugins/plugin-crm/releases"


def skill(title):
    return SKILL_V1.replace("Summarize tickets", title)


@pytest.fixture
def admin(org, org_key):
    """The org key as a service-layer principal (a manager of everything)."""
    return Principal(organization=org, api_key=org_key.key)


@pytest.fixture
def member_object(create, admin, crm_plugin):
    """member_object(title) -> the JSON item of a new skill that is a member of plugin-crm."""

    def make(title="Summarize tickets", raw=None, type_="skill", plugin=None):
        item = create(type_=type_, raw=raw or skill(title))
        obj = ConfigObject.objects.get(pk=item["id"])
        add_config_object_to_plugin(admin, plugin or crm_plugin, obj)
        return item

    return make


def release(client, **body):
    response = client.post(RELEASES, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["item"]


# --- create -------------------------------------------------------------------------------------------------


def test_a_release_snapshots_the_latest_version_of_every_member_object(admin_api, member_object):
    first, second = member_object("Alpha"), member_object("Beta")
    newer = add_version(admin_api, second["id"], skill("Beta").replace("three bullets.", "four.")).json()
    response = admin_api.post(RELEASES, {"name": "2026.11", "notes": "First cut"}, format="json")
    assert response.status_code == 201 and response.json()["ok"] is True
    item = response.json()["item"]
    assert item["id"].startswith("rel_")
    summary = {key: item[key] for key in ("pluginId", "name", "notes", "pinned", "pinnedAt", "itemCount")}
    assert summary == {"pluginId": "plugin-crm", "name": "2026.11", "notes": "First cut", "pinned": False,
                       "pinnedAt": None, "itemCount": 2}
    assert [(i["configObjectId"], i["versionId"]) for i in item["items"]] == [
        (first["id"], first["latestVersion"]["id"]), (second["id"], newer["item"]["id"])]
    assert item["items"][0] == {"configObjectId": first["id"], "type": "skill", "title": "Alpha",
                                "versionId": first["latestVersion"]["id"],
                                "sha256": first["latestVersion"]["sha256"]}


def test_a_release_leaves_out_deleted_objects_removed_members_and_deleted_versions(
        admin_api, admin, member_object, crm_plugin):
    kept, deleted, removed, gone = (member_object(t) for t in ("Kept", "Deleted", "Removed", "Gone"))
    services.delete_config_object(admin, deleted["id"])
    removed_object = ConfigObject.objects.get(pk=removed["id"])
    remove_config_object_from_plugin(admin, crm_plugin, removed_object)
    services.record_deleted_version(admin, gone["id"])
    item = release(admin_api)
    assert [i["configObjectId"] for i in item["items"]] == [kept["id"]]


def test_an_empty_plugin_gets_an_empty_release_and_the_body_is_optional(admin_api, crm_plugin):
    item = release(admin_api)
    assert (item["name"], item["notes"], item["itemCount"], item["items"]) == ("", "", 0, [])


def test_the_release_records_who_made_it(api, member_key, member, admin, member_object, crm_plugin):
    access.grant(admin, PLUGIN, crm_plugin.pk, access.MANAGER, membership_id=member.pk)
    item = release(api(member_key.token), name="by mia")
    assert item["createdBy"] == "mia"
    assert PluginRelease.objects.get(pk=item["id"]).created_by == member.user


@pytest.mark.parametrize("body, field", [({"name": "x" * 101}, "name"), ({"pin": "maybe"}, "pin"),
                                         ({"notes": 5 * ["x"]}, "notes")])
def test_a_bad_release_body_is_400_naming_the_field_and_creates_nothing(admin_api, crm_plugin, body, field):
    response = admin_api.post(RELEASES, body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["message"]
    assert not PluginRelease.objects.exists()


def test_a_release_of_an_unknown_plugin_is_404(admin_api):
    response = admin_api.post("/api/v1/plugins/plugin-nope/releases", {}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_deleted_plugin_cannot_get_a_release(admin_api, crm_plugin):
    Plugin.objects.filter(pk=crm_plugin.pk).update(catalog_status=Plugin.CatalogStatus.DELETED)
    response = admin_api.post(RELEASES, {}, format="json")
    assert response.status_code == 409 and not PluginRelease.objects.exists()


# --- immutability -------------------------------------------------------------------------------------------


def test_editing_or_deleting_an_object_after_a_release_does_not_change_the_release(
        admin_api, admin, member_object, crm_plugin):
    obj = member_object()
    before = release(admin_api, name="v1")
    assert add_version(admin_api, obj["id"], SKILL_V2).status_code == 201
    services.delete_config_object(admin, obj["id"])
    after = admin_api.get(f"{RELEASES}/{before['id']}").json()["item"]
    assert after["items"] == before["items"]
    assert after["items"][0]["versionId"] == obj["latestVersion"]["id"]
    second = release(admin_api, name="v2")
    assert second["items"] == []  # the deleted object is not in later releases


def test_release_items_cannot_be_changed_through_the_api(admin_api, member_object):
    member_object()
    item = release(admin_api)
    for method in ("put", "patch", "delete"):
        assert getattr(admin_api, method)(f"{RELEASES}/{item['id']}").status_code == 405
    assert PluginReleaseItem.objects.filter(release_id=item["id"]).count() == 1


# --- read ---------------------------------------------------------------------------------------------------


def test_the_list_is_newest_first_without_items_and_paginated(admin_api, member_object):
    member_object()
    first, second, third = (release(admin_api, name=name) for name in ("one", "two", "three"))
    page = admin_api.get(RELEASES, {"limit": 2}).json()
    assert [r["id"] for r in page["items"]] == [third["id"], second["id"]]
    assert page["items"][0]["itemCount"] == 1 and "items" not in page["items"][0]
    rest = admin_api.get(RELEASES, {"limit": 2, "cursor": page["nextCursor"]}).json()
    assert [r["id"] for r in rest["items"]] == [first["id"]] and rest["nextCursor"] is None


def test_a_release_is_read_by_id_with_its_items(admin_api, member_object):
    member_object()
    created = release(admin_api, name="v1")
    response = admin_api.get(f"{RELEASES}/{created['id']}")
    assert response.status_code == 200 and response.json()["item"] == created


def test_an_unknown_release_or_one_of_another_plugin_is_404(admin_api, org, member_object):
    Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing")
    other = admin_api.post("/api/v1/plugins/plugin-billing/releases", {}, format="json").json()["item"]
    assert admin_api.get(f"{RELEASES}/rel_missing").status_code == 404
    assert admin_api.get(f"{RELEASES}/{other['id']}").status_code == 404
    assert admin_api.post(f"{RELEASES}/{other['id']}/pin").status_code == 404
    assert not PluginRelease.objects.get(pk=other["id"]).pinned_at


# --- pin and unpin ------------------------------------------------------------------------------------------


def test_pinning_a_release_unpins_the_other_one(admin_api, member_object):
    member_object()
    first, second = release(admin_api, name="one", pin=True), release(admin_api, name="two")
    assert first["pinned"] is True and first["pinnedAt"] and second["pinned"] is False
    response = admin_api.post(f"{RELEASES}/{second['id']}/pin")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert response.json()["item"]["pinned"] is True and response.json()["item"]["items"] == second["items"]
    pinned = PluginRelease.objects.filter(pinned_at__isnull=False).values_list("pk", flat=True)
    assert list(pinned) == [second["id"]]
    assert admin_api.get(f"{RELEASES}/{first['id']}").json()["item"]["pinned"] is False


def test_creating_a_pinned_release_unpins_the_previous_one(admin_api, member_object):
    member_object()
    first = release(admin_api, pin=True)
    second = release(admin_api, pin=True)
    assert second["pinned"] is True
    assert admin_api.get(f"{RELEASES}/{first['id']}").json()["item"]["pinned"] is False


def test_pinning_the_pinned_release_again_changes_nothing(admin_api, member_object):
    member_object()
    pinned = release(admin_api, pin=True)
    again = admin_api.post(f"{RELEASES}/{pinned['id']}/pin").json()["item"]
    assert again["pinnedAt"] == pinned["pinnedAt"]


def test_unpinning_returns_the_release_that_was_pinned_then_null(admin_api, member_object):
    member_object()
    pinned = release(admin_api, pin=True)
    response = admin_api.post(f"{RELEASES}/unpin")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "item": {**{k: v for k, v in pinned.items() if k != "items"},
                                                    "pinned": False, "pinnedAt": None}}
    assert not PluginRelease.objects.filter(pinned_at__isnull=False).exists()
    assert admin_api.post(f"{RELEASES}/unpin").json() == {"ok": True, "item": None}
    assert admin_api.get(f"{RELEASES}/unpin").status_code == 405


# --- who may do what ----------------------------------------------------------------------------------------


@pytest.fixture
def mia(api, member_key):
    return api(member_key.token)


def test_a_member_without_a_grant_can_neither_read_nor_make_releases(mia, admin_api, member_object):
    member_object()
    created = release(admin_api)
    for response in (mia.get(RELEASES), mia.get(f"{RELEASES}/{created['id']}"),
                     mia.post(RELEASES, {}, format="json"), mia.post(f"{RELEASES}/{created['id']}/pin"),
                     mia.post(f"{RELEASES}/unpin")):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "resource_access_denied"


@pytest.mark.parametrize("role", [access.VIEWER, access.EDITOR])
def test_a_viewer_or_editor_reads_releases_but_cannot_make_or_pin_them(
        mia, admin_api, admin, member, member_object, crm_plugin, role):
    member_object()
    created = release(admin_api)
    access.grant(admin, PLUGIN, crm_plugin.pk, role, membership_id=member.pk)
    assert [r["id"] for r in mia.get(RELEASES).json()["items"]] == [created["id"]]
    assert mia.get(f"{RELEASES}/{created['id']}").status_code == 200
    for response in (mia.post(RELEASES, {}, format="json"), mia.post(f"{RELEASES}/{created['id']}/pin"),
                     mia.post(f"{RELEASES}/unpin")):
        assert response.status_code == 403
        assert response.json()["error"]["details"]["requiredRole"] == "manager"
    assert PluginRelease.objects.count() == 1
    assert not PluginRelease.objects.filter(pinned_at__isnull=False).exists()


def test_a_manager_through_a_team_grant_makes_and_pins_releases(mia, admin, org, member, member_object,
                                                                 crm_plugin):
    from plexica.tenancy.models import TeamMembership
    from plexica.tenancy.services import ensure_team

    team, _ = ensure_team(org, "sales")
    TeamMembership.objects.create(team=team, membership=member)
    access.grant(admin, PLUGIN, crm_plugin.pk, access.MANAGER, team_id=team.pk)
    member_object()
    created = release(mia, pin=True)
    assert created["pinned"] is True and created["itemCount"] == 1


def test_marketplace_inherited_view_reads_releases_but_never_manages_them(mia, admin, member, member_object,
                                                                          crm_plugin, admin_api):
    marketplace = create_marketplace(admin, "Sales")
    add_plugin_to_marketplace(admin, marketplace, crm_plugin)
    access.grant(admin, MARKETPLACE, marketplace.pk, access.MANAGER, membership_id=member.pk)
    created = release(admin_api)
    assert mia.get(f"{RELEASES}/{created['id']}").status_code == 200
    assert mia.post(RELEASES, {}, format="json").status_code == 403


def test_a_plugin_key_reads_its_own_plugins_releases_only(api, plugin_key, org, admin_api, member_object):
    member_object()
    created = release(admin_api)
    Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing")
    crm = api(plugin_key.token)
    assert crm.get(f"{RELEASES}/{created['id']}").status_code == 200
    assert crm.post(RELEASES, {}, format="json").status_code == 403
    assert crm.get("/api/v1/plugins/plugin-billing/releases").status_code == 403


def test_an_org_admin_member_manages_releases_without_a_grant(api, org, member_object):
    from plexica.tenancy.models import Membership
    from plexica.tenancy.services import add_member, ensure_user

    user, _ = ensure_user("otto")
    owner = add_member(org, user, Membership.Role.OWNER)[0]
    member_object()
    assert release(api(issue_api_key(org, name="otto", membership=owner)[1]), pin=True)["pinned"] is True


def test_another_organizations_key_is_refused(api, other_org_key, admin_api, member_object):
    member_object()
    created = release(admin_api)
    foreign = api(other_org_key.token)
    assert foreign.get(RELEASES).status_code == 403
    assert foreign.get(f"{RELEASES}/{created['id']}").status_code == 403
    globex = api(other_org_key.token, tenant="globex")
    assert globex.get(RELEASES).status_code == 404
    assert globex.post(f"{RELEASES}/{created['id']}/pin").status_code == 404


# --- races (PostgreSQL) -------------------------------------------------------------------------------------


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_pins_leave_exactly_one_release_pinned(api, org_key, crm_plugin):
    from tests.concurrency import run_together

    client = api(org_key.token)
    for round_ in range(5):
        one, two = release(client, name=f"a{round_}"), release(client, name=f"b{round_}")

        def pin(release_id):
            return api(org_key.token).post(f"{RELEASES}/{release_id}/pin").status_code

        def create_pinned():
            return api(org_key.token).post(RELEASES, {"pin": True}, format="json").status_code

        statuses = run_together(lambda: pin(one["id"]), lambda: pin(two["id"]), create_pinned)
        assert statuses == [200, 200, 201], round_
        assert PluginRelease.objects.filter(plugin=crm_plugin, pinned_at__isnull=False).count() == 1, round_
