"""The RBAC table of issue 5, one test per row, on a config object that sits in plugin-crm, which is offered
in the "Sales tools" marketplace. Each row says what the caller may do: view (and find it in lists), edit
(add a version, change plugin membership) and manage (share, archive)."""

from dataclasses import dataclass

import pytest

from marketplaces.catalog.models import PluginConfigObject
from marketplaces.config_objects.models import ConfigObjectVersion
from marketplaces.sharing import CONFIG_OBJECT
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.tenancy.models import Membership, Team, TeamMembership
from plexica.tenancy.services import add_member, ensure_user, issue_api_key
from tests.marketplaces.conftest import BASE, SKILL_V1, SKILL_V2

PLUGINS = "/api/v1/plugins"
MARKETPLACES = "/api/v1/marketplaces"


@dataclass
class World:
    object_id: str
    version_id: str
    marketplace_id: str
    admin: object


@pytest.fixture
def world(api, org_key, crm_plugin, create):
    admin = api(org_key.token)
    item = create()
    assert admin.post(f"{BASE}/{item['id']}/plugins", {"pluginId": "plugin-crm"}, format="json").status_code == 201
    marketplace = admin.post(MARKETPLACES, {"name": "Sales tools"}, format="json").json()["item"]
    admin.post(f"{MARKETPLACES}/{marketplace['id']}/plugins", {"pluginId": "plugin-crm"}, format="json")
    return World(item["id"], item["latestVersion"]["id"], marketplace["id"], admin)


def _grant(world, path, **body):
    response = world.admin.post(f"{path}/grants", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["item"]


def _member_team(org, member):
    team = Team.objects.create(organization=org, slug="sales", name="Sales")
    TeamMembership.objects.create(team=team, membership=member)
    return team


def _admin_member_key(org):
    user, _ = ensure_user("ada", password="correct-horse-battery")
    admin = add_member(org, user, Membership.Role.ADMIN)[0]
    return issue_api_key(org, name="ada's key", membership=admin)[1]


def _can(client, world):
    """What `client` may do to the config object, as (view, listed, edit, manage) booleans.

    Editing adds a version; managing shares the object with the whole organization as viewer (then undone).
    """
    obj = f"{BASE}/{world.object_id}"
    view = client.get(obj)
    listed = world.object_id in [i["id"] for i in client.get(BASE).json()["items"]]
    edit = client.post(f"{obj}/versions", {"input": {"rawSourceText": SKILL_V2}, "baseVersionId": world.version_id},
                       format="json")
    manage = client.post(f"{obj}/grants", {"orgWide": True, "role": "viewer"}, format="json")
    for response in (view, edit, manage):
        assert response.status_code in (200, 201, 403), response.json()
        if response.status_code == 403:
            assert response.json()["error"]["code"] in ("resource_access_denied", "org_capability_required")
    if manage.status_code == 201:
        world.admin.delete(f"{obj}/grants/{manage.json()['item']['id']}")
    return view.status_code == 200, listed, edit.status_code == 201, manage.status_code in (200, 201)


NOTHING = (False, False, False, False)
VIEW = (True, True, False, False)
EDIT = (True, True, True, False)
MANAGE = (True, True, True, True)


def test_a_member_without_a_grant_can_do_nothing(api, world, member_key):
    assert _can(api(member_key.token), world) == NOTHING
    assert ConfigObjectVersion.objects.filter(config_object_id=world.object_id).count() == 1


def test_a_viewer_may_view_only(api, world, member, member_key):
    _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="viewer")
    assert _can(api(member_key.token), world) == VIEW


def test_an_editor_may_view_and_edit_but_not_manage(api, world, member, member_key):
    _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="editor")
    assert _can(api(member_key.token), world) == EDIT


def test_a_manager_may_do_everything(api, world, member, member_key):
    _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="manager")
    client = api(member_key.token)
    assert _can(client, world) == MANAGE
    assert client.post(f"{BASE}/{world.object_id}/archive").status_code == 200


def test_a_team_grant_applies_to_every_member_of_the_team(api, world, org, member, member_key):
    team = _member_team(org, member)
    _grant(world, f"{BASE}/{world.object_id}", teamId=team.pk, role="editor")
    assert _can(api(member_key.token), world) == EDIT
    TeamMembership.objects.filter(team=team).delete()
    assert _can(api(member_key.token), world) == NOTHING


def test_an_org_wide_grant_applies_to_every_member(api, world, member_key):
    _grant(world, f"{BASE}/{world.object_id}", orgWide=True, role="viewer")
    assert _can(api(member_key.token), world) == VIEW


def test_a_marketplace_the_member_can_see_gives_view_of_its_plugins_and_their_objects_never_edit(
    api, world, member, member_key
):
    _grant(world, f"{MARKETPLACES}/{world.marketplace_id}", orgMembershipId=member.pk, role="manager")
    client = api(member_key.token)
    assert _can(client, world) == VIEW
    assert client.get(f"{PLUGINS}/plugin-crm").status_code == 200
    patch = client.patch(f"{PLUGINS}/plugin-crm", {"name": "Mine now"}, format="json")
    assert patch.status_code == 403 and "you are viewer" in patch.json()["error"]["message"]
    # Archiving the marketplace ends the inherited view.
    assert client.post(f"{MARKETPLACES}/{world.marketplace_id}/archive").status_code == 200
    assert _can(client, world) == NOTHING


def test_an_org_admin_member_manages_everything_without_grants(api, world, org):
    assert _can(api(_admin_member_key(org)), world) == MANAGE


def test_a_plugin_key_views_its_own_plugins_objects_only(api, world, plugin_key):
    assert _can(api(plugin_key.token), world) == VIEW


def test_an_org_key_manages_everything(api, world, org_key):
    assert _can(api(org_key.token), world) == MANAGE


# --- the rules behind the table ----------------------------------------------------------------------------


def test_the_strongest_of_several_grants_wins(api, world, org, member, member_key):
    team = _member_team(org, member)
    _grant(world, f"{BASE}/{world.object_id}", orgWide=True, role="viewer")
    _grant(world, f"{BASE}/{world.object_id}", teamId=team.pk, role="manager")
    _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="editor")
    assert _can(api(member_key.token), world) == MANAGE


def test_a_revoked_grant_gives_nothing_and_stays_on_record(api, world, member, member_key):
    grant = _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="editor")
    assert world.admin.delete(f"{BASE}/{world.object_id}/grants/{grant['id']}").status_code == 204
    assert _can(api(member_key.token), world) == NOTHING
    row = AccessGrant.objects.get(pk=grant["id"])
    assert row.revoked_at is not None and row.role == "editor"
    assert world.admin.delete(f"{BASE}/{world.object_id}/grants/{grant['id']}").status_code == 404


def test_granting_the_same_subject_again_changes_the_role_of_the_same_row(api, world, member):
    first = _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="viewer")
    again = world.admin.post(f"{BASE}/{world.object_id}/grants", {"orgMembershipId": member.pk, "role": "manager"},
                             format="json")
    assert again.status_code == 200 and again.json()["item"]["id"] == first["id"]
    assert again.json()["item"]["role"] == "manager"


@pytest.mark.parametrize("body, field", [
    ({"role": "viewer"}, "orgMembershipId"),
    ({"orgWide": True, "teamId": "team_x", "role": "viewer"}, "orgMembershipId"),
    ({"orgWide": True, "role": "owner"}, "role"),
    ({"orgWide": True}, "role"),
])
def test_a_grant_names_exactly_one_subject_and_a_known_role(world, body, field):
    response = world.admin.post(f"{BASE}/{world.object_id}/grants", body, format="json")
    assert response.status_code == 400
    assert field in str(response.json()["error"]["details"])
    assert not AccessGrant.objects.filter(resource_id=world.object_id, org_wide=True).exists()


def test_a_grant_to_a_member_or_team_of_another_organization_is_404(world, other_org):
    user, _ = ensure_user("otto")
    stranger = add_member(other_org, user, Membership.Role.MEMBER)[0]
    team = Team.objects.create(organization=other_org, slug="sales", name="Their sales")
    for body in ({"orgMembershipId": stranger.pk, "role": "viewer"}, {"teamId": team.pk, "role": "viewer"}):
        response = world.admin.post(f"{BASE}/{world.object_id}/grants", body, format="json")
        assert response.status_code == 404, body
    assert not AccessGrant.objects.filter(resource_id=world.object_id).exclude(created_by=None).exists()


def test_a_403_says_whether_an_org_capability_or_resource_access_is_missing(api, world, member_key):
    client = api(member_key.token)
    capability = client.post(MARKETPLACES, {"name": "Mine"}, format="json").json()["error"]
    assert capability["code"] == "org_capability_required"
    assert "needs an organization admin" in capability["message"]
    resource = client.get(f"{BASE}/{world.object_id}").json()["error"]
    assert resource["code"] == "resource_access_denied"
    assert resource["details"]["requiredRole"] == "viewer" and resource["details"]["resourceId"] == world.object_id


def test_the_creator_of_a_config_object_becomes_its_manager_and_others_see_nothing(api, org, member_key, world):
    mine = api(member_key.token).post(BASE, {"type": "skill", "input": {"rawSourceText": SKILL_V1}}, format="json")
    assert mine.status_code == 201
    object_id = mine.json()["item"]["id"]
    assert access.effective_role(_principal_of(member_key), CONFIG_OBJECT, object_id) == "manager"
    user, _ = ensure_user("bob")
    bob = add_member(org, user, Membership.Role.MEMBER)[0]
    bob_key = issue_api_key(org, name="bob's key", membership=bob)[1]
    assert api(bob_key).get(f"{BASE}/{object_id}").status_code == 403
    assert object_id not in [i["id"] for i in api(bob_key).get(BASE).json()["items"]]


def test_only_managers_see_the_grants_of_a_resource(api, world, member, member_key):
    _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="editor")
    assert api(member_key.token).get(f"{BASE}/{world.object_id}/grants").status_code == 403
    items = world.admin.get(f"{BASE}/{world.object_id}/grants").json()["items"]
    assert [(g["orgMembershipId"], g["username"], g["role"]) for g in items] == [(member.pk, "mia", "editor")]


def test_editing_plugin_membership_needs_the_editor_role_on_the_plugin(api, world, member, member_key, org):
    from plexica.plugins.models import Plugin

    Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing", version="1.0.0")
    _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="manager")
    client = api(member_key.token)
    denied = client.post(f"{BASE}/{world.object_id}/plugins", {"pluginId": "plugin-billing"}, format="json")
    assert denied.status_code == 403 and denied.json()["error"]["details"]["resourceType"] == "plugin"
    _grant(world, f"{PLUGINS}/plugin-billing", orgMembershipId=member.pk, role="editor")
    added = client.post(f"{BASE}/{world.object_id}/plugins", {"pluginId": "plugin-billing"}, format="json")
    assert added.status_code == 201


def test_list_filtering_costs_a_bounded_number_of_queries(api, world, member, member_key, create,
                                                          django_assert_max_num_queries):
    client = api(member_key.token)
    for _ in range(5):
        item = create()
        _grant(world, f"{BASE}/{item['id']}", orgMembershipId=member.pk, role="viewer")
    with django_assert_max_num_queries(8):
        items = client.get(BASE).json()["items"]
    assert len(items) == 5


def _principal_of(issued):
    from plexica.api.permissions import resolve_principal

    return resolve_principal(issued.key, None, issued.key.organization.slug)


def test_another_organization_can_neither_see_nor_change_the_grants_of_these_resources(api, world, member,
                                                                                      other_org_key):
    grant = _grant(world, f"{BASE}/{world.object_id}", orgMembershipId=member.pk, role="viewer")
    foreign = api(other_org_key.token, tenant="globex")
    for path in (f"{BASE}/{world.object_id}", f"{PLUGINS}/plugin-crm", f"{MARKETPLACES}/{world.marketplace_id}"):
        assert foreign.get(f"{path}/grants").status_code == 404, path
        assert foreign.post(f"{path}/grants", {"orgWide": True, "role": "manager"}, format="json").status_code == 404
        assert foreign.delete(f"{path}/grants/{grant['id']}").status_code == 404
    assert AccessGrant.objects.get(pk=grant["id"]).revoked_at is None
    assert not AccessGrant.objects.filter(org_wide=True).exists()


def test_a_viewer_of_an_object_cannot_expose_it_by_adding_it_to_a_plugin_they_edit(api, world, org, member,
                                                                                    member_key, create):
    secret = create(raw=SKILL_V1.replace("Summarize tickets", "Board notes"))
    _grant(world, f"{BASE}/{secret['id']}", orgMembershipId=member.pk, role="viewer")
    _grant(world, f"{PLUGINS}/plugin-crm", orgMembershipId=member.pk, role="editor")
    client = api(member_key.token)
    for url, body in ((f"{PLUGINS}/plugin-crm/config-objects", {"configObjectId": secret["id"]}),
                      (f"{BASE}/{secret['id']}/plugins", {"pluginId": "plugin-crm"})):
        response = client.post(url, body, format="json")
        assert response.status_code == 403, url
        assert response.json()["error"]["details"] == {
            "resourceType": "config_object", "resourceId": secret["id"], "requiredRole": "editor", "role": "viewer"}
    assert not PluginConfigObject.objects.filter(config_object_id=secret["id"]).exists()


def test_offering_a_plugin_in_a_marketplace_needs_the_editor_role_on_the_plugin_too(api, world, org, member,
                                                                                     member_key):
    from plexica.plugins.models import Plugin

    Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing", version="1.0.0")
    _grant(world, f"{MARKETPLACES}/{world.marketplace_id}", orgMembershipId=member.pk, role="editor")
    _grant(world, f"{PLUGINS}/plugin-billing", orgMembershipId=member.pk, role="viewer")
    client = api(member_key.token)
    url = f"{MARKETPLACES}/{world.marketplace_id}/plugins"
    denied = client.post(url, {"pluginId": "plugin-billing"}, format="json")
    assert denied.status_code == 403 and denied.json()["error"]["details"]["resourceType"] == "plugin"
    raised = world.admin.post(f"{PLUGINS}/plugin-billing/grants", {"orgMembershipId": member.pk, "role": "editor"},
                              format="json")
    assert raised.status_code == 200  # the same grant row, now editor
    assert client.post(url, {"pluginId": "plugin-billing"}, format="json").status_code == 201


def test_grant_responses_name_a_plugin_by_its_plugin_id_never_its_internal_id(api, world, member):
    url = f"{PLUGINS}/plugin-crm/grants"
    created = world.admin.post(url, {"orgMembershipId": member.pk, "role": "viewer"}, format="json")
    changed = world.admin.post(url, {"orgMembershipId": member.pk, "role": "editor"}, format="json")
    listed = world.admin.get(url)
    assert (created.status_code, changed.status_code, listed.status_code) == (201, 200, 200)
    assert created.json()["item"]["resourceId"] == changed.json()["item"]["resourceId"] == "plugin-crm"
    assert [(g["resourceType"], g["resourceId"]) for g in listed.json()["items"]] == [("plugin", "plugin-crm")]
    revoked = world.admin.delete(f"{url}/{created.json()['item']['id']}")
    again = world.admin.delete(f"{url}/{created.json()['item']['id']}")
    assert revoked.status_code == 204 and again.status_code == 404
    for response in (created, changed, listed, again):
        assert "plg_" not in response.content.decode()


def test_a_403_on_a_plugin_names_it_by_its_plugin_id(api, world, member, member_key):
    client = api(member_key.token)
    denials = [client.get(f"{PLUGINS}/plugin-crm"), client.get(f"{PLUGINS}/plugin-crm/grants")]
    _grant(world, f"{PLUGINS}/plugin-crm", orgMembershipId=member.pk, role="viewer")
    denials.append(client.patch(f"{PLUGINS}/plugin-crm", {"name": "Mine"}, format="json"))
    for response in denials:
        error = response.json()["error"]
        assert response.status_code == 403 and error["code"] == "resource_access_denied"
        assert (error["details"]["resourceType"], error["details"]["resourceId"]) == ("plugin", "plugin-crm")
        assert "plg_" not in response.content.decode()


def test_grants_on_config_objects_and_marketplaces_name_them_by_the_id_in_their_url(world, member):
    for path, public_id in ((f"{BASE}/{world.object_id}", world.object_id),
                            (f"{MARKETPLACES}/{world.marketplace_id}", world.marketplace_id)):
        created = _grant(world, path, orgMembershipId=member.pk, role="viewer")
        listed = world.admin.get(f"{path}/grants").json()["items"]
        assert created["resourceId"] == public_id and {g["resourceId"] for g in listed} == {public_id}
