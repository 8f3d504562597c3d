"""The access-grant admin: resources and subjects picked by name, grants listed by name, made by the service."""

import itertools

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from marketplaces.catalog.models import Marketplace
from marketplaces.config_objects.models import ConfigObject
from plexica.access.models import AccessGrant
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Membership, Team
from plexica.tenancy.services import add_member
from tests.adminsite.querycount import assert_flat


def url(name, *args):
    return reverse(f"admin:{name}", args=[quote(arg) for arg in args])


CHOOSER = "access_accessgrant_resources"


@pytest.fixture
def sales(org):
    return Team.objects.create(organization=org, slug="sales", name="Sales")


@pytest.fixture
def foreign_plugin(other_org):
    return Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="CRM", version="2.0.0")


def choices(client, term):
    """The chooser's answer: {group title: [(value, label)]}."""
    answer = client.get(url(CHOOSER), {"term": term}).json()
    return {group["text"]: [(row["id"], row["text"]) for row in group["children"]] for group in answer["results"]}


def test_the_resource_chooser_offers_every_shareable_type_by_name_within_the_organization(
    client_of, org_admin, org, crm_plugin, foreign_plugin
):
    Marketplace.objects.create(organization=org, name="Sales tools")
    ConfigObject.objects.create(organization=org, type="skill", title="Sales follow-up")
    ConfigObject.objects.create(organization=org, type="skill", title="Sales deleted", deleted_at=timezone.now())
    client = client_of(org_admin)

    assert choices(client, "crm") == {"Plugins": [(f"plugin:{crm_plugin.pk}", "CRM (plugin-crm)")]}
    found = choices(client, "sales")
    assert [label for _, label in found["Marketplaces"]] == ["Sales tools"]
    assert [label for _, label in found["Config objects"]] == ["Sales follow-up"]
    assert foreign_plugin.pk not in str(choices(client, ""))


def test_a_superuser_seeing_every_organization_sees_whose_each_resource_is(
    client_of, superuser, crm_plugin, foreign_plugin
):
    labels = [label for _, label in choices(client_of(superuser), "crm")["Plugins"]]
    assert sorted(labels) == ["CRM (plugin-crm) — Acme Corp", "CRM (plugin-crm) — Globex"]


def test_people_who_are_not_org_admins_get_no_resource_choices(client_of, member, crm_plugin):
    response = client_of(member).get(url(CHOOSER), {"term": "crm"})
    assert response.status_code == 302 and "plugin-crm" not in response.text


def test_an_org_admin_grants_a_team_a_plugin_picked_by_name(client_of, org_admin, org, crm_plugin, sales):
    client = client_of(org_admin)
    form = client.get(url("access_accessgrant_add"))
    assert 'id="id_resource"' in form.text and f'data-ajax--url="{url(CHOOSER)}"' in form.text
    assert "plg_" not in form.text

    response = client.post(url("access_accessgrant_add"), {
        "organization": org.pk, "resource": f"plugin:{crm_plugin.pk}", "team": sales.pk, "role": "editor",
    }, follow=True)

    grant = AccessGrant.objects.get()
    assert (grant.resource_type, grant.resource_id, grant.team, grant.role) == ("plugin", crm_plugin.pk, sales, "editor")
    assert grant.created_by == org_admin.user
    assert "Editor on plugin CRM (plugin-crm) for Team Sales" in response.text
    assert crm_plugin.pk not in response.content.decode().split("<table", 1)[-1]


def test_a_grant_on_a_resource_of_another_organization_is_refused(client_of, superuser, org, foreign_plugin, sales):
    response = client_of(superuser).post(url("access_accessgrant_add"), {
        "organization": org.pk, "resource": f"plugin:{foreign_plugin.pk}", "team": sales.pk, "role": "viewer",
    })
    assert response.status_code == 200
    assert "This plugin is not one of Acme Corp&#x27;s (or was deleted)." in response.text
    assert not AccessGrant.objects.exists()


def test_a_typed_or_unknown_resource_is_refused(client_of, org_admin, org, sales):
    response = client_of(org_admin).post(url("access_accessgrant_add"), {
        "organization": org.pk, "resource": "plg_made_up", "team": sales.pk, "role": "viewer",
    })
    assert "Choose a resource from the list." in response.text
    assert not AccessGrant.objects.exists()


def test_the_plugin_pages_add_a_grant_link_opens_the_form_with_the_plugin_chosen(client_of, org_admin, org, crm_plugin):
    response = client_of(org_admin).get(url("access_accessgrant_add"), {
        "organization": org.pk, "resource_type": "plugin", "resource_id": crm_plugin.pk})
    assert f'<option value="plugin:{crm_plugin.pk}" selected>Plugin: CRM (plugin-crm)</option>' in response.text


def test_members_and_teams_are_picked_with_an_autocomplete_of_the_organization(
    client_of, org_admin, member, other_org, sales
):
    Team.objects.create(organization=other_org, slug="sales", name="Sales")
    client = client_of(org_admin)
    picked = client.get(reverse("admin:autocomplete"), {
        "app_label": "access", "model_name": "accessgrant", "field_name": "team", "term": "sal"}).json()
    assert [row["id"] for row in picked["results"]] == [sales.pk]
    member.user.first_name, member.user.last_name = "Mia", "Lee"
    member.user.save()
    picked = client.get(reverse("admin:autocomplete"), {
        "app_label": "access", "model_name": "accessgrant", "field_name": "membership", "term": "lee"}).json()
    assert [row["text"] for row in picked["results"]] == ["Mia Lee (mia) — member of Acme Corp"]


def test_the_grant_list_names_resources_and_subjects_and_finds_them_by_name(
    client_of, org_admin, org, crm_plugin, member, sales
):
    market = Marketplace.objects.create(organization=org, name="Sales tools")
    AccessGrant.objects.create(organization=org, resource_type="plugin", resource_id=crm_plugin.pk, team=sales,
                               role="viewer")
    AccessGrant.objects.create(organization=org, resource_type="marketplace", resource_id=market.pk, org_wide=True,
                               role="viewer")
    AccessGrant.objects.create(organization=org, resource_type="plugin", resource_id=crm_plugin.pk,
                               membership=member, role="manager", revoked_at=timezone.now())
    client = client_of(org_admin)

    page = client.get(url("access_accessgrant_changelist")).text
    for text in ("CRM (plugin-crm)", "Sales tools", "Team Sales", "Everyone in Acme Corp", "mia", "badge-red"):
        assert text in page
    assert crm_plugin.pk not in page.replace(url("plugins_plugin_change", crm_plugin.pk), "")
    assert market.pk not in page.replace(url("marketplaces_marketplace_change", market.pk), "")

    found = client.get(url("access_accessgrant_changelist"), {"q": "sales tools"}).context["cl"].result_list
    assert [grant.resource_id for grant in found] == [market.pk]


def test_the_organization_column_shows_only_when_several_organizations_are_in_view(client_of, org_admin, superuser):
    def headers(client):
        return [column["text"] for column in client.get(url("access_accessgrant_changelist")).context["result_headers"]]
    assert "organization" not in [h.lower() for h in headers(client_of(org_admin))]
    assert "organization" in [h.lower() for h in headers(client_of(superuser))]


_batches = itertools.count()


def grow_grants(org, count=1000):
    """`count` grants of plugins to members and `count` of marketplaces to teams, all new rows."""
    batch = next(_batches)
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"person{batch}-{i}") for i in range(count)])
    members = Membership.objects.bulk_create([Membership(organization=org, user=user) for user in users])
    teams = Team.objects.bulk_create([Team(organization=org, slug=f"team-{batch}-{i}", name=f"Team {batch}-{i}") for i in range(count)])
    plugins = Plugin.objects.bulk_create([Plugin(organization=org, plugin_id=f"plugin-p{batch}-{i}", name=f"P{batch}-{i}",
                                                 version="1.0.0") for i in range(count)])
    markets = Marketplace.objects.bulk_create([Marketplace(organization=org, name=f"M{i}") for i in range(count)])
    grants = []
    for i in range(count):
        grants.append(AccessGrant(organization=org, resource_type="plugin", resource_id=plugins[i].pk,
                                  membership=members[i], subject_key=f"mem:{members[i].pk}", role="viewer"))
        grants.append(AccessGrant(organization=org, resource_type="marketplace", resource_id=markets[i].pk,
                                  team=teams[i], subject_key=f"team:{teams[i].pk}", role="editor"))
    AccessGrant.objects.bulk_create(grants)


def test_the_grant_list_and_page_do_not_grow_their_queries_with_1000_grants(client_of, org_admin, org, crm_plugin):
    grant = AccessGrant.objects.create(organization=org, resource_type="plugin", resource_id=crm_plugin.pk,
                                       membership=org_admin, role="manager")
    market = Marketplace.objects.create(organization=org, name="Sales tools")  # one query per resource type
    AccessGrant.objects.create(organization=org, resource_type="marketplace", resource_id=market.pk, org_wide=True,
                               role="viewer")
    client = client_of(org_admin)
    assert_flat(client, url("access_accessgrant_changelist"), lambda: grow_grants(org))
    assert_flat(client, url("access_accessgrant_change", grant.pk), lambda: grow_grants(org, 10))
    assert_flat(client, url(CHOOSER) + "?term=p", lambda: grow_grants(org, 10))


def test_org_admins_of_two_organizations_are_offered_both_but_cannot_mix_them(
    client_of, org_admin, other_org, foreign_plugin, sales
):
    add_member(other_org, org_admin.user, Membership.Role.ADMIN)
    client = client_of(org_admin)
    assert "CRM (plugin-crm) — Globex" in str(choices(client, "crm"))
    response = client.post(url("access_accessgrant_add"), {
        "organization": other_org.pk, "resource": f"plugin:{foreign_plugin.pk}", "team": sales.pk, "role": "viewer"})
    assert "another organization" in response.text
    assert not AccessGrant.objects.exists()
