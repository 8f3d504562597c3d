"""The members' page: a member who is not staff signs in, sees what they can install and manages their own API
keys, and reaches nothing else of the admin."""

import re

import pytest
from django.urls import reverse

from marketplaces.catalog.models import Marketplace, MarketplacePlugin
from plexica.access import services as access
from plexica.plugins.models import Plugin
from plexica.tenancy.models import ApiKey, Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, find_api_key, issue_api_key
from tests.adminsite.querycount import assert_flat

HOME = "/admin/me/"
TOKEN = re.compile(r"plx_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def member_client(client, member):
    client.force_login(member.user)
    return client


@pytest.fixture
def catalog(org, crm_plugin):
    """CRM offered in the "Sales tools" marketplace, which everyone in the organization may see; ERP shared with
    nobody."""
    market = Marketplace.objects.create(organization=org, name="Sales tools")
    MarketplacePlugin.objects.create(organization=org, marketplace=market, plugin=crm_plugin)
    erp = Plugin.objects.create(organization=org, plugin_id="plugin-erp", name="ERP", version="3.0.0")
    access.grant(Principal.system(org), "marketplace", market.pk, "viewer", org_wide=True)
    return {"market": market, "erp": erp}


def create_key(client, org, **fields):
    return client.post(HOME, {"panel": "api-keys", "action": "create", "organization": org.slug,
                              "name": "laptop CLI", "expires": "90", **fields})


def test_a_member_signs_in_at_the_admin_login_and_lands_on_their_page(client, member):
    response = client.post(reverse("admin:login"), {"username": "mia", "password": "correct-horse-battery"},
                           follow=True)
    assert response.redirect_chain[-1][0].endswith(HOME)
    assert "staff account" not in response.text
    assert "Your workspace" in response.text and "Acme Corp" in response.text


def test_staff_signing_in_without_a_next_land_on_the_dashboard_and_with_one_on_that_page(client, org_admin):
    credentials = {"username": "ada", "password": "correct-horse-battery"}
    assert client.post(reverse("admin:login"), credentials).url == reverse("admin:index")
    client.logout()
    target = reverse("admin:tenancy_apikey_changelist")
    assert client.post(reverse("admin:login") + f"?next={target}", credentials).url == target


def test_a_signed_in_member_opening_the_login_page_goes_to_their_page(member_client):
    assert member_client.get(reverse("admin:login")).url == reverse("admin:member_home")


@pytest.mark.parametrize("path", [
    "/admin/", "/admin/plugins/plugin/", "/admin/tenancy/apikey/", "/admin/tenancy/apikey/add/",
    "/admin/access/accessgrant/", "/admin/access/accessgrant/resources/?term=c", "/admin/search/?q=crm",
    "/admin/autocomplete/?app_label=tenancy&model_name=apikey&field_name=plugin", "/admin/password_change/",
    "/admin/tenancy/membership/", "/admin/auth/user/",
])
def test_every_other_admin_page_sends_a_member_to_their_page(member_client, path):
    response = member_client.get(path, follow=True)
    assert response.redirect_chain and response.redirect_chain[-1][0].startswith(HOME), path
    assert response.status_code == 200 and 'id="member-home"' in response.text


def test_the_switcher_refuses_a_member(member_client, org):
    response = member_client.post(reverse("admin:switch_organization"), {"organization": org.pk}, follow=True)
    assert response.redirect_chain[-1][0].startswith(HOME)
    assert "plexica_admin_organization" not in member_client.session


def test_the_page_has_no_model_sidebar(member_client, catalog):
    text = member_client.get(HOME).text
    assert 'id="member-header"' in text
    assert reverse("admin:plugins_plugin_changelist") not in text
    assert reverse("admin:tenancy_apikey_changelist") not in text


def test_what_you_can_install_is_what_delivery_serves_that_member(member_client, catalog, crm_plugin):
    text = member_client.get(HOME).text
    panel = text.split('id="panel-installable"', 1)[1].split("</section>", 1)[0]
    assert 'data-plugin-id="plugin-crm"' in panel and "CRM" in panel and "Sales tools" in panel
    assert "plugin-erp" not in panel


def test_a_plugin_shared_directly_is_listed_without_a_marketplace(member_client, member, org, catalog):
    access.grant(Principal.system(org), "plugin", catalog["erp"].pk, "viewer", membership_id=member.pk)
    panel = member_client.get(HOME).text.split('id="panel-installable"', 1)[1]
    assert 'data-plugin-id="plugin-erp"' in panel and "shared with you directly" in panel


def test_a_member_with_nothing_shared_is_told_whom_to_ask(member_client):
    assert 'id="member-installable-empty"' in member_client.get(HOME).text


def test_a_member_creates_a_key_and_sees_its_token_once_never_in_a_cookie_or_the_session(
    member_client, member, org
):
    response = create_key(member_client, org, scopes=["api:read"])

    assert response.status_code == 200
    token = TOKEN.search(response.text.split('id="member-token"', 1)[1]).group(0)
    key = find_api_key(token)
    assert key.membership == member and key.created_by == member.user and key.scopes == ["api:read"]
    assert key.expires_at is not None
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert token not in str(response.cookies) and token not in str(dict(member_client.session))
    again = member_client.get(HOME).text
    assert token not in again and "laptop CLI" in again


def test_the_token_works_on_the_api_as_the_member(member_client, org, api):
    token = TOKEN.search(create_key(member_client, org).text.split('id="member-token"', 1)[1]).group(0)
    assert api(token).get("/api/v1/me").status_code == 200


def test_a_member_lists_only_their_own_keys(member_client, member, org, org_admin, crm_plugin):
    issue_api_key(org, name="ada's key", membership=org_admin)
    issue_api_key(org, name="crm key", plugin=crm_plugin)
    issue_api_key(org, name="mia's key", membership=member)
    panel = member_client.get(HOME).text.split('id="panel-api-keys"', 1)[1]
    assert "mia&#x27;s key" in panel and "ada" not in panel and "crm key" not in panel


def test_a_member_revokes_their_key_and_it_stops_working(member_client, member, org):
    key, token = issue_api_key(org, name="old laptop", membership=member)
    response = member_client.post(HOME, {"panel": "api-keys", "action": "revoke", "organization": org.slug,
                                         "key": key.pk}, follow=True)
    assert "Revoked the API key old laptop" in response.text
    assert find_api_key(token) is None
    assert 'badge-red">Revoked' in response.text


def test_a_member_cannot_revoke_someone_elses_key(member_client, org, org_admin):
    key, token = issue_api_key(org, name="ada's key", membership=org_admin)
    response = member_client.post(HOME, {"panel": "api-keys", "action": "revoke", "organization": org.slug,
                                         "key": key.pk}, follow=True)
    assert f"You have no API key {key.pk}." in response.text
    assert find_api_key(token) == key


def test_a_key_without_a_name_is_refused_with_a_reason(member_client, org):
    response = create_key(member_client, org, name="  ", follow=True)
    assert "Give the key a name" in member_client.get(HOME).text or "Give the key a name" in response.text
    assert not ApiKey.objects.exists()


def test_a_member_of_two_organizations_picks_which_one(client, member, other_org):
    add_member(other_org, member.user, Membership.Role.MEMBER)
    client.force_login(member.user)
    text = client.get(HOME, {"organization": "globex"}).text
    assert 'id="member-organization"' in text and "You are a member of <strong>Globex</strong>" in text
    create_key(client, other_org)
    assert ApiKey.objects.get().organization == other_org


def test_someone_in_no_organization_is_told_so(client, db):
    from plexica.tenancy.services import ensure_user

    client.force_login(ensure_user("lone")[0])
    assert 'id="member-no-organization"' in client.get(HOME).text


def test_staff_opening_the_members_page_go_to_the_dashboard(client, org_admin):
    client.force_login(org_admin.user)
    assert client.get(HOME).url == reverse("admin:index")


def test_the_members_page_does_not_grow_its_queries_with_1000_plugins_marketplaces_and_keys(
    member_client, member, org, catalog
):
    def grow():
        plugins = Plugin.objects.bulk_create([Plugin(organization=org, plugin_id=f"plugin-g{i}", name=f"G{i}",
                                                     version="1.0.0") for i in range(1000)])
        markets = Marketplace.objects.bulk_create([Marketplace(organization=org, name=f"M{i}") for i in range(1000)])
        MarketplacePlugin.objects.bulk_create([MarketplacePlugin(organization=org, marketplace=m, plugin=p)
                                               for m, p in zip(markets, plugins)])
        from plexica.access.models import AccessGrant
        AccessGrant.objects.bulk_create([AccessGrant(organization=org, resource_type="marketplace", resource_id=m.pk,
                                                     org_wide=True, subject_key="org", role="viewer")
                                         for m in markets])
        ApiKey.objects.bulk_create([ApiKey(organization=org, name=f"k{i}", prefix="plx_k",
                                           key_hash=f"{i:08d}".ljust(64, "a"), membership=member)
                                    for i in range(1000)])
    issue_api_key(org, name="first", membership=member)
    member_client.get(HOME)
    assert_flat(member_client, HOME, grow)
