"""What an org admin does in the admin, in a real browser: each test is one journey, screenshots in var/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.config_objects.models import ConfigObject
from marketplaces.config_objects.parsing import parse_version_input
from plexica.plugins.models import Plugin

SKILL_CRLF = ("---\r\nname: Summarize thread\r\ndescription: Summarize a support thread\r\n---\r\n"
              "# Steps\r\n\r\n1. Read the thread.\r\n2. Write three bullet points.\r\n")


@pytest.mark.journey("login")
def test_an_org_admin_logs_in_and_lands_on_the_dashboard(journey, org_admin):
    page = journey.page
    journey.goto("/admin/")
    expect(page.get_by_label("Username")).to_be_visible()
    journey.shot("1-login")
    journey.login("ada")
    expect(page).to_have_title(re.compile("Dashboard"))
    expect(page.locator("body")).to_contain_text("Acme Corp")  # the organization in view, on every page
    journey.shot("2-dashboard")


@pytest.mark.journey("create-plugin")
def test_an_org_admin_creates_a_plugin(journey, org_admin):
    page = journey.page
    journey.login("ada")
    page.get_by_role("link", name=re.compile(r"Plugins$")).first.click()
    journey.shot("1-plugins")
    click_add(page)
    select_organization(page)
    page.get_by_label("Plugin id").fill("plugin-billing")
    page.get_by_label(re.compile(r"^Name")).fill("Billing")
    page.get_by_label("Version").fill("1.2.0")
    journey.shot("2-add-plugin")
    save(page)
    expect(page.locator("body")).to_contain_text("Billing")
    journey.shot("3-plugin-added")
    plugin = Plugin.objects.get(plugin_id="plugin-billing")
    assert (plugin.name, plugin.version, plugin.organization.slug) == ("Billing", "1.2.0", "acme-corp")


@pytest.mark.journey("config-object-crlf")
def test_an_org_admin_adds_a_config_object_typed_with_crlf_line_endings(journey, org_admin, crm_plugin):
    page = journey.page
    journey.login("ada")
    journey.goto("/admin/marketplaces/configobject/")
    click_add(page)
    select_organization(page)
    page.get_by_label(re.compile("^Type")).select_option(label="Skill")
    page.get_by_label(re.compile("^Raw source text")).fill(SKILL_CRLF)
    journey.shot("1-add-config-object")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^Create$", re.IGNORECASE)).click()
    expect(page.locator("body")).to_contain_text("Summarize thread")
    journey.shot("2-config-object")
    obj = ConfigObject.objects.get(title="Summarize thread")
    version = obj.latest_version()
    # The text is stored as the browser sent it (a textarea submits CRLF), the digest is over the LF content.
    assert version.raw_source_text == SKILL_CRLF
    assert version.sha256 == parse_version_input("skill", SKILL_CRLF.replace("\r\n", "\n")).sha256
    assert obj.description == "Summarize a support thread"


@pytest.mark.journey("version-compare")
def test_an_org_admin_adds_a_version_and_compares_it_with_the_first(journey, org_admin, skill):
    page = journey.page
    journey.login("ada")
    journey.goto(f"/admin/marketplaces/configobject/{skill.pk}/change/")
    journey.shot("1-config-object")
    page.get_by_role("link", name=re.compile("New version", re.IGNORECASE)).first.click()
    text = page.get_by_label(re.compile("^Raw source text"))
    expect(text).to_have_value(SKILL_CRLF.replace("\r\n", "\n"))  # starts from the latest content
    text.press("Control+End")
    page.keyboard.type("3. Name the owner.")
    page.keyboard.press("Enter")
    page.get_by_label(re.compile("^Reason")).fill("Name who follows up")
    journey.shot("2-new-version")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^Add version$", re.IGNORECASE)).click()
    expect(page.locator("body")).to_contain_text("Added version")
    journey.shot("3-version-added")
    latest = skill.latest_version()
    assert latest.raw_source_text == SKILL_CRLF + "3. Name the owner.\r\n"
    assert latest.reason == "Name who follows up"

    page.get_by_role("link", name=re.compile("Compare", re.IGNORECASE)).first.click()
    diff = page.locator(".version-diff, #version-diff").first
    expect(diff).to_contain_text("+3. Name the owner.")
    expect(diff.locator(".added").first).to_be_visible()
    journey.shot("4-compare")


@pytest.mark.journey("marketplace")
def test_an_org_admin_creates_a_marketplace_offering_a_plugin(journey, org_admin, crm_plugin):
    page = journey.page
    journey.login("ada")
    journey.goto("/admin/marketplaces/marketplace/")
    click_add(page)
    select_organization(page)
    page.get_by_label(re.compile(r"^Name")).fill("Sales tools")
    page.get_by_label("Description").fill("What the sales team uses")
    page.get_by_role("link", name=re.compile("Add another", re.IGNORECASE)).first.click()
    choose(page, page.locator("select[name$='-plugin']:not([name*='__prefix__'])").first, "plugin-crm")
    journey.shot("1-add-marketplace")
    save(page)
    expect(page.locator("body")).to_contain_text("Sales tools")
    journey.shot("2-marketplace-added")
    marketplace = Marketplace.objects.get(name="Sales tools")
    assert list(MarketplacePlugin.objects.filter(marketplace=marketplace, removed_at__isnull=True)
                .values_list("plugin__plugin_id", flat=True)) == ["plugin-crm"]


@pytest.mark.journey("search")
def test_an_org_admin_finds_plugins_and_config_objects_with_the_global_search(journey, org_admin, crm_plugin, skill):
    page = journey.page
    journey.login("ada")
    box = page.get_by_placeholder(re.compile("Search plugins", re.IGNORECASE)).first
    box.fill("crm")
    with page.expect_navigation():
        box.press("Enter")
    expect(page.locator("body")).to_contain_text("CRM")
    journey.shot("1-search-plugin")
    page.locator("#search-results").get_by_role("link", name=re.compile("plugin-crm")).first.click()
    expect(page).to_have_url(re.compile(rf"/admin/plugins/plugin/{crm_plugin.pk}/change/"))
    journey.goto("/admin/search/?q=Summarize")
    expect(page.locator("body")).to_contain_text("Summarize thread")
    journey.shot("2-search-config-object")


@pytest.mark.journey("member")
def test_a_member_who_is_not_staff_gets_their_own_page(journey, member):
    page = journey.page
    journey.login("mia")
    expect(page).to_have_url(re.compile("/admin/me/"))
    expect(page.locator("body")).to_contain_text("mia")
    expect(page.locator("body")).not_to_contain_text("staff account")
    journey.shot("1-member-home")


# -- helpers -----------------------------------------------------------------------------------------------------


def select_organization(page):
    """Pick Acme Corp in the form's organization select when there is one (an admin of one organization may
    see it already chosen, or not at all)."""
    select = page.locator("select[name=organization]")
    if select.count():
        select.select_option(label="Acme Corp")


def choose(page, select, text):
    """Pick the option containing `text` in a <select>: a plain one, or an autocomplete (select2) one, typed
    as a person does."""
    if "admin-autocomplete" in (select.get_attribute("class") or ""):
        select.locator("xpath=following-sibling::span[contains(@class, 'select2')]").first.click()
        page.locator(".select2-container--open .select2-search__field").fill(text)
        page.locator(".select2-results__option", has_text=text).first.click()
        return
    options = select.locator("option", has_text=text)
    assert options.count(), f"no option with {text!r}: {select.locator('option').all_inner_texts()}"
    select.select_option(value=options.first.get_attribute("value"))


def click_add(page):
    """The changelist's add button (unfold shows it as an icon)."""
    with page.expect_navigation():
        page.locator("a[href$='/add/']").first.click()


def save(page):
    with page.expect_navigation():
        page.locator("[type=submit][name=_save]").first.click()
    errors = page.locator(".errornote, .errorlist")
    assert not errors.count(), errors.all_inner_texts()


# -- data --------------------------------------------------------------------------------------------------------


@pytest.fixture
def skill(org, org_admin, crm_plugin):
    from marketplaces.catalog.services import bundles
    from marketplaces.config_objects.services import VersionInput
    from plexica.tenancy.principal import Principal

    principal = Principal(organization=org, membership=org_admin, user=org_admin.user)
    obj, _version = bundles.create_config_object_in_plugins(
        principal, "skill", "cloud", VersionInput(raw_source_text=SKILL_CRLF), ["plugin-crm"])
    assert PluginConfigObject.objects.filter(config_object=obj).exists()
    return obj
