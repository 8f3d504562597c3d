"""The organization switcher: a superuser scopes every admin page to one organization; an org admin switches only
between the organizations they administer; the organization in view is shown on every page."""

import pytest
from django.contrib import admin
from django.urls import reverse

from marketplaces.catalog.models import Marketplace
from marketplaces.config_objects.models import ConfigObject
from plexica.access.models import AccessGrant
from plexica.adminsite.scope import CURRENT_ORGANIZATION_SESSION_KEY
from plexica.plugins.models import Plugin
from plexica.tenancy.admin import OrganizationScopedAdmin
from plexica.tenancy.models import Membership, Team
from plexica.tenancy.services import add_member, ensure_user, issue_api_key
from shareddata.models import SharedEntry

SWITCH = reverse("admin:switch_organization")


@pytest.fixture
def both(org, other_org):
    """A few rows of every common kind in both organizations."""
    for organization, tag in ((org, "acme"), (other_org, "globex")):
        plugin = Plugin.objects.create(organization=organization, plugin_id=f"plugin-{tag}", name=tag, version="1.0.0")
        team = Team.objects.create(organization=organization, slug=f"team-{tag}", name=f"Team {tag}")
        user, _ = ensure_user(f"user-{tag}")
        add_member(organization, user, Membership.Role.MEMBER, team_slug=team.slug)
        issue_api_key(organization, name=f"key {tag}", plugin=plugin)
        market = Marketplace.objects.create(organization=organization, name=f"Market {tag}")
        ConfigObject.objects.create(organization=organization, type="skill", title=f"Skill {tag}")
        SharedEntry.objects.create(organization=organization, namespace="ns", key=tag, value=1, owner=plugin)
        AccessGrant.objects.create(organization=organization, resource_type="marketplace", resource_id=market.pk,
                                   org_wide=True, role="viewer")


def scoped_admins():
    return [(model, model_admin) for model, model_admin in admin.site._registry.items()
            if isinstance(model_admin, OrganizationScopedAdmin)]


def switch(client, organization, next_url="/admin/"):
    return client.post(SWITCH, {"organization": getattr(organization, "pk", organization), "next": next_url})


def test_a_superuser_switches_and_every_changelist_shows_only_that_organization(client, superuser, other_org, both):
    client.force_login(superuser)
    assert switch(client, other_org).status_code == 302
    assert client.session[CURRENT_ORGANIZATION_SESSION_KEY] == other_org.pk
    checked = 0
    for model, model_admin in scoped_admins():
        opts = model._meta
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert response.status_code == 200, opts.label
        rows = list(response.context["cl"].result_list)
        for row in rows:
            assert model_admin.organization_id_of(row) == other_org.pk, (opts.label, row)
        checked += bool(rows)
    assert checked >= 8  # the kinds made above were really listed


def test_switching_back_to_all_shows_every_organization_again(client, superuser, org, other_org, both):
    client.force_login(superuser)
    switch(client, other_org)
    switch(client, "")
    rows = client.get(reverse("admin:plugins_plugin_changelist")).context["cl"].result_list
    assert {plugin.organization_id for plugin in rows} == {org.pk, other_org.pk}


def test_an_org_admin_cannot_switch_to_an_organization_they_do_not_administer(client, org_admin, org, other_org, both):
    client.force_login(org_admin.user)
    response = switch(client, other_org)
    assert response.status_code == 302
    assert CURRENT_ORGANIZATION_SESSION_KEY not in client.session
    page = client.get(response.url)
    assert "You cannot work in that organization." in page.text
    rows = client.get(reverse("admin:plugins_plugin_changelist")).context["cl"].result_list
    assert [plugin.organization_id for plugin in rows] == [org.pk]


def test_a_member_of_another_organization_is_not_enough_to_switch_there(client, org_admin, other_org, both):
    add_member(other_org, org_admin.user, Membership.Role.MEMBER)
    client.force_login(org_admin.user)
    switch(client, other_org)
    assert CURRENT_ORGANIZATION_SESSION_KEY not in client.session


def test_an_admin_of_two_organizations_switches_between_them(client, org_admin, org, other_org, both):
    add_member(other_org, org_admin.user, Membership.Role.ADMIN)
    client.force_login(org_admin.user)
    text = client.get("/admin/").text
    assert 'id="organization-switcher"' in text and "All my organizations" in text
    switch(client, other_org)
    rows = client.get(reverse("admin:tenancy_team_changelist")).context["cl"].result_list
    assert [team.organization_id for team in rows] == [other_org.pk]


def test_switching_on_an_objects_page_returns_to_its_list(client, superuser, org, other_org, both):
    client.force_login(superuser)
    plugin = Plugin.objects.get(organization=org)
    response = switch(client, other_org, reverse("admin:plugins_plugin_change", args=[plugin.pk]))
    assert response.url == reverse("admin:plugins_plugin_changelist")
    assert switch(client, org, "https://evil.example/").url == reverse("admin:index")


def test_the_organization_in_view_is_on_every_page(client, superuser, org, other_org, both):
    client.force_login(superuser)
    plugin = Plugin.objects.get(organization=other_org)
    pages = ["/admin/", reverse("admin:plugins_plugin_changelist"),
             reverse("admin:plugins_plugin_change", args=[plugin.pk]), reverse("admin:tenancy_apikey_add"),
             "/admin/search/?q=plugin", reverse("admin:access_accessgrant_changelist")]
    for page in pages:
        assert client.get(page).context["environment"] == ["All organizations", "warning"], page
    switch(client, other_org)
    for page in pages:
        response = client.get(page)
        assert response.context["environment"] == ["Globex", "info"], page
        assert "Globex" in response.text


def test_an_org_admin_of_one_organization_always_sees_its_name(client, org_admin, both):
    client.force_login(org_admin.user)
    for page in ["/admin/", reverse("admin:tenancy_membership_changelist"), reverse("admin:access_accessgrant_add")]:
        response = client.get(page)
        assert response.context["environment"] == ["Acme Corp", "info"]
        assert 'id="organization-name"' in response.text
