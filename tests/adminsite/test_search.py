"""Global search (/admin/search/?q=): plugins, services, config objects, marketplaces and members by name,
only from the organizations in view."""

from django.urls import reverse

from marketplaces.catalog.models import Marketplace
from marketplaces.config_objects.models import ConfigObject
from plexica.adminsite.scope import CURRENT_ORGANIZATION_SESSION_KEY
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Membership
from plexica.tenancy.services import add_member, ensure_user
from registry.models import PluginService
from tests.adminsite.querycount import assert_flat

SEARCH = "/admin/search/"


def acme_and_globex_rows(org, other_org):
    """A "Sales" plugin, service, config object, marketplace and member in each of the two organizations."""
    for organization, tag in ((org, "acme"), (other_org, "globex")):
        plugin = Plugin.objects.create(organization=organization, plugin_id=f"plugin-sales-{tag}",
                                       name=f"Sales {tag}", version="1.0.0")
        PluginService.objects.create(organization=organization, plugin=plugin, service_name=f"sales.{tag}",
                                     version="1.0.0")
        ConfigObject.objects.create(organization=organization, type="skill", title=f"Sales follow-up {tag}")
        Marketplace.objects.create(organization=organization, name=f"Sales tools {tag}")
        user, _ = ensure_user(f"sales-{tag}", first_name="Sally", last_name=f"Sales{tag}")
        add_member(organization, user, Membership.Role.MEMBER)


def groups(response):
    """{group title: [row titles]} of a search page."""
    return {group["title"]: [title for title, _ in group["rows"]] for group in response.context["groups"]
            if group["rows"]}


def test_an_org_admin_finds_each_kind_by_name_in_their_organization_only(client, org, other_org, org_admin):
    acme_and_globex_rows(org, other_org)
    client.force_login(org_admin.user)
    found = groups(client.get(SEARCH, {"q": "sales"}))

    assert found["Plugins"] == ["plugin-sales-acme"] or found["Plugins"] == ["Sales acme (plugin-sales-acme)"]
    assert len(found["Plugin services"]) == 1 and "acme" in found["Plugin services"][0]
    assert found["Config objects"] == ["Sales follow-up acme"]
    assert found["Marketplaces"] == ["Sales tools acme"]
    assert found["Memberships"] == ["Sally Salesacme (sales-acme) — member of Acme Corp"]
    assert "globex" not in str(found).lower()


def test_results_link_to_each_rows_page(client, org, other_org, org_admin):
    acme_and_globex_rows(org, other_org)
    client.force_login(org_admin.user)
    response = client.get(SEARCH, {"q": "sales tools"})
    market = Marketplace.objects.get(organization=org)
    assert reverse("admin:marketplaces_marketplace_change", args=[market.pk]) in response.text


def test_a_superuser_with_an_organization_chosen_sees_only_that_one(client, org, other_org, superuser):
    acme_and_globex_rows(org, other_org)
    client.force_login(superuser)
    everything = groups(client.get(SEARCH, {"q": "sales"}))
    assert len(everything["Marketplaces"]) == 2

    session = client.session
    session[CURRENT_ORGANIZATION_SESSION_KEY] = other_org.pk
    session.save()
    chosen = groups(client.get(SEARCH, {"q": "sales"}))
    assert chosen["Marketplaces"] == ["Sales tools globex"]
    assert "acme" not in str(chosen).lower()


def test_a_short_or_missing_query_searches_nothing(client, org_admin):
    client.force_login(org_admin.user)
    assert client.get(SEARCH, {"q": "s"}).context["too_short"]
    assert client.get(SEARCH).context["groups"] == []


def test_nothing_found_says_where_it_looked(client, org, org_admin):
    client.force_login(org_admin.user)
    assert "Nothing matches “zebra” in Acme Corp." in client.get(SEARCH, {"q": "zebra"}).text


def test_the_see_all_link_keeps_the_query_whole(client, org, org_admin):
    Marketplace.objects.bulk_create([Marketplace(organization=org, name=f"A&B tools {i}") for i in range(12)])
    client.force_login(org_admin.user)
    response = client.get(SEARCH, {"q": "a&b tools"})
    group = next(g for g in response.context["groups"] if g["title"] == "Marketplaces")
    assert group["more"] and group["all_url"].endswith("?q=a%26b+tools")


def test_search_queries_do_not_grow_with_1000_rows_of_each_kind(client, org, org_admin):
    acme_and_globex_rows(org, org)  # one of each kind first

    def grow():
        plugins = Plugin.objects.bulk_create([Plugin(organization=org, plugin_id=f"plugin-sales-{i}",
                                                     name=f"Sales {i}", version="1.0.0") for i in range(1000)])
        PluginService.objects.bulk_create([PluginService(organization=org, plugin=p, service_name=f"sales.{i}",
                                                         version="1") for i, p in enumerate(plugins)])
        ConfigObject.objects.bulk_create([ConfigObject(organization=org, type="skill", title=f"Sales {i}")
                                          for i in range(1000)])
        Marketplace.objects.bulk_create([Marketplace(organization=org, name=f"Sales {i}") for i in range(1000)])
        from django.contrib.auth import get_user_model
        users = get_user_model().objects.bulk_create([get_user_model()(username=f"sales{i}") for i in range(1000)])
        Membership.objects.bulk_create([Membership(organization=org, user=user) for user in users])

    client.force_login(org_admin.user)
    client.get(SEARCH, {"q": "sales"})
    assert_flat(client, SEARCH + "?q=sales", grow)
