"""What an org admin does in the admin, in a real browser: each test is one journey, screenshots in var/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from dependencies.models import PluginDependency
from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject
from marketplaces.catalog.services import bundles, marketplaces
from marketplaces.config_objects.models import ConfigObject
from marketplaces.config_objects.parsing import parse_version_input
from marketplaces.config_objects.services import VersionInput
from marketplaces.sharing import MARKETPLACE
from plexica.access import services as access
from plexica.access.models import AccessGrant
from plexica.plugins.models import Plugin
from plexica.tenancy.models import ApiKey
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import ensure_team, ensure_user, hash_token
from tests.adminsite.bulk import bulk_rows
from tests.e2e.conftest import PASSWORD
from tests.webhooks.receiver import receiver_fixture  # noqa: F401  (the `receiver` fixture)

SKILL_CRLF = ("---\r\nname: Summarize thread\r\ndescription: Summarize a support thread\r\n---\r\n"
              "# Steps\r\n\r\n1. Read the thread.\r\n2. Write three bullet points.\r\n")


@pytest.mark.journey("login")
def test_an_org_admin_logs_in_and_lands_on_the_dashboard(journey, org_admin):
    page = journey.page
    journey.goto("/admin/login/")  # typed or bookmarked: no ?next=
    expect(page.get_by_label("Username")).to_be_visible()
    journey.shot("1-login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page).to_have_title(re.compile("Dashboard"))
    expect(page.locator("body")).to_contain_text("Acme Corp")  # the organization in view, on every page
    journey.shot("2-dashboard")


@pytest.mark.journey("dashboard")
def test_the_dashboard_draws_its_charts_from_what_the_platform_recorded(journey, org, org_admin):
    bulk_rows(org, 6)  # services with status changes, syncs, gateway calls, keys, versions...
    page = journey.page
    journey.login("ada")
    for widget in ("services_health", "plugins_lifecycle", "failing_syncs", "expiring_keys", "config_versions",
                   "lifecycle_transitions"):
        expect(page.locator(f"#widget-{widget}")).to_be_visible()
    # The gateway card draws two charts: calls and errors per hour, and p95 latency per hour.
    for widget, index, count in (("service_health_chart", 0, 1), ("sync_outcomes_chart", 0, 1),
                                 ("gateway_calls", 0, 2), ("gateway_calls", 1, 2)):
        canvases = page.locator(f"#widget-{widget} canvas")
        expect(canvases).to_have_count(count)
        canvas = canvases.nth(index)
        # Chart.js (vendored by unfold, served locally) drew it, with data points, on a canvas of real size.
        drawn = canvas.evaluate("""canvas => {
            const chart = window.Chart && Chart.getChart(canvas);
            if (!chart) return null;
            const values = chart.data.datasets.flatMap(d => d.data).map(Number);
            return {type: chart.config.type, datasets: chart.data.datasets.length, labels: chart.data.labels.length,
                    total: values.reduce((a, b) => a + b, 0), width: canvas.width, height: canvas.height};
        }""")
        assert drawn is not None, f"{widget}: no Chart.js chart on its canvas"
        assert drawn["datasets"] and drawn["labels"] and drawn["total"] > 0, (widget, drawn)
        assert drawn["width"] > 100 and drawn["height"] > 100, (widget, drawn)
    journey.shot("1-dashboard")


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
    expect(page.locator("body")).to_contain_text(re.compile(r"Billing \(plugin-billing\).{0,3} was added successfully"))
    journey.shot("3-plugin-added")
    plugin = Plugin.objects.get(plugin_id="plugin-billing")
    assert (plugin.name, plugin.version, plugin.organization.slug) == ("Billing", "1.2.0", "acme-corp")
    from plexica.events.models import Event

    event = Event.objects.get(organization=plugin.organization, type="plugin.registered", subject_id="plugin-billing")
    assert event.data == {"pluginId": "plugin-billing", "name": "Billing", "version": "1.2.0", "via": "admin"}
    assert (event.actor_type, event.actor_id) == ("member", "ada")


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

    # The versions, newest first, on the object page; then the comparison of the two, picked by label.
    versions = page.locator("article.plexica-version")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("latest")
    with page.expect_navigation():
        page.locator("#panel-versions").get_by_role("link", name=re.compile("Compare", re.IGNORECASE)).first.click()
    choose(page, page.locator("select#id_from"), "v1")
    choose(page, page.locator("select#id_to"), "v2")
    with page.expect_navigation():
        page.locator("input[type=submit][value=Compare]").click()
    diff = page.locator("div.version-diff")
    expect(diff.locator(".added")).to_have_text(["+3. Name the owner."])
    expect(diff.locator(".removed")).to_have_count(0)
    journey.shot("4-compare")


@pytest.mark.journey("bundle")
def test_an_org_admin_bundles_a_config_object_into_a_plugin(journey, org, org_admin, crm_plugin):
    Plugin.objects.create(organization=org, plugin_id="plugin-billing", name="Billing", version="1.0.0")
    obj = create_skill(org, org_admin, plugin_ids=[])
    page = journey.page
    journey.login("ada")
    journey.goto(f"/admin/marketplaces/configobject/{obj.pk}/change/")
    panel = page.locator("#panel-plugins")
    expect(panel).to_be_visible()
    choose(page, page.locator("select#id_bundle_plugin"), "plugin-crm")
    journey.shot("1-choose-plugin")
    with page.expect_navigation():
        page.locator("#bundle-add").click()
    expect(page.locator("body")).to_contain_text("Added Summarize thread to CRM (plugin-crm).")
    row = page.locator('#bundle-table tr[data-plugin="plugin-crm"]')
    expect(row).to_contain_text("CRM (plugin-crm)")
    expect(row).to_contain_text("Admin")
    journey.shot("2-bundled")
    assert list(PluginConfigObject.objects.filter(config_object=obj, removed_at__isnull=True)
                .values_list("plugin__plugin_id", flat=True)) == ["plugin-crm"]
    with page.expect_navigation():
        row.get_by_role("link", name="CRM (plugin-crm)").click()
    open_tab(journey, crm_plugin, "config-objects")
    expect(page.locator("#plugin-config-objects")).to_contain_text("Summarize thread")
    journey.shot("3-plugin-config-objects")


@pytest.mark.journey("team-grant")
def test_an_org_admin_grants_a_team_access_to_a_plugin(journey, org, org_admin, crm_plugin):
    team, _ = ensure_team(org, "sales", "Sales")
    page = journey.page
    journey.login("ada")
    open_tab(journey, crm_plugin, "access")
    journey.shot("1-access-before")
    with page.expect_navigation():
        page.locator("#plugin-tabpanel-access").get_by_role("link", name="Add a grant").click()
    # The plugin is already chosen (from the plugin page); the team is picked by name.
    expect(page.locator("#id_resource")).to_have_value(f"plugin:{crm_plugin.pk}")
    choose(page, page.locator("#id_team"), "Sales")
    page.locator("#id_role").select_option("editor")
    journey.shot("2-add-grant")
    save(page)
    expect(page.locator("body")).to_contain_text("Editor on plugin CRM (plugin-crm) for Team Sales")
    journey.shot("3-grant-added")
    grant = AccessGrant.objects.get(team=team)
    assert (grant.resource_type, grant.resource_id, grant.role) == ("plugin", crm_plugin.pk, "editor")
    open_tab(journey, crm_plugin, "access")
    expect(page.locator("#access-effective")).to_contain_text("Sales")
    journey.shot("4-access-after")


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

    # Everyone in the organization may view it: the marketplace is picked by typing its name, never an id.
    journey.goto("/admin/access/accessgrant/add/")
    choose(page, page.locator("#id_resource"), "Sales tools")
    page.locator("#id_org_wide").check()
    page.locator("#id_role").select_option("viewer")
    journey.shot("3-grant-everyone")
    save(page)
    grant = AccessGrant.objects.get(resource_type="marketplace", resource_id=marketplace.pk, org_wide=True)
    assert grant.role == "viewer"
    journey.goto(f"/admin/marketplaces/marketplace/{marketplace.pk}/change/")
    expect(page.locator("#panel-visibility")).to_contain_text("Everyone in Acme Corp")
    journey.shot("4-who-can-see-it")


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


@pytest.mark.journey("lifecycle")
def test_an_org_admin_installs_enables_and_uninstalls_from_the_plugin_page_with_the_blocked_reasons(
        journey, org, org_admin, crm_plugin):
    analytics = Plugin.objects.create(organization=org, plugin_id="plugin-analytics", name="Analytics",
                                      version="2.0.0")
    PluginDependency.objects.create(organization=org, plugin=analytics, depends_on_plugin_id="plugin-crm",
                                    version="^1.0.0", required=True)
    page = journey.page
    journey.login("ada")

    # Analytics needs CRM installed: install is refused, with the reason.
    open_tab(journey, analytics, "lifecycle")
    lifecycle_button(journey, "install", blocked=re.compile("plugin-crm"))
    journey.shot("1-install-blocked")
    assert Plugin.objects.get(pk=analytics.pk).lifecycle_state == "registered"

    open_tab(journey, crm_plugin, "lifecycle")
    lifecycle_button(journey, "install", done="Installed plugin-crm 1.0.0")
    expect(page.locator("#plugin-lifecycle-state")).to_contain_text(re.compile("installed", re.IGNORECASE))
    lifecycle_button(journey, "enable", done="Enabled")
    expect(page.locator("#plugin-lifecycle-state")).to_contain_text(re.compile("active", re.IGNORECASE))
    journey.shot("2-crm-enabled")

    open_tab(journey, analytics, "lifecycle")
    lifecycle_button(journey, "install", done="Installed plugin-analytics 2.0.0")
    lifecycle_button(journey, "enable", done="Enabled")
    journey.shot("3-analytics-enabled")

    # CRM is required by an installed plugin: uninstall is refused, naming it.
    open_tab(journey, crm_plugin, "lifecycle")
    lifecycle_button(journey, "uninstall", blocked=re.compile("plugin-analytics"))
    journey.shot("4-uninstall-blocked")
    open_tab(journey, crm_plugin, "dependencies")
    expect(page.locator("#plugin-dependents")).to_contain_text("plugin-analytics")
    journey.shot("5-dependents")
    assert Plugin.objects.get(pk=crm_plugin.pk).lifecycle_state == "active"

    open_tab(journey, analytics, "lifecycle")
    lifecycle_button(journey, "uninstall", done="Uninstalled")
    open_tab(journey, crm_plugin, "lifecycle")
    lifecycle_button(journey, "uninstall", done="Uninstalled")
    journey.shot("6-crm-uninstalled")
    assert {p.plugin_id: p.lifecycle_state for p in Plugin.objects.all()} == {
        "plugin-crm": "uninstalled", "plugin-analytics": "uninstalled"}
    open_tab(journey, crm_plugin, "history")
    expect(page.locator("#plugin-lifecycle-history")).to_contain_text("ada")
    journey.shot("7-history")


@pytest.mark.journey("member")
def test_a_member_sees_what_they_can_install_and_manages_their_own_api_keys(
        journey, org, org_admin, member, crm_plugin):
    Plugin.objects.create(organization=org, plugin_id="plugin-secret", name="Secret", version="1.0.0")
    principal = Principal(organization=org, membership=org_admin, user=org_admin.user)
    sales = marketplaces.create_marketplace(principal, "Sales tools")
    marketplaces.add_plugin_to_marketplace(principal, sales, crm_plugin)
    access.grant(principal, MARKETPLACE, sales.pk, "viewer", org_wide=True)
    page = journey.page
    journey.login("mia")
    expect(page).to_have_url(re.compile("/admin/me/"))
    expect(page.locator("#member-home")).to_contain_text("mia")
    expect(page.locator("body")).not_to_contain_text("staff account")
    installable = page.locator("#member-installable-plugins")
    expect(installable.locator('tr[data-plugin-id="plugin-crm"]')).to_be_visible()
    expect(installable).not_to_contain_text("plugin-secret")
    expect(page.locator("#member-marketplaces")).to_contain_text("Sales tools")
    journey.shot("1-member-home")

    page.locator("#member-key-name").fill("laptop")
    with page.expect_navigation():
        page.locator("#member-create-key-submit").click()
    expect(page.locator("#member-token-created")).to_be_visible()
    token = page.locator("input#member-token").input_value()
    assert token.startswith("plx_")
    journey.shot("2-token-shown-once")
    key = ApiKey.objects.get(name="laptop")
    assert key.membership_id == member.pk and key.key_hash == hash_token(token)

    journey.goto("/admin/me/")
    expect(page.locator("body")).not_to_contain_text(token)  # shown once
    row = page.locator(f'#member-api-keys tr[data-key-id="{key.pk}"]')
    expect(row).to_contain_text("laptop")
    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.locator(f"#member-revoke-{key.pk}").click()
    expect(page.locator("body")).to_contain_text("Revoked the API key laptop")
    journey.shot("3-key-revoked")
    key.refresh_from_db()
    assert key.revoked_at is not None
    # Nothing else of the admin is theirs: another admin URL sends them back to their page.
    journey.goto("/admin/plugins/plugin/")
    expect(page).to_have_url(re.compile("/admin/me/"))


@pytest.mark.journey("switcher")
def test_a_superuser_switches_organization_and_every_list_follows(journey, org, other_org, crm_plugin):
    ensure_user("root", password=PASSWORD, is_staff=True, is_superuser=True)
    Plugin.objects.create(organization=other_org, plugin_id="plugin-erp", name="ERP", version="3.0.0")
    create_marketplace_in(org, "Acme picks")
    create_marketplace_in(other_org, "Globex picks")
    page = journey.page
    journey.login("root")
    switcher = page.locator("#organization-select")
    expect(switcher).to_have_value("")  # all organizations
    journey.goto("/admin/plugins/plugin/")
    expect(page.locator("#result_list")).to_contain_text("plugin-crm")
    expect(page.locator("#result_list")).to_contain_text("plugin-erp")
    journey.shot("1-all-organizations")

    with page.expect_navigation():
        page.locator("#organization-select").select_option(label="Globex (globex)")
    expect(page).to_have_url(re.compile("/admin/plugins/plugin/"))  # back on the list it was switched on
    expect(page.locator("#organization-select")).to_have_value(other_org.pk)
    expect(page.locator("#result_list")).to_contain_text("plugin-erp")
    expect(page.locator("#result_list")).not_to_contain_text("plugin-crm")
    journey.shot("2-globex-plugins")
    journey.goto("/admin/marketplaces/marketplace/")
    expect(page.locator("#result_list")).to_contain_text("Globex picks")
    expect(page.locator("#result_list")).not_to_contain_text("Acme picks")
    journey.goto("/admin/search/?q=plugin")
    expect(page.locator("#search-results")).to_contain_text("plugin-erp")
    expect(page.locator("#search-results")).not_to_contain_text("plugin-crm")
    journey.shot("3-globex-search")

    with page.expect_navigation():
        page.locator("#organization-select").select_option(label="Acme Corp (acme-corp)")
    expect(page.locator("#search-results")).to_contain_text("plugin-crm")
    expect(page.locator("#search-results")).not_to_contain_text("plugin-erp")
    journey.goto("/admin/")
    expect(page.locator("#dashboard")).to_contain_text("Acme Corp (acme-corp)")
    journey.shot("4-acme-dashboard")


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


def open_tab(journey, plugin, tab):
    """The plugin page with one of its tabs open."""
    path = f"/admin/plugins/plugin/{plugin.pk}/change/"
    if journey.page.url.split("#")[0] == journey.url(path):
        journey.page.locator(f"#plugin-tab-{tab}").click()
    else:
        journey.goto(f"{path}#tab-{tab}")
    expect(journey.page.locator(f"#plugin-tabpanel-{tab}")).to_be_visible()


def lifecycle_button(journey, action, done=None, blocked=None):
    """Press a lifecycle button; `done`: the success message expected; `blocked`: the reason expected, either
    next to a disabled button or as the refusal after pressing it."""
    page = journey.page
    button = page.locator(f"#plugin-lifecycle-{action}")
    expect(button).to_be_visible()
    if blocked is not None and button.is_disabled():
        expect(button.locator("xpath=following-sibling::*[contains(@class, 'plexica-blocked')][1]")
               ).to_contain_text(blocked)
        return
    with page.expect_navigation():
        button.click()
    expect(page.locator("body")).to_contain_text(done or blocked)
    if blocked is not None:
        assert not any(text.startswith(("Installed", "Enabled", "Uninstalled")) for text in journey.messages())


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


def create_skill(org, org_admin, plugin_ids=("plugin-crm",)):
    principal = Principal(organization=org, membership=org_admin, user=org_admin.user)
    obj, _version = bundles.create_config_object_in_plugins(
        principal, "skill", "cloud", VersionInput(raw_source_text=SKILL_CRLF), list(plugin_ids))
    return obj


def create_marketplace_in(organization, name):
    return marketplaces.create_marketplace(Principal.system(organization), name)


@pytest.fixture
def skill(org, org_admin, crm_plugin):
    return create_skill(org, org_admin)


@pytest.mark.journey("webhook")
def test_an_org_admin_subscribes_a_receiver_sends_a_test_event_and_sees_it_delivered(journey, org, org_admin,
                                                                                     receiver):
    from webhooks.outbound import fanout
    from webhooks.outbound.models import WebhookEndpoint, WebhookMessage

    page = journey.page
    journey.login("ada")
    page.get_by_role("link", name="Webhook endpoints").first.click()
    click_add(page)
    select_organization(page)
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Events").fill("config_object.*\nplugin-crm.*")
    page.get_by_label("Description").fill("CRM sync")
    journey.shot("1-add-endpoint")
    save(page)
    secret = page.locator("#webhook-secret").input_value()  # shown this once
    assert secret.startswith("whsec_")
    journey.shot("2-secret-shown-once")
    receiver.secrets = [secret]

    endpoint = WebhookEndpoint.objects.get(organization=org, description="CRM sync")
    assert endpoint.event_types == ["config_object.*", "plugin-crm.*"]
    journey.goto(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    expect(page.locator("body")).not_to_contain_text(secret)
    with page.expect_navigation():
        page.get_by_role("button", name="Send test event").click()
    journey.shot("3-test-event-sent")
    fanout.fan_out_and_deliver(org.pk)  # what the worker does (a no-op where the server ran it already)

    message = WebhookMessage.objects.get(endpoint=endpoint)
    arrived = receiver.wait_for(1)[0]
    assert arrived.webhook_id == message.pk and arrived.standard_valid and arrived.seed_valid
    journey.goto("/admin/webhooks/webhookmessage/")
    expect(page.locator("#result_list")).to_contain_text("webhook.test")
    expect(page.locator("#result_list")).to_contain_text("Succeeded")
    journey.shot("4-messages")
    journey.goto(f"/admin/webhooks/webhookmessage/{message.pk}/change/")
    expect(page.locator("body")).to_contain_text("200")  # the attempt's status code
    journey.shot("5-message-and-attempt")
    journey.goto("/admin/events/event/")
    expect(page.locator("#result_list")).to_contain_text("webhook.test")
    journey.shot("6-event-log")


@pytest.mark.journey("tool-exposure")
def test_an_org_admin_exposes_a_plugin_tool_to_members_and_takes_it_back(journey, org, org_admin, member,
                                                                          crm_plugin):
    from plexica.plugins.capabilities import grant_capability
    from plexica.tools import list_tools
    from registry.services import Registration, register_service

    system = Principal.system(org)
    grant_capability(system, "plugin-crm", "TOOLS")
    register_service(system, Registration(
        plugin_id="plugin-crm", service_name="crm.contacts", version="1.0.0", base_url="http://127.0.0.1:9",
        endpoints=[{"method": "GET", "path": "/contacts/:id", "description": "One contact by id.",
                    "permissions": ["crm:contacts:read"],
                    "metadata": {"toolName": "get_contact", "inputSchema": {
                        "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}]))
    tool = "plugin-crm.crm.contacts.get_contact"
    mia = Principal(organization=org, membership=member, user=member.user)
    assert tool not in [t.name for t in list_tools(mia)]

    page = journey.page
    journey.login("ada")
    open_tab(journey, crm_plugin, "tools")
    row = page.locator("#plugin-tools tr", has_text=tool)
    expect(row).to_contain_text("offered")
    expect(row).to_contain_text("admins only")
    journey.shot("1-tools-tab")
    with page.expect_navigation():
        row.get_by_role("button", name="Expose to members").click()
    row = page.locator("#plugin-tools tr", has_text=tool)
    expect(row).to_contain_text("exposed")
    journey.shot("2-exposed")
    assert tool in [t.name for t in list_tools(mia)]

    with page.expect_navigation():
        row.get_by_role("button", name="Unexpose").click()
    expect(page.locator("#plugin-tools tr", has_text=tool)).to_contain_text("admins only")
    journey.shot("3-unexposed")
    assert tool not in [t.name for t in list_tools(mia)]
