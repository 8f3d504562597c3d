"""/api/v1/members and /api/v1/teams: who is in the organization, so access grants can name them."""

from plexica.tenancy.models import Team, TeamMembership


def test_members_are_listed_with_the_ids_grants_use_and_their_teams(api, org, member, org_admin, member_key):
    team = Team.objects.create(organization=org, slug="sales", name="Sales")
    TeamMembership.objects.create(team=team, membership=member)
    items = api(member_key.token).get("/api/v1/members").json()["items"]
    assert [(m["id"], m["username"], m["role"], m["teamIds"]) for m in items] == [
        (org_admin.pk, "ada", "admin", []), (member.pk, "mia", "member", [team.pk]),
    ]
    only_sales = api(member_key.token).get("/api/v1/members", {"teamId": team.pk}).json()["items"]
    assert [m["username"] for m in only_sales] == ["mia"]


def test_teams_are_listed_with_member_counts(api, org, member, org_key):
    team = Team.objects.create(organization=org, slug="sales", name="Sales")
    TeamMembership.objects.create(team=team, membership=member)
    Team.objects.create(organization=org, slug="support", name="Support")
    items = api(org_key.token).get("/api/v1/teams").json()["items"]
    assert [(t["id"], t["slug"], t["memberCount"]) for t in items][0] == (team.pk, "sales", 1)
    assert [t["slug"] for t in items] == ["sales", "support"]


def test_me_tells_a_member_their_membership_id(api, member, member_key):
    assert api(member_key.token).get("/api/v1/me").json()["item"]["principal"]["orgMembershipId"] == member.pk


def test_a_plugin_key_may_not_list_people(api, plugin_key):
    response = api(plugin_key.token).get("/api/v1/members")
    assert response.status_code == 403 and "plugin's API key" in response.json()["error"]["message"]
    assert api(plugin_key.token).get("/api/v1/teams").status_code == 403


def test_another_organizations_people_are_never_listed(api, member, other_org_key, other_org):
    Team.objects.create(organization=other_org, slug="ops", name="Ops")
    assert api(other_org_key.token, tenant="globex").get("/api/v1/members").json()["items"] == []
    assert [t["slug"] for t in api(other_org_key.token, tenant="globex").get("/api/v1/teams").json()["items"]] == [
        "ops"]
