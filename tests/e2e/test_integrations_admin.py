"""The integrations admin in a real browser: an org admin defines an integration of the stub provider (a real
HTTP server on 127.0.0.1), publishes it, makes an instance, sets its API key, tests the connection and sees
its status badge turn to Connected. Screenshots in var/screenshots/ (and /tmp/shots/)."""

import re
import shutil
from pathlib import Path

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from connectors.integrations.models import IntegrationDefinition, IntegrationInstance
from plexica.tenancy.admin import admin_url
from tests.e2e.test_admin_journeys import click_add, save, select_organization
from tests.integrations.provider import API_KEY, Provider

SHOTS = Path("/tmp/shots")
METHODS = """[
  {"name": "getThing", "description": "Read a thing",
   "paramSchema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
   "request": {"method": "GET", "path": "/things/{id}"},
   "rateLimits": {"requestsPerMinute": 600, "burstLimit": 50}, "timeoutMs": 3000},
  {"name": "createThing", "description": "Create a thing",
   "paramSchema": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}},
   "request": {"method": "POST", "path": "/things", "body": {"title": "{title}"}}, "timeoutMs": 5000}
]"""


@pytest.fixture
def provider():
    stub = Provider().start()
    with override_settings(INTEGRATION_ALLOWED_NETWORKS=["127.0.0.0/8", "::1/128"]):
        yield stub
    stub.stop()


@pytest.fixture
def eager_executions(monkeypatch):
    """Executions run in this process (Celery eager), whatever REDIS_URL says (tests/integrations' fixture)."""
    from plexica.celery import app
    from plexica.work import queue

    monkeypatch.setattr(queue, "_embedded_worker", None)
    monkeypatch.setitem(app.conf, "task_always_eager", True)


def shot(journey, step):
    """The journey's screenshot, copied to /tmp/shots/ too."""
    path = journey.shot(step)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path


@pytest.mark.journey("integration")
def test_an_org_admin_defines_publishes_and_connects_an_integration(journey, org, org_admin, provider):
    page = journey.page
    journey.login("ada")

    # A definition: the org's own, a draft, with its JSON parts typed as text.
    page.get_by_role("link", name=re.compile(r"Definitions$")).first.click()
    page.wait_for_load_state()
    click_add(page)
    select_organization(page)
    page.locator("#id_name").fill("Stub API")
    page.locator("#id_version").fill("1.0.0")
    page.locator("#id_description").fill("The stub provider's things")
    page.locator("#id_methods").fill(METHODS)
    page.locator("#id_config_schema").fill('{"type": "object", "required": ["baseUrl"], '
                                           '"properties": {"baseUrl": {"type": "string"}}}')
    page.locator("#id_default_config").fill(f'{{"baseUrl": "{provider.url}"}}')
    page.locator("#id_auth_type").select_option(label="API key")
    page.locator("#id_api_key_config").fill('{"in": "header", "name": "X-Api-Key", "prefix": ""}')
    shot(journey, "1-add-definition")
    save(page)
    expect(page.locator("body")).to_contain_text("was added successfully")
    definition = IntegrationDefinition.objects.get(name="Stub API")
    assert (definition.status, definition.organization, definition.auth_type) == ("DRAFT", org, "api_key")

    # Its page: the methods table and the Publish button.
    with page.expect_navigation():
        page.locator("#result_list").get_by_role("link", name="Stub API").click()
    expect(page.locator("#definition-methods")).to_contain_text("GET /things/{id}")
    expect(page.locator("#definition-status")).to_contain_text("Draft")
    with page.expect_navigation():
        page.locator("#definition-publish-button").click()
    expect(page.locator("body")).to_contain_text("Published Stub API 1.0.0.")
    expect(page.locator("#definition-status .badge")).to_have_text("Published")
    expect(page.locator("[name=_save]")).to_have_count(0)  # immutable now
    shot(journey, "2-definition-published")
    journey.goto("/admin/connectors/integrationdefinition/")
    expect(page.locator("#result_list")).to_contain_text("Published")
    shot(journey, "3-definitions-list")

    # An instance of it: pending authentication until its API key is set.
    journey.goto("/admin/connectors/integrationinstance/")
    click_add(page)
    select_organization(page)
    page.locator("#id_name").fill("Things prod")
    page.locator("#id_definition").select_option(label="Stub API 1.0.0")
    save(page)
    with page.expect_navigation():
        page.locator("#result_list").get_by_role("link", name="Things prod").click()
    expect(page.locator("#instance-status .badge")).to_have_text("Pending authentication")
    expect(page.locator("#instance-credentials-state")).to_have_text("no")
    shot(journey, "4-instance-pending")

    with page.expect_navigation():
        page.locator("#instance-credentials-button").click()
    api_key = page.get_by_label("API key")
    expect(api_key).to_have_value("")
    api_key.fill(API_KEY)
    shot(journey, "5-credentials")
    with page.expect_navigation():
        page.locator("#credentials-save-button").click()
    expect(page.locator("body")).to_contain_text("Stored the credentials of Things prod: it is now connected.")
    expect(page.locator("#instance-status .badge")).to_have_text("Connected")
    expect(page.locator("#instance-credentials-state")).to_contain_text("yes")

    with page.expect_navigation():
        page.locator("#instance-test-button").click()
    expect(page.locator("body")).to_contain_text(
        "Connection test of Things prod succeeded: The provider answered 200.")
    assert API_KEY not in page.content()
    shot(journey, "6-instance-connected")
    instance = IntegrationInstance.objects.get(name="Things prod")
    assert instance.status == "CONNECTED" and instance.credentials == {"apiKey": API_KEY}
    assert provider.api_calls("/")[-1][2]["X-Api-Key"] == API_KEY

    journey.goto("/admin/connectors/integrationinstance/")
    expect(page.locator("#result_list .badge").first).to_have_text("Connected")
    shot(journey, "7-instances-list")


@pytest.mark.journey("integration-errors")
def test_an_org_admin_sees_json_problems_on_their_fields_and_reads_the_execution_log(journey, org, org_admin,
                                                                                     provider, eager_executions):
    from connectors.integrations import definitions, execution, instances
    from plexica.tenancy.principal import Principal

    page = journey.page
    journey.login("ada")
    journey.goto("/admin/connectors/integrationdefinition/add/")
    select_organization(page)
    page.locator("#id_name").fill("Broken API")
    page.locator("#id_version").fill("1.0")
    page.locator("#id_methods").fill(METHODS.replace('"type": "object", "required": ["id"]', '"type": "objekt"'))
    with page.expect_navigation():
        page.locator("[type=submit][name=_save]").first.click()
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("body")).to_contain_text("A semantic version such as 1.0.0 is required.")
    expect(page.locator("body")).to_contain_text("/methods/0/paramSchema/type: ")
    shot(journey, "1-definition-errors")
    assert not IntegrationDefinition.objects.exists()

    # The execution log of an instance that ran a method against the stub provider.
    system = Principal.system(org)
    method = {"name": "getThing", "request": {"method": "GET", "path": "/public/things/{id}"},
              "paramSchema": {"type": "object", "properties": {"id": {"type": "string"}}}}
    made = definitions.create(system, name="Open API", version="1.0.0", default_config={"baseUrl": provider.url},
                              methods=[method])
    definitions.transition(system, made.pk, "PUBLISHED")
    instance = instances.create(system, definition_id=made.pk, name="Open things")
    execution.execute(Principal(organization=org, membership=org_admin, user=org_admin.user), instance.pk,
                               "getThing", {"id": "t1"})
    journey.goto("/admin/connectors/integrationexecution/")
    expect(page.locator("#result_list")).to_contain_text("getThing")
    expect(page.locator("#result_list .badge").first).to_have_text("Success")
    shot(journey, "2-executions")
    with page.expect_navigation():
        page.locator("#result_list").get_by_role("link", name="getThing").click()
    expect(page.locator("body")).to_contain_text("member ada")
    expect(page.locator("[name=_save]")).to_have_count(0)
    shot(journey, "3-execution")


@pytest.mark.journey("integration-oauth2")
def test_an_org_admin_connects_an_instance_with_oauth2_and_comes_back_connected(journey, org, org_admin,
                                                                                 provider):
    from connectors.integrations import definitions, instances
    from plexica.tenancy.principal import Principal
    from tests.integrations.provider import CLIENT_ID, CLIENT_SECRET

    system = Principal.system(org)
    made = definitions.create(
        system, name="Things OAuth", version="1.0.0", auth_type="oauth2",
        default_config={"baseUrl": provider.url},
        methods=[{"name": "getThing", "request": {"method": "GET", "path": "/things/{id}"},
                  "paramSchema": {"type": "object", "properties": {"id": {"type": "string"}}}}],
        oauth2_config={"authorizationUrl": f"{provider.url}/oauth/authorize",
                       "tokenUrl": f"{provider.url}/oauth/token", "scope": "things:read",
                       "grant": "authorization_code"},
        oauth_client_id=CLIENT_ID, oauth_client_secret=CLIENT_SECRET)
    definitions.transition(system, made.pk, "PUBLISHED")
    instance = instances.create(system, definition_id=made.pk, name="Things via OAuth")
    page = journey.page
    journey.login("ada")
    journey.goto(admin_url("connectors_integrationinstance_change", instance.pk))
    expect(page.locator("#instance-status .badge")).to_have_text("Pending authentication")
    expect(page.locator("#instance-redirect-uri")).to_contain_text(
        "/admin/connectors/integrationinstance/oauth2/callback/")
    shot(journey, "1-instance-pending")
    # The browser goes to the provider, which (consenting at once) sends it back to the admin's callback.
    page.locator("#instance-oauth2-button").click()
    expect(page.locator("body")).to_contain_text("Connected Things via OAuth through OAuth2.")
    back = admin_url("connectors_integrationinstance_change", instance.pk)
    expect(page).to_have_url(re.compile(re.escape(back) + "$"))
    expect(page.locator("#instance-status .badge")).to_have_text("Connected")
    expect(page.locator("#instance-token-expiry")).not_to_have_text("no token")
    shot(journey, "2-instance-connected")
    instance.refresh_from_db()
    assert instance.status == "CONNECTED" and provider.token_requests["authorization_code"] == 1
    assert instance.credentials["accessToken"] not in page.content()
