import re

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from plexica.plugins.models import Plugin
from plexica.tenancy.models import ApiKey, Membership, Team, TeamMembership
from plexica.tenancy.services import add_member, ensure_user, hash_token

TOKEN_PATTERN = re.compile(r"plx_[A-Za-z0-9_-]{40,}")


def url(name, *args):
    # Quoted as the admin's own links are: an id holding "_5F" or "_2F" would otherwise name another row.
    return reverse(f"admin:{name}", args=[quote(arg) for arg in args])


def listed(response):
    """The rows the changelist shows."""
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.fixture
def staff_member(org):
    user, _ = ensure_user("sam", is_staff=True)
    return add_member(org, user, Membership.Role.MEMBER)[0]


@pytest.fixture
def foreign_plugin(other_org):
    return Plugin.objects.create(
        organization=other_org, plugin_id="plugin-erp", name="Globex ERP", version="2.0.0"
    )


@pytest.fixture
def foreign_member(other_org):
    user, _ = ensure_user("gus")
    return add_member(other_org, user, Membership.Role.MEMBER)[0]


def plugin_form(plugin=None, **changes):
    data = {
        "plugin_id": "plugin-crm", "name": "CRM", "description": "", "version": "1.0.0", "manifest": "{}",
        "lifecycle_state": "registered", "catalog_status": "active",
        # The permission-grants inline's empty management form.
        "permission_grants-TOTAL_FORMS": "0", "permission_grants-INITIAL_FORMS": "0",
        "permission_grants-MIN_NUM_FORMS": "0", "permission_grants-MAX_NUM_FORMS": "1000",
    }
    if plugin is not None:
        data.update(organization=plugin.organization_id, plugin_id=plugin.plugin_id, name=plugin.name,
                    version=plugin.version)
    data.update(changes)
    return data


def api_key_form(**fields):
    return {"name": "ci", "plugin": "", "membership": "", "expires_at_0": "", "expires_at_1": "", **fields}


# Changelists show only the admin's organizations.


def test_an_org_admin_sees_only_their_organizations_api_keys(
    client_of, org_admin, org_key, other_org_key
):
    response = client_of(org_admin).get(url("tenancy_apikey_changelist"))

    assert response.status_code == 200
    assert listed(response) == {org_key.key.pk}
    assert org_key.key.prefix in response.text
    assert other_org_key.key.prefix not in response.text
    assert "globex" not in response.text  # not even as an organization filter choice


def test_an_org_admin_sees_only_their_organizations_plugins(
    client_of, org_admin, crm_plugin, foreign_plugin
):
    response = client_of(org_admin).get(url("plugins_plugin_changelist"))

    assert listed(response) == {crm_plugin.pk}
    assert "plugin-crm" in response.text
    assert "plugin-erp" not in response.text


def test_an_org_admin_sees_only_their_organizations_memberships(
    client_of, org_admin, member, foreign_member
):
    response = client_of(org_admin).get(url("tenancy_membership_changelist"))

    assert listed(response) == {org_admin.pk, member.pk}
    assert "mia" in response.text
    assert "gus" not in response.text


def test_an_org_admin_sees_only_their_own_organization(client_of, org_admin, other_org):
    response = client_of(org_admin).get(url("tenancy_organization_changelist"))

    assert listed(response) == {org_admin.organization_id}
    assert "Acme Corp" in response.text
    assert "Globex" not in response.text


def test_a_superuser_sees_the_rows_of_every_organization(client_of, superuser, org_key, other_org_key):
    client = client_of(superuser)

    assert listed(client.get(url("tenancy_apikey_changelist"))) == {org_key.key.pk, other_org_key.key.pk}
    assert listed(client.get(url("tenancy_organization_changelist"))) == {
        org_key.key.organization_id, other_org_key.key.organization_id,
    }


# Foreign rows cannot be opened, moved into, created in or linked to.


def test_an_org_admin_cannot_open_a_foreign_api_key(client_of, org_admin, other_org_key):
    response = client_of(org_admin).get(url("tenancy_apikey_change", other_org_key.key.pk), follow=True)

    assert response.redirect_chain == [(url("index"), 302)]
    assert "doesn’t exist" in response.text
    assert "globex automation" not in response.text


def test_an_org_admin_cannot_open_a_foreign_plugin(client_of, org_admin, foreign_plugin):
    response = client_of(org_admin).get(url("plugins_plugin_change", foreign_plugin.pk), follow=True)

    assert response.redirect_chain == [(url("index"), 302)]
    assert "Globex ERP" not in response.text


def test_an_org_admin_cannot_move_their_plugin_to_another_organization(
    client_of, org_admin, crm_plugin, other_org
):
    data = plugin_form(crm_plugin, organization=other_org.pk, name="CRM moved")
    response = client_of(org_admin).post(url("plugins_plugin_change", crm_plugin.pk), data)

    assert response.status_code == 302
    crm_plugin.refresh_from_db()
    assert crm_plugin.name == "CRM moved"
    assert crm_plugin.organization_id == org_admin.organization_id


def test_an_org_admin_cannot_create_a_plugin_in_a_foreign_organization(client_of, org_admin, other_org):
    data = plugin_form(organization=other_org.pk)
    response = client_of(org_admin).post(url("plugins_plugin_add"), data)

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not Plugin.objects.exists()


def test_an_org_admin_cannot_bind_their_api_key_to_a_foreign_plugin(
    client_of, org_admin, org, foreign_plugin
):
    data = api_key_form(organization=org.pk, plugin=foreign_plugin.pk)
    response = client_of(org_admin).post(url("tenancy_apikey_add"), data)

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not ApiKey.objects.filter(name="ci").exists()


def test_the_api_key_form_offers_only_plugins_of_the_admins_organizations(
    client_of, org_admin, crm_plugin, foreign_plugin
):
    client = client_of(org_admin)
    assert 'data-ajax--url="/admin/autocomplete/"' in client.get(url("tenancy_apikey_add")).text
    picks = client.get(reverse("admin:autocomplete"), {
        "app_label": "tenancy", "model_name": "apikey", "field_name": "plugin", "term": "plugin"}).json()

    assert [pick["id"] for pick in picks["results"]] == [crm_plugin.pk]
    assert foreign_plugin.pk not in str(picks)


def test_a_superuser_cannot_bind_a_key_to_a_plugin_of_another_organization(
    client_of, superuser, org, foreign_plugin
):
    data = api_key_form(organization=org.pk, plugin=foreign_plugin.pk)
    response = client_of(superuser).post(url("tenancy_apikey_add"), data)

    assert "This plugin belongs to another organization." in response.text
    assert not ApiKey.objects.filter(name="ci").exists()


# Who gets in at all.


def test_a_staff_member_without_an_admin_role_is_refused_every_changelist(
    client_of, staff_member, org_key, crm_plugin
):
    client = client_of(staff_member)

    for name in ["tenancy_apikey_changelist", "plugins_plugin_changelist", "tenancy_membership_changelist",
                 "tenancy_organization_changelist", "tenancy_team_changelist"]:
        assert client.get(url(name)).status_code == 403, name
    assert client.get(url("tenancy_apikey_change", org_key.key.pk)).status_code == 403
    index = client.get(url("index"))
    assert "You don’t have permission to view or edit anything." in index.text
    assert url("tenancy_apikey_changelist") not in index.text


def test_an_org_admin_sees_the_tenancy_and_plugin_models_on_the_admin_index(client_of, org_admin):
    index = client_of(org_admin).get(url("index"))

    assert url("tenancy_apikey_changelist") in index.text
    assert url("plugins_plugin_changelist") in index.text
    assert url("auth_user_changelist") not in index.text


# Organizations and memberships.


def test_an_org_admin_can_rename_their_organization_but_not_reslug_suspend_create_or_delete_it(
    client_of, org_admin, org
):
    client = client_of(org_admin)
    data = {"slug": "hijacked", "name": "Acme Corporation", "status": "suspended"}

    assert client.post(url("tenancy_organization_change", org.pk), data).status_code == 302
    org.refresh_from_db()
    assert (org.slug, org.name, org.status) == ("acme-corp", "Acme Corporation", "active")
    assert client.get(url("tenancy_organization_add")).status_code == 403
    assert client.get(url("tenancy_organization_delete", org.pk)).status_code == 403


NO_TEAMS = {"team_memberships-TOTAL_FORMS": "0", "team_memberships-INITIAL_FORMS": "0",
            "team_memberships-MIN_NUM_FORMS": "0", "team_memberships-MAX_NUM_FORMS": "1000"}


def test_the_membership_form_offers_only_people_already_in_the_admins_organizations(
    client_of, org_admin, member, foreign_member, org
):
    stranger, _ = ensure_user("stranger")
    client = client_of(org_admin)
    response = client.get(url("tenancy_membership_add"))
    assert 'data-field-name="user"' in response.text  # an autocomplete, not a select of everyone
    assert "Only people who already belong to one of your organizations are offered" in response.text

    autocomplete = reverse("admin:autocomplete")
    query = {"app_label": "tenancy", "model_name": "membership", "field_name": "user"}
    found = client.get(autocomplete, {**query, "term": ""}).json()["results"]
    offered = {result["id"] for result in found}
    assert str(member.user.pk) in offered and str(org_admin.user.pk) in offered
    assert str(foreign_member.user.pk) not in offered and str(stranger.pk) not in offered
    assert [r["id"] for r in client.get(autocomplete, {**query, "term": "mia"}).json()["results"]] == [
        str(member.user.pk)]
    # The user admin itself stays closed to org admins, and a stranger posted by hand is refused.
    assert client.get(autocomplete, {"app_label": "auth", "model_name": "user", "field_name": "groups",
                                     "term": ""}).status_code == 403
    response = client.post(url("tenancy_membership_add"), {"organization": org.pk, "user": stranger.pk,
                                                           "role": "member", **NO_TEAMS})
    assert response.status_code == 200 and "Select a valid choice" in response.text


def test_an_org_admin_puts_a_member_in_a_team_from_the_membership_page(
    client_of, org_admin, member, org, other_org
):
    team = Team.objects.create(organization=org, slug="sales", name="Sales")
    foreign_team = Team.objects.create(organization=other_org, slug="ops", name="Ops")
    client = client_of(org_admin)
    assert client.get(url("tenancy_membership_change", member.pk)).status_code == 200
    picks = client.get(reverse("admin:autocomplete"), {
        "app_label": "tenancy", "model_name": "teammembership", "field_name": "team", "term": ""}).json()
    assert [pick["id"] for pick in picks["results"]] == [team.pk]
    assert picks["results"][0]["text"] == "Sales (Acme Corp)" and foreign_team.pk not in str(picks)

    data = {
        "role": "member",
        "team_memberships-TOTAL_FORMS": "1", "team_memberships-INITIAL_FORMS": "0",
        "team_memberships-MIN_NUM_FORMS": "0", "team_memberships-MAX_NUM_FORMS": "1000",
        "team_memberships-0-team": team.pk, "team_memberships-0-membership": member.pk,
    }
    assert client.post(url("tenancy_membership_change", member.pk), data).status_code == 302
    assert list(TeamMembership.objects.filter(membership=member).values_list("team", flat=True)) == [team.pk]


# API keys: shown once, stored hashed, revocable.


def test_creating_an_api_key_shows_its_token_once_and_stores_only_its_hash(
    client_of, org_admin, org, crm_plugin, api
):
    client = client_of(org_admin)
    data = api_key_form(organization=org.pk, name="ci", scopes=["api:read"])

    response = client.post(url("tenancy_apikey_add"), data)

    assert response.status_code == 200
    assert "it will not be shown again" in response.text
    token = TOKEN_PATTERN.search(response.text).group()
    key = ApiKey.objects.get(name="ci")
    assert hash_token(token) == key.key_hash
    assert (key.organization, key.scopes, key.created_by) == (org, ["api:read"], org_admin.user)
    assert all(token not in str(value) for value in ApiKey.objects.filter(pk=key.pk).values().get().values())
    assert token not in str(dict(client.session)) and token not in str(response.cookies)
    assert token not in client.get(url("tenancy_apikey_change", key.pk)).text

    me = api(token).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["item"]["organization"]["slug"] == "acme-corp"


def test_an_api_key_page_never_shows_the_hash_and_only_name_scopes_and_expiry_change(
    client_of, org_admin, org_key, crm_plugin
):
    client = client_of(org_admin)
    change_url = url("tenancy_apikey_change", org_key.key.pk)
    page = client.get(change_url)
    assert org_key.key.prefix in page.text
    assert org_key.key.key_hash not in page.text
    assert org_key.key.key_hash not in client.get(url("tenancy_apikey_changelist")).text

    data = api_key_form(name="nightly", scopes=["gateway"], plugin=crm_plugin.pk, key_hash="0" * 64)
    assert client.post(change_url, data).status_code == 302
    key = ApiKey.objects.get(pk=org_key.key.pk)
    assert (key.name, key.scopes, key.plugin_id) == ("nightly", ["gateway"], None)
    assert key.key_hash == org_key.key.key_hash


def test_revoking_keys_from_the_changelist_locks_them_out_and_spares_foreign_keys(
    client_of, org_admin, org_key, other_org_key, api
):
    assert api(org_key.token).get("/api/v1/me").status_code == 200
    client = client_of(org_admin)

    response = client.post(
        url("tenancy_apikey_changelist"),
        {"action": "revoke_selected", "_selected_action": [org_key.key.pk, other_org_key.key.pk]},
        follow=True,
    )

    assert "Revoked 1 API key." in response.text
    assert api(org_key.token).get("/api/v1/me").status_code == 401
    assert api(other_org_key.token, tenant="globex").get("/api/v1/me").status_code == 200
    revoked = client.get(url("tenancy_apikey_changelist"), {"state": "revoked"})
    assert listed(revoked) == {org_key.key.pk}
    assert listed(client.get(url("tenancy_apikey_changelist"), {"state": "active"})) == set()
