"""The tenancy, shared-data and webhook admin pages: names and badges, read-only pages without Save or Delete,
and query counts that stay flat with 1,000 rows of each kind."""

import itertools
import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from plexica.plugins.models import Plugin
from plexica.tenancy.models import ApiKey, Membership, Organization, Team, TeamMembership
from plexica.tenancy.services import add_member, ensure_user, issue_api_key
from shareddata.models import SharedEntry
from tests.adminsite.querycount import assert_flat
from webhooks.inbound.models import WebhookDelivery

_batches = itertools.count()


def url(name, *args):
    return reverse(f"admin:{name}", args=[quote(arg) for arg in args])


def headers(response):
    return [str(column["text"]).lower() for column in response.context["result_headers"]]


def grow_people(org, count=1000):
    """`count` users, each a member of `org`, in one of `count` teams, with a member key, a plugin and its key."""
    batch = next(_batches)
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"p{batch}-{i}", first_name="Pat", last_name=f"N{i}")
                                      for i in range(count)])
    members = Membership.objects.bulk_create([Membership(organization=org, user=user) for user in users])
    teams = Team.objects.bulk_create([Team(organization=org, slug=f"t{batch}-{i}", name=f"T{batch}-{i}")
                                      for i in range(count)])
    TeamMembership.objects.bulk_create([TeamMembership(team=team, membership=member)
                                        for team, member in zip(teams, members)])
    plugins = Plugin.objects.bulk_create([Plugin(organization=org, plugin_id=f"plugin-q{batch}-{i}",
                                                 name=f"Q{batch}-{i}", version="1.0.0") for i in range(count)])
    now = timezone.now()
    ApiKey.objects.bulk_create(
        [ApiKey(organization=org, name=f"m{batch}-{i}", prefix="plx_x", key_hash=f"m{batch:04d}x{i:06d}".ljust(64, "0"),
                membership=members[i], created_by=users[i], last_used_at=now, expires_at=now + timedelta(days=3))
         for i in range(count)]
        + [ApiKey(organization=org, name=f"p{batch}-{i}", prefix="plx_y", key_hash=f"p{batch:04d}x{i:06d}".ljust(64, "1"),
                  plugin=plugins[i], created_by=users[i], revoked_at=now) for i in range(count)])
    SharedEntry.objects.bulk_create([SharedEntry(organization=org, namespace="ns", key=f"k{batch}-{i}",
                                                 value={"i": i}, owner=plugins[i]) for i in range(count)])
    WebhookDelivery.objects.bulk_create([WebhookDelivery(provider="github", delivery_id=f"d{batch}-{i}",
                                                         event="push", body=b"{}", body_sha256="0" * 64,
                                                         status="processed" if i % 2 else "failed")
                                         for i in range(count)])


def grow_organizations(count=1000):
    batch = next(_batches)
    Organization.objects.bulk_create([Organization(slug=f"o{batch}-{i}", name=f"O {batch} {i}")
                                      for i in range(count)])


@pytest.fixture
def seeded(org, org_admin, member, crm_plugin):
    """One row of every kind the pages show, so growing adds rows, not kinds."""
    team = Team.objects.create(organization=org, slug="sales", name="Sales")
    TeamMembership.objects.create(team=team, membership=member)
    key, _ = issue_api_key(org, name="ci", plugin=crm_plugin, created_by=org_admin.user)
    issue_api_key(org, name="mine", membership=member, created_by=org_admin.user)
    entry = SharedEntry.objects.create(organization=org, namespace="ns", key="k", value={"a": 1}, owner=crm_plugin)
    delivery = WebhookDelivery.objects.create(provider="github", delivery_id="d", event="push", body=b"{}",
                                              body_sha256="0" * 64)
    return {"team": team, "key": key, "entry": entry, "delivery": delivery,
            "team_membership": TeamMembership.objects.get(team=team)}


def test_org_admin_pages_do_not_grow_their_queries_with_1000_rows_of_each_kind(client_of, org, org_admin, seeded):
    client = client_of(org_admin)
    pages = [
        url("tenancy_apikey_changelist"), url("tenancy_apikey_change", seeded["key"].pk),
        url("tenancy_membership_changelist"), url("tenancy_membership_change", org_admin.pk),
        url("tenancy_team_changelist"), url("tenancy_team_change", seeded["team"].pk),
        url("tenancy_teammembership_changelist"),
        url("tenancy_teammembership_change", seeded["team_membership"].pk),
        url("tenancy_organization_changelist"), url("tenancy_organization_change", org.pk),
        url("shareddata_sharedentry_changelist"), url("shareddata_sharedentry_change", seeded["entry"].pk),
    ]
    for page in pages:
        client.get(page)  # warm: the first request of a session caches content types
        count = 1000 if page == pages[0] else 20  # 1,000 of every kind first, then 20 more for each page
        assert_flat(client, page, lambda count=count: grow_people(org, count))


def test_superuser_pages_do_not_grow_their_queries_with_1000_rows(client_of, org, superuser, seeded):
    client = client_of(superuser)
    for page, grow in [
        (url("tenancy_organization_changelist"), grow_organizations),
        (url("webhooks_webhookdelivery_changelist"), lambda: grow_people(org)),
        (url("webhooks_webhookdelivery_change", seeded["delivery"].pk), lambda: grow_people(org, 20)),
        (url("tenancy_apikey_changelist"), lambda: grow_people(org, 20)),
    ]:
        client.get(page)  # warm: content types
        assert_flat(client, page, grow)


def test_the_api_key_list_leads_with_state_last_use_and_expiry_and_names_who_made_it(
    client_of, org, org_admin, seeded
):
    client = client_of(org_admin)
    response = client.get(url("tenancy_apikey_changelist"))
    shown = headers(response)
    assert {"state", "last used", "expires"} <= set(shown)
    assert "organization" not in shown  # one organization in view
    assert shown.index("expires") < 7
    assert "Plugin CRM (plugin-crm)" in response.text and "Member mia" in response.text
    assert "by ada" in response.text
    assert url("auth_user_change", org_admin.user.pk) not in response.text
    page = client.get(url("tenancy_apikey_change", seeded["key"].pk))
    assert url("auth_user_change", org_admin.user.pk) not in page.text and "ada" in page.text
    assert 'class="badge badge-green"' in page.text


def test_a_superuser_seeing_several_organizations_gets_the_organization_column(client_of, superuser, seeded):
    assert "organization" in headers(client_of(superuser).get(url("tenancy_apikey_changelist")))


def test_members_are_listed_by_name_with_their_role_as_a_badge_and_their_teams(client_of, org_admin, member, seeded):
    member.user.first_name, member.user.last_name = "Mia", "Lee"
    member.user.save()
    text = client_of(org_admin).get(url("tenancy_membership_changelist")).text
    assert "Mia Lee (mia)" in text and "Sales" in text
    assert re.search(r'class="badge badge-\w+">Member<', text) and re.search(r'badge-blue">Admin<', text)


def test_a_membership_added_in_the_admin_goes_through_add_member(client_of, org, org_admin):
    newcomer, _ = ensure_user("nia")
    add_member(Organization.objects.create(slug="elsewhere", name="Elsewhere"), newcomer)
    superuser, _ = ensure_user("root", is_staff=True, is_superuser=True)
    client = client_of(superuser)
    response = client.post(url("tenancy_membership_add"), {
        "organization": org.pk, "user": newcomer.pk, "role": "member",
        "team_memberships-TOTAL_FORMS": "0", "team_memberships-INITIAL_FORMS": "0",
        "team_memberships-MIN_NUM_FORMS": "0", "team_memberships-MAX_NUM_FORMS": "1000"}, follow=True)
    assert Membership.objects.get(organization=org, user=newcomer).role == "member"
    assert "nia — member of Acme Corp" in response.text


def test_shared_entries_are_read_only_pages_without_save_but_can_be_removed(client_of, org_admin, seeded):
    client = client_of(org_admin)
    page = client.get(url("shareddata_sharedentry_change", seeded["entry"].pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.text and 'name="_continue"' not in page.text
    assert "CRM (plugin-crm)" in page.text and "badge-green" in page.text
    assert url("shareddata_sharedentry_delete", seeded["entry"].pk) in page.text


def test_webhook_deliveries_offer_no_save_and_no_delete_and_show_status_badges(client_of, superuser, seeded):
    client = client_of(superuser)
    listing = client.get(url("webhooks_webhookdelivery_changelist"))
    assert "delete_selected" not in listing.text and "badge-" in listing.text
    page = client.get(url("webhooks_webhookdelivery_change", seeded["delivery"].pk))
    assert 'name="_save"' not in page.text
    assert url("webhooks_webhookdelivery_delete", seeded["delivery"].pk) not in page.text
