"""The integrations admin: definitions (the organization's own and the platform's, JSON fields judged by the
definition services with their pointers on the fields, lifecycle buttons, the methods table, delete refused
while in use), instances (added and changed through the services, credentials set and never shown, OAuth2
connected through the admin's callback against the real stub provider, test connection, disconnect) and the
read-only execution log; never another organization's rows, and flat query counts."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from django.test import Client
from django.utils import timezone

from connectors.integrations import definitions, execution, instances
from connectors.integrations.admin import MASK
from connectors.integrations.errors import IntegrationFailure
from connectors.integrations.models import IntegrationDefinition, IntegrationExecution, IntegrationInstance
from plexica.events.log import request_id_var
from plexica.events.models import Event
from plexica.tenancy.admin import admin_url
from plexica.tenancy.models import Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user
from tests.adminsite.querycount import assert_flat
from tests.integrations.conftest import api_definition
from tests.integrations.provider import API_KEY, BASIC, CLIENT_ID, CLIENT_SECRET, Answer

API_FIELDS = {"authType": "auth_type", "configSchema": "config_schema", "defaultConfig": "default_config",
              "oauth2Config": "oauth2_config", "apiKeyConfig": "api_key_config",
              "oauthClientId": "oauth_client_id", "oauthClientSecret": "oauth_client_secret",
              "resultCheck": "result_check"}
CALLBACK = "/admin/connectors/integrationinstance/oauth2/callback/"


def url(name, *args, query=None):
    return admin_url(f"connectors_integration{name}", *args, query=query)


def system(org):
    return Principal.system(org)


def platform_principal(superuser):
    return Principal(organization=None, user=superuser, is_superuser=True)


def make_definition(org, provider, *, status="PUBLISHED", principal=None, platform=False, **overrides):
    """A definition of the stub provider's API (authType none unless overridden), created and moved along its
    lifecycle by the services."""
    principal = principal or system(org)
    body = api_definition(provider, **overrides)
    fields = {API_FIELDS.get(key, key): value for key, value in body.items()}
    made = definitions.create(principal, platform=platform, **fields)
    for step in {"DRAFT": [], "PUBLISHED": ["PUBLISHED"], "DEPRECATED": ["PUBLISHED", "DEPRECATED"],
                 "ARCHIVED": ["PUBLISHED", "ARCHIVED"]}[status]:
        definitions.transition(principal, made.pk, step)
    return IntegrationDefinition.objects.get(pk=made.pk)


def api_key_definition(org, provider, **overrides):
    return make_definition(org, provider, name=overrides.pop("name", "Keyed API"), authType="api_key",
                           apiKeyConfig={"in": "header", "name": "X-Api-Key", "prefix": ""}, **overrides)


def oauth_definition(org, provider, *, grant="authorization_code", **overrides):
    config = {"tokenUrl": f"{provider.url}/oauth/token", "scope": "things:read", "grant": grant}
    if grant == "authorization_code":
        config["authorizationUrl"] = f"{provider.url}/oauth/authorize"
    return make_definition(org, provider, name=overrides.pop("name", "OAuth API"), authType="oauth2",
                           oauth2Config=config, oauthClientId=CLIENT_ID, oauthClientSecret=CLIENT_SECRET,
                           **overrides)


def make_instance(org, definition, name="Stub", config=None):
    return instances.create(system(org), definition_id=definition.pk, name=name, config=config)


def html_of(response):
    return response.content.decode()


def shown_messages(response):
    return [str(message) for message in response.context["messages"]] if response.context else []


def post_definition(provider, org=None, **changes):
    """The definition add/change form's fields, as the browser posts them (JSON as text)."""
    body = api_definition(provider)
    data = {"name": body["name"], "version": body["version"], "description": body["description"],
            "type": "http", "auth_type": "none", "methods": json.dumps(body["methods"]),
            "config_schema": json.dumps(body["configSchema"]), "default_config": json.dumps(body["defaultConfig"]),
            "oauth2_config": "", "api_key_config": "", "oauth_client_id": "", "oauth_client_secret": "",
            "result_check": "warn", "_save": "Save"}
    if org is not None:
        data["organization"] = org.pk
    data.update(changes)
    return data


@pytest.fixture
def logged_in(client, org_admin):
    client.force_login(org_admin.user)
    return client


@pytest.fixture
def outsider(client, other_org):
    """An admin of another organization, logged in."""
    user, _ = ensure_user("otto", password="correct-horse-battery", is_staff=True)
    add_member(other_org, user, Membership.Role.ADMIN)
    client.force_login(user)
    return client


def admin_of(org, membership):
    return Principal(organization=org, membership=membership, user=membership.user)


# Every page


@pytest.mark.usefixtures("eager_executions")
def test_every_integrations_page_renders_for_an_org_admin(logged_in, org, org_admin, provider):
    draft = make_definition(org, provider, status="DRAFT", name="Draft API")
    keyed = api_key_definition(org, provider)
    public = make_definition(org, provider, name="Public API")
    instance = make_instance(org, keyed, name="Keyed")
    open_one = make_instance(org, public, name="Open")
    run, _ = execution.execute(admin_of(org, org_admin), open_one.pk, "getThing", {"id": "t1"})
    pages = {
        url("definition_changelist"): ["Draft API", "Keyed API", "Public API"],
        url("definition_add"): ["Methods", "Config schema"],
        url("definition_change", draft.pk): ['id="definition-publish-button"', 'id="definition-methods"'],
        url("definition_change", keyed.pk): ['id="definition-deprecate-button"'],
        url("instance_changelist"): ["Keyed", "Open", "Pending authentication", "Connected"],
        url("instance_add"): ["Keyed API 1.0.0", "Public API 1.0.0"],
        url("instance_change", instance.pk): ['id="panel-connection"', 'id="instance-credentials-button"'],
        url("instance_credentials", instance.pk): ['name="apiKey"', 'type="password"'],
        url("instance_change", open_one.pk): ['id="instance-executions"', "getThing"],
        url("execution_changelist"): ["getThing", "Success"],
        url("execution_change", run.pk): ["getThing", "member ada"],
    }
    for page, expected in pages.items():
        response = logged_in.get(page)
        assert response.status_code == 200, (page, response.status_code)
        html = html_of(response)
        for text in expected:
            assert text in html, (page, text)


def test_org_admins_find_the_integrations_in_the_sidebar(logged_in):
    html = html_of(logged_in.get("/admin/"))
    for name in ("definition", "instance", "execution"):
        assert url(f"{name}_changelist") in html


# Definitions: the list


def test_the_definitions_list_shows_status_auth_owner_and_the_instances_in_view_only(
        logged_in, org, other_org, superuser, provider):
    own = api_key_definition(org, provider, name="Own API")
    make_definition(org, provider, status="DEPRECATED", name="Old API")
    offered = make_definition(org, provider, principal=platform_principal(superuser), platform=True,
                              name="Platform API")
    make_definition(org, provider, status="DRAFT", principal=platform_principal(superuser), platform=True,
                    name="Platform draft")
    make_definition(other_org, provider, name="Globex private API")
    make_instance(org, offered, name="Ours")
    for n in range(3):  # the other organization's instances of the platform definition are not counted here
        make_instance(other_org, offered, name=f"Theirs {n}")
    make_instance(org, own, name="Keyed")
    response = logged_in.get(url("definition_changelist"))
    html = html_of(response)
    assert "Own API" in html and "Old API" in html and "Platform API" in html
    assert "Platform draft" not in html and "Globex" not in html and "Theirs" not in html
    assert 'badge-green">Published' in html and 'badge-yellow">Deprecated' in html
    assert 'badge-blue">Platform' in html and "API key" in html
    rows = {row.name: row for row in response.context["cl"].result_list}
    assert rows["Platform API"].instance_total == 1 and rows["Own API"].instance_total == 1
    assert rows["Old API"].instance_total == 0
    platform_only = html_of(logged_in.get(url("definition_changelist", query={"owner": "platform"})))
    assert "Platform API" in platform_only and "Own API" not in platform_only
    keyed = html_of(logged_in.get(url("definition_changelist", query={"auth_type__exact": "api_key"})))
    assert "Own API" in keyed and "Old API" not in keyed
    found = html_of(logged_in.get(url("definition_changelist", query={"q": "Old"})))
    assert "Old API" in found and "Own API" not in found


# Definitions: adding and changing, judged by the services


def test_adding_a_definition_goes_through_the_service_as_a_draft(logged_in, org, provider):
    response = logged_in.post(url("definition_add"), post_definition(provider, org, oauth_client_secret="nope"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    made = IntegrationDefinition.objects.get()
    assert (made.status, made.organization, made.created_by.username) == ("DRAFT", org, "ada")
    # Cleaned by the service: idempotent follows the HTTP method.
    assert made.methods[0]["name"] == "getThing" and made.methods[0]["idempotent"] is True
    assert made.methods[1]["idempotent"] is False
    event = Event.objects.get(type="integration_definition.created")
    assert (event.subject_id, event.actor_type, event.actor_id) == (made.pk, "member", "ada")
    page = html_of(logged_in.get(url("definition_change", made.pk)))
    assert "nope" not in page  # a client secret is never sent back, not even to its author


def test_json_problems_land_on_their_fields_with_the_pointers(logged_in, org, provider):
    methods = api_definition(provider)["methods"]
    methods[0]["paramSchema"] = {"type": "objekt"}
    methods[1]["rateLimits"] = {"requestsPerMinute": 0}
    response = logged_in.post(url("definition_add"), post_definition(
        provider, org, version="one", methods=json.dumps(methods),
        config_schema=json.dumps({"$ref": "https://example.com/schema.json"}),
        default_config=json.dumps({"baseUrl": "ftp://nowhere"})))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["version"] == ["A semantic version such as 1.0.0 is required."]
    method_errors = " ".join(errors["methods"])
    assert "/methods/0/paramSchema/type: " in method_errors and "'objekt'" in method_errors
    assert "/methods/1/rateLimits/requestsPerMinute: Must be a whole number from 1 to 1000000." in method_errors
    assert any(e.startswith("/configSchema/$ref: ") and "never fetched" in e for e in errors["config_schema"])
    assert errors["default_config"] == ["/defaultConfig/baseUrl: Must be an absolute http:// or https:// URL."]
    html = html_of(response)
    assert "/methods/0/paramSchema/type" in html and "errornote" in html
    assert not IntegrationDefinition.objects.exists()


def test_auth_configs_broken_json_and_a_duplicate_version_are_named(logged_in, org, provider):
    refused = logged_in.post(url("definition_add"), post_definition(provider, org, auth_type="oauth2",
                                                                    api_key_config='{"in": "header"}'))
    errors = refused.context["adminform"].form.errors
    assert errors["oauth2_config"] == ["Required when authType is oauth2."]
    assert errors["api_key_config"] == ["Only for authType api_key."]
    broken = logged_in.post(url("definition_add"), post_definition(provider, org, methods="[{oops"))
    assert broken.context["adminform"].form.errors["methods"] == ["Enter a valid JSON."]
    assert "[{oops" in html_of(broken)  # the text comes back to be fixed
    make_definition(org, provider, status="DRAFT")
    duplicate = logged_in.post(url("definition_add"), post_definition(provider, org))
    form = duplicate.context["adminform"].form
    assert form.non_field_errors() and "already exists" in " ".join(form.non_field_errors())
    assert IntegrationDefinition.objects.count() == 1


def test_a_draft_is_changed_through_the_service_and_a_published_one_is_read_only(logged_in, org, provider):
    draft = make_definition(org, provider, status="DRAFT")
    response = logged_in.post(url("definition_change", draft.pk),
                              post_definition(provider, description="Now with a description", version="1.0.5"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    draft.refresh_from_db()
    assert (draft.description, draft.version) == ("Now with a description", "1.0.5")
    assert Event.objects.filter(type="integration_definition.updated", subject_id=draft.pk).count() == 1
    refused = logged_in.post(url("definition_change", draft.pk), post_definition(provider, methods='{"a": 1}'))
    assert refused.context["adminform"].form.errors["methods"] == ["A list of methods."]

    published = make_definition(org, provider, name="Live API")
    html = html_of(logged_in.get(url("definition_change", published.pk)))
    assert 'name="_save"' not in html and "immutable" in html and 'name="methods"' not in html
    # The methods, readable: name, HTTP method and path, timeout, rate limit, idempotent.
    assert "<code>GET /public/things/{id}</code>" in html and "<code>POST /public/things</code>" in html
    assert "3000 ms" in html and "600/min, bursts of 50" in html
    assert "<td>yes</td>" in html and "<td>no</td>" in html
    assert "&quot;paramSchema&quot;" in html  # the JSON too, read-only
    assert logged_in.post(url("definition_change", published.pk),
                          post_definition(provider, name="Renamed")).status_code == 403
    published.refresh_from_db()
    assert published.name == "Live API"


def test_the_lifecycle_buttons_offer_and_make_only_the_allowed_transitions(logged_in, org, provider):
    definition = make_definition(org, provider, status="DRAFT")
    page = url("definition_change", definition.pk)
    lifecycle = url("definition_lifecycle", definition.pk)

    def buttons():
        html = html_of(logged_in.get(page))
        return {verb for verb in ("publish", "deprecate", "archive")
                if f'id="definition-{verb}-button"' in html}

    assert buttons() == {"publish"}
    response = logged_in.post(lifecycle, {"to": "PUBLISHED"}, follow=True)
    assert f"Published {definition}." in shown_messages(response)
    definition.refresh_from_db()
    assert definition.status == "PUBLISHED" and definition.published_at is not None
    assert buttons() == {"deprecate", "archive"}
    again = logged_in.post(lifecycle, {"to": "PUBLISHED"}, follow=True)
    assert "A PUBLISHED definition cannot become PUBLISHED (only from DRAFT)." in shown_messages(again)
    logged_in.post(lifecycle, {"to": "DEPRECATED"})
    assert buttons() == {"archive"}
    logged_in.post(lifecycle, {"to": "ARCHIVED"})
    assert buttons() == set()
    definition.refresh_from_db()
    assert definition.status == "ARCHIVED"
    assert [e.type for e in Event.objects.filter(subject_id=definition.pk).order_by("position")] == [
        "integration_definition.created", "integration_definition.published", "integration_definition.deprecated",
        "integration_definition.archived"]
    assert logged_in.get(lifecycle).status_code == 302  # a GET changes nothing
    unknown = logged_in.post(lifecycle, {"to": "x"}, follow=True)
    assert "Pick one of the buttons of the definition page." in shown_messages(unknown)


def test_a_new_draft_version_copies_a_published_definition(logged_in, org, provider):
    published = oauth_definition(org, provider)
    response = logged_in.post(url("definition_lifecycle", published.pk), {"to": "new_version"}, follow=True)
    copy = IntegrationDefinition.objects.get(version="1.0.1")
    assert response.redirect_chain[-1][0] == url("definition_change", copy.pk)
    assert (copy.status, copy.name, copy.organization) == ("DRAFT", "OAuth API", org)
    assert copy.methods == published.methods and copy.oauth2_config == published.oauth2_config
    assert copy.oauth_client_secret == CLIENT_SECRET and CLIENT_SECRET not in html_of(response)
    again = logged_in.post(url("definition_lifecycle", published.pk), {"to": "new_version"}, follow=True)
    assert any("already exists" in message for message in shown_messages(again))


def test_deleting_a_definition_in_use_is_refused_naming_its_instances(logged_in, org, provider):
    definition = make_definition(org, provider)
    instance = make_instance(org, definition, name="Still here")
    delete = url("definition_delete", definition.pk)
    assert logged_in.get(delete).status_code == 200
    response = logged_in.post(delete, {"post": "yes"}, follow=True)
    assert response.redirect_chain[-1][0] == url("definition_change", definition.pk)
    assert f"The definition is in use by {instance.pk} (Still here): delete or move those instances first." in \
        shown_messages(response)
    assert IntegrationDefinition.objects.filter(pk=definition.pk).exists()
    unused = make_definition(org, provider, status="DRAFT", version="2.0.0")
    assert logged_in.post(url("definition_delete", unused.pk), {"post": "yes"}).status_code == 302
    assert not IntegrationDefinition.objects.filter(pk=unused.pk).exists()
    assert Event.objects.filter(type="integration_definition.deleted", subject_id=unused.pk).exists()


def test_platform_definitions_are_read_only_for_org_admins_and_changed_by_superusers(
        client, logged_in, org, superuser, provider):
    by_root = platform_principal(superuser)
    offered = make_definition(org, provider, principal=by_root, platform=True, name="Platform API")
    draft = make_definition(org, provider, principal=by_root, platform=True, status="DRAFT",
                            name="Platform draft")
    html = html_of(logged_in.get(url("definition_change", offered.pk)))
    assert "Platform API" in html and "read-only here" in html and 'name="_save"' not in html
    assert 'id="definition-lifecycle-form"' not in html and 'id="definition-archive-button"' not in html
    assert 'id="definition-new-version-button"' not in html
    assert logged_in.post(url("definition_lifecycle", offered.pk), {"to": "ARCHIVED"}).status_code == 403
    assert logged_in.post(url("definition_delete", offered.pk), {"post": "yes"}).status_code == 403
    assert logged_in.get(url("definition_change", draft.pk)).status_code == 404  # drafts are the superusers'
    offered.refresh_from_db()
    assert offered.status == "PUBLISHED"

    client.force_login(superuser)
    added = client.post(url("definition_add"), post_definition(provider, name="Made by root", version="3.0.0"))
    assert added.status_code == 302, added.context["adminform"].form.errors
    made = IntegrationDefinition.objects.get(name="Made by root")
    assert made.organization is None and made.status == "DRAFT"
    assert 'id="definition-publish-button"' in html_of(client.get(url("definition_change", draft.pk)))
    client.post(url("definition_lifecycle", draft.pk), {"to": "PUBLISHED"})
    draft.refresh_from_db()
    assert draft.status == "PUBLISHED"


def test_an_org_admin_cannot_make_a_platform_definition(logged_in, org, provider):
    response = logged_in.post(url("definition_add"), post_definition(provider, organization=""))
    assert "organization" in response.context["adminform"].form.errors
    assert not IntegrationDefinition.objects.exists()


# Instances


def test_the_instance_form_offers_published_definitions_of_the_organization_and_the_platform(
        logged_in, org, other_org, superuser, provider):
    own = make_definition(org, provider, name="Own API")
    make_definition(org, provider, status="DRAFT", name="Own draft")
    make_definition(org, provider, status="DEPRECATED", name="Own old")
    platform = make_definition(org, provider, principal=platform_principal(superuser), platform=True,
                               name="Platform API")
    theirs = make_definition(other_org, provider, name="Globex API")
    form = logged_in.get(url("instance_add")).context["adminform"].form
    assert set(form.fields["definition"].queryset) == {own, platform}
    response = logged_in.post(url("instance_add"), {"organization": org.pk, "name": "Borrowed",
                                                    "definition": theirs.pk, "config": ""})
    assert "definition" in response.context["adminform"].form.errors
    assert not IntegrationInstance.objects.exists()


def test_adding_and_changing_an_instance_goes_through_the_services(logged_in, org, provider):
    definition = api_key_definition(org, provider)
    response = logged_in.post(url("instance_add"), {"organization": org.pk, "name": "CRM",
                                                    "definition": definition.pk, "config": '{"apiVersion": "2"}',
                                                    "_save": "Save"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    instance = IntegrationInstance.objects.get()
    assert (instance.name, instance.status) == ("CRM", "PENDING_AUTHENTICATION")
    assert instance.config == {"apiVersion": "2"}
    assert instance.created_by.username == "ada"
    assert Event.objects.filter(type="integration_instance.created", subject_id=instance.pk).exists()
    html = html_of(logged_in.get(url("instance_change", instance.pk)))
    assert 'badge-blue">Pending authentication' in html and 'id="instance-credentials-state">no' in html

    page = url("instance_change", instance.pk)
    refused = logged_in.post(page, {"name": "CRM", "definition": definition.pk, "config": "[1, 2]"})
    assert refused.context["adminform"].form.errors["config"] == ["An object."]
    broken = logged_in.post(page, {"name": "CRM", "definition": definition.pk, "config": "{nope"})
    assert broken.context["adminform"].form.errors["config"] == ["Enter a valid JSON."]
    make_instance(org, definition, name="Taken")
    taken = logged_in.post(page, {"name": "Taken", "definition": definition.pk, "config": "{}"})
    assert taken.status_code == 200 and taken.context["adminform"].form.errors
    renamed = logged_in.post(page, {"name": "CRM prod", "definition": definition.pk, "config": "{}",
                                    "_save": "Save"})
    assert renamed.status_code == 302
    instance.refresh_from_db()
    assert (instance.name, instance.config) == ("CRM prod", {})


def test_the_instance_page_shows_who_of_the_members_may_execute_it(logged_in, org, member, provider):
    from connectors.sharing import INTEGRATION_INSTANCE
    from plexica.access import services as access

    instance = make_instance(org, make_definition(org, provider))
    page = url("instance_change", instance.pk)
    html = html_of(logged_in.get(page))
    assert 'id="panel-access"' in html and 'id="access-none"' in html
    assert f"resource_type={INTEGRATION_INSTANCE}&amp;resource_id={instance.pk}" in html  # add one, prefilled
    access.grant(system(org), INTEGRATION_INSTANCE, instance.pk, access.EDITOR, membership_id=member.pk)
    html = html_of(logged_in.get(page))
    assert 'id="access-effective"' in html and "member mia" in html and "Editor" in html


def test_an_instance_missing_config_shows_its_status_reason(logged_in, org, provider):
    definition = make_definition(org, provider, defaultConfig={})
    instance = make_instance(org, definition, name="Unconfigured")
    assert instance.status == "PENDING_CONFIGURATION"
    html = html_of(logged_in.get(url("instance_change", instance.pk)))
    assert "Pending configuration" in html and "config: &#x27;baseUrl&#x27; is a required property" in html
    listed = html_of(logged_in.get(url("instance_changelist")))
    assert "&#x27;baseUrl&#x27; is a required property" in listed
    logged_in.post(url("instance_change", instance.pk), {"name": "Unconfigured", "definition": definition.pk,
                                                         "config": json.dumps({"baseUrl": provider.url})})
    instance.refresh_from_db()
    assert instance.status == "CONNECTED" and instance.status_reason == ""


def test_the_config_client_secret_is_masked_and_kept(logged_in, org, provider):
    definition = oauth_definition(org, provider)
    instance = make_instance(org, definition, config={"clientId": "our-app", "clientSecret": "org-own-secret"})
    response = logged_in.get(url("instance_change", instance.pk))
    html = html_of(response)
    assert "org-own-secret" not in html and MASK in html
    shown = response.context["adminform"].form["config"].value()
    logged_in.post(url("instance_change", instance.pk), {"name": "Renamed", "definition": definition.pk,
                                                         "config": shown})
    instance.refresh_from_db()
    assert instance.name == "Renamed"
    assert instance.config == {"clientId": "our-app", "clientSecret": "org-own-secret"}


def test_the_credentials_form_stores_an_api_key_that_no_page_shows(logged_in, org, provider):
    instance = make_instance(org, api_key_definition(org, provider), name="Keyed")
    page = url("instance_credentials", instance.pk)
    form_html = html_of(logged_in.get(page))
    field = form_html.split('name="apiKey"')[1].split(">")[0]
    assert 'type="password"' in form_html and "value=" not in field
    refused = logged_in.post(page, {"apiKey": "bad\x07key"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["apiKey"] == ["A non-empty printable string is required."]
    assert "bad\x07key" not in html_of(refused)
    assert "value=" not in html_of(refused).split('name="apiKey"')[1].split(">")[0]
    instance.refresh_from_db()
    assert instance.credentials is None
    response = logged_in.post(page, {"apiKey": API_KEY}, follow=True)
    assert "Stored the credentials of Keyed: it is now connected." in shown_messages(response)
    instance.refresh_from_db()
    assert instance.credentials == {"apiKey": API_KEY} and instance.status == "CONNECTED"
    html = html_of(response)
    assert 'badge-green">Connected' in html and 'id="instance-credentials-state">yes' in html
    assert "Replace credentials" in html
    for shown in (html, html_of(logged_in.get(page)), html_of(logged_in.get(url("instance_changelist")))):
        assert API_KEY not in shown


def test_the_credentials_form_of_a_basic_instance_takes_a_username_and_password(logged_in, org, provider):
    basic = make_definition(org, provider, name="Basic API", authType="basic")
    instance = make_instance(org, basic, name="Basic")
    page = url("instance_credentials", instance.pk)
    partial = logged_in.post(page, {"username": BASIC[0]})
    assert "password" in partial.context["form"].errors and BASIC[0] not in html_of(partial)
    logged_in.post(page, {"username": BASIC[0], "password": BASIC[1]})
    instance.refresh_from_db()
    assert instance.credentials == {"username": BASIC[0], "password": BASIC[1]} and instance.status == "CONNECTED"
    for shown in (html_of(logged_in.get(page)), html_of(logged_in.get(url("instance_change", instance.pk)))):
        assert BASIC[0] not in shown and BASIC[1] not in shown


def test_test_connection_reports_success_and_refusal(logged_in, org, provider):
    instance = make_instance(org, api_key_definition(org, provider), name="Keyed")
    action = url("instance_action", instance.pk)
    instances.set_credentials(system(org), instance.pk, {"apiKey": API_KEY})
    response = logged_in.post(action, {"action": "test"}, follow=True)
    assert "Connection test of Keyed succeeded: The provider answered 200." in shown_messages(response)
    assert provider.api_calls("/")[-1][2]["X-Api-Key"] == API_KEY
    instances.set_credentials(system(org), instance.pk, {"apiKey": "wrong-key"})
    response = logged_in.post(action, {"action": "test"}, follow=True)
    refused = "Connection test of Keyed failed: The provider refused the credentials (401)."
    assert refused in shown_messages(response)
    assert "wrong-key" not in html_of(response)


def follow_authorization(response):
    """What the browser does with the admin's redirect: the provider's consent, then back to the callback."""
    assert response.status_code == 302
    answer = urllib3.request("GET", response["Location"], redirect=False)
    assert answer.status == 302, answer.data
    back = urlsplit(answer.headers["Location"])
    assert (back.scheme, back.netloc, back.path) == ("http", "testserver", CALLBACK)
    return f"{back.path}?{back.query}"


def test_connecting_with_oauth2_through_the_admin_callback(logged_in, org, provider):
    instance = make_instance(org, oauth_definition(org, provider), name="Stub OAuth")
    page = html_of(logged_in.get(url("instance_change", instance.pk)))
    assert 'id="instance-oauth2-button"' in page and f"http://testserver{CALLBACK}" in page
    started = logged_in.post(url("instance_action", instance.pk), {"action": "oauth2"})
    query = parse_qs(urlsplit(started["Location"]).query)
    assert started["Location"].startswith(f"{provider.url}/oauth/authorize?")
    assert query["redirect_uri"] == [f"http://testserver{CALLBACK}"]
    assert query["code_challenge_method"] == ["S256"]
    callback = follow_authorization(started)
    response = logged_in.get(callback, follow=True)
    assert response.redirect_chain[-1][0] == url("instance_change", instance.pk)
    assert "Connected Stub OAuth through OAuth2." in shown_messages(response)
    instance.refresh_from_db()
    assert instance.status == "CONNECTED" and provider.token_requests["authorization_code"] == 1
    html = html_of(response)
    assert 'badge-green">Connected' in html and 'id="instance-disconnect-button"' in html
    assert instance.credentials["accessToken"] not in html and instance.credentials["refreshToken"] not in html
    assert timezone.localtime(instance.token_expires_at).strftime("%Y-%m-%d %H:%M") in html
    replay = logged_in.get(callback, follow=True)
    assert any("unknown, already used" in message for message in shown_messages(replay))
    assert provider.token_requests["authorization_code"] == 1


def test_an_oauth2_callback_from_another_session_or_a_refusal_connects_nothing(logged_in, org, other_org,
                                                                               provider):
    instance = make_instance(org, oauth_definition(org, provider), name="Stub OAuth")
    callback = follow_authorization(logged_in.post(url("instance_action", instance.pk), {"action": "oauth2"}))
    for user, organization in (("otto", other_org), ("ann", org)):  # another organization's admin, or ours
        person, _ = ensure_user(user, is_staff=True)
        add_member(organization, person, Membership.Role.ADMIN)
        browser = Client()
        browser.force_login(person)
        foreign = browser.get(callback, follow=True)
        assert any("another browser session" in message for message in shown_messages(foreign)), user
    assert provider.token_requests["authorization_code"] == 0
    # Back in the session that started it the state is still good, but the provider said no.
    state = parse_qs(urlsplit(callback).query)["state"][0]
    refused = logged_in.get(f"{CALLBACK}?error=access_denied&error_description=User+said+no&state={state}",
                            follow=True)
    assert "The provider did not authorize Stub OAuth: access_denied (User said no)." in shown_messages(refused)
    instance.refresh_from_db()
    assert instance.status == "PENDING_AUTHENTICATION" and instance.credentials is None


def test_a_client_credentials_instance_connects_with_one_button(logged_in, org, provider):
    instance = make_instance(org, oauth_definition(org, provider, grant="client_credentials"), name="Machine")
    html = html_of(logged_in.get(url("instance_change", instance.pk)))
    assert 'id="instance-connect-button"' in html and 'id="instance-oauth2-button"' not in html
    response = logged_in.post(url("instance_action", instance.pk), {"action": "connect"}, follow=True)
    assert "Connected Machine (the provider issued a token): it is now connected." in shown_messages(response)
    instance.refresh_from_db()
    assert instance.status == "CONNECTED" and provider.token_requests["client_credentials"] == 1
    refused = logged_in.post(url("instance_credentials", instance.pk), follow=True)
    assert any("takes no credentials typed here" in message for message in shown_messages(refused))


def test_disconnect_drops_the_credentials(logged_in, org, provider):
    instance = make_instance(org, api_key_definition(org, provider), name="Keyed")
    instances.set_credentials(system(org), instance.pk, {"apiKey": API_KEY})
    response = logged_in.post(url("instance_action", instance.pk), {"action": "disconnect"}, follow=True)
    assert "Disconnected Keyed: its credentials were dropped." in shown_messages(response)
    instance.refresh_from_db()
    assert instance.status == "DISCONNECTED" and instance.credentials is None
    html = html_of(response)
    assert 'badge-grey">Disconnected' in html and "Disconnected by an administrator." in html
    assert 'id="instance-credentials-state">no' in html and 'id="instance-disconnect-button"' not in html
    unknown = logged_in.post(url("instance_action", instance.pk), {"action": "explode"}, follow=True)
    assert "Pick one of the buttons of the instance page." in shown_messages(unknown)


def test_an_instance_without_credentials_disconnects_and_reconnects(logged_in, org, provider):
    instance = make_instance(org, make_definition(org, provider), name="Open")
    instance.refresh_from_db()
    assert instance.status == "CONNECTED"
    html = html_of(logged_in.get(url("instance_change", instance.pk)))
    assert 'id="instance-disconnect-button"' in html and 'id="instance-connect-button"' not in html
    response = logged_in.post(url("instance_action", instance.pk), {"action": "disconnect"}, follow=True)
    assert 'badge-grey">Disconnected' in html_of(response)
    html = html_of(response)
    assert 'id="instance-connect-button"' in html and 'id="instance-disconnect-button"' not in html
    response = logged_in.post(url("instance_action", instance.pk), {"action": "connect"}, follow=True)
    assert "Connected Open (it needs no credentials): it is now connected." in shown_messages(response)
    instance.refresh_from_db()
    assert instance.status == "CONNECTED"


def test_deleting_an_instance_goes_through_the_service(logged_in, org, provider):
    instance = make_instance(org, make_definition(org, provider), name="Doomed")
    confirmation = html_of(logged_in.get(url("instance_delete", instance.pk)))
    assert "Doomed" in confirmation
    assert logged_in.post(url("instance_delete", instance.pk), {"post": "yes"}).status_code == 302
    assert not IntegrationInstance.objects.exists()
    assert Event.objects.filter(type="integration_instance.deleted", subject_id=instance.pk).exists()


# Executions


@pytest.fixture
def runs(org, org_admin, provider, eager_executions):
    """A succeeded and a failed execution of an instance of the stub's public API."""
    instance = make_instance(org, make_definition(org, provider), name="Open")
    token = request_id_var.set("req-admin-42")
    try:
        ok, _ = execution.execute(admin_of(org, org_admin), instance.pk, "getThing", {"id": "t1"})
        provider.script("/public/things", Answer(500, body={"error": "boom"}))
        with pytest.raises(IntegrationFailure):
            execution.execute(admin_of(org, org_admin), instance.pk, "createThing", {"thing": {"title": "x"}})
    finally:
        request_id_var.reset(token)
    failed = IntegrationExecution.objects.get(method="createThing")
    return ok, failed


def test_the_execution_log_lists_outcomes_and_shows_the_details(logged_in, runs):
    _ok, failed = runs
    html = html_of(logged_in.get(url("execution_changelist")))
    assert "getThing" in html and "createThing" in html
    assert 'badge-green">Success' in html and 'badge-red">INTEGRATION_ERROR' in html
    only_failed = html_of(logged_in.get(url("execution_changelist", query={"outcome": "INTEGRATION_ERROR"})))
    assert "createThing" in only_failed and "getThing" not in only_failed
    assert "getThing" in html_of(logged_in.get(url("execution_changelist", query={"q": "getThing"})))
    assert "createThing" not in html_of(logged_in.get(url("execution_changelist", query={"q": "getThing"})))
    detail = html_of(logged_in.get(url("execution_change", failed.pk)))
    assert "The provider answered 500 to createThing." in detail and "&quot;boom&quot;" in detail
    assert "req-admin-42" in detail and "member ada" in detail and 'name="_save"' not in detail
    assert "&quot;statusCode&quot;: 500" in detail


def test_executions_are_read_only(logged_in, runs):
    ok, _ = runs
    assert logged_in.get(url("execution_add")).status_code == 403
    assert logged_in.post(url("execution_change", ok.pk), {"method": "other"}).status_code == 403
    assert logged_in.post(url("execution_delete", ok.pk), {"post": "yes"}).status_code == 403
    assert "delete_selected" not in html_of(logged_in.get(url("execution_changelist")))
    ok.refresh_from_db()
    assert ok.method == "getThing"


# Who may


@pytest.mark.usefixtures("eager_executions")
def test_another_organizations_admin_never_reaches_our_rows(outsider, org, other_org, org_admin, provider):
    definition = api_key_definition(org, provider, name="Acme secret API")
    draft = make_definition(org, provider, status="DRAFT", name="Acme draft", version="9.0.0")
    instance = make_instance(org, definition, name="Acme instance")
    instances.set_credentials(system(org), instance.pk, {"apiKey": API_KEY})
    open_one = make_instance(org, make_definition(org, provider, name="Acme open"), name="Acme open one")
    run, _ = execution.execute(admin_of(org, org_admin), open_one.pk, "getThing", {"id": "t1"})
    theirs = make_instance(other_org, make_definition(other_org, provider, name="Globex API"), name="Globex one")

    for page in (url("definition_changelist"), url("instance_changelist"), url("execution_changelist"),
                 url("definition_changelist", query={"q": "Acme"}),
                 url("instance_changelist", query={"definition__id__exact": definition.pk}),
                 url("execution_changelist", query={"instance__id__exact": open_one.pk}),
                 url("instance_add"), url("execution_changelist", query={"outcome": "SUCCESS"})):
        response = outsider.get(page)
        html = html_of(response)
        for ours in ("Acme secret API", "Acme draft", "Acme instance", "Acme open", run.pk):
            assert ours not in html, (page, ours)
        if "cl" in response.context:  # the filters' own ids come back in the page's links: look at the rows
            rows = response.context["cl"].result_list
            assert all(row.organization_id == other_org.pk for row in rows), page
    assert "Globex one" in html_of(outsider.get(url("instance_changelist")))
    for page in (url("definition_change", definition.pk), url("definition_change", draft.pk),
                 url("definition_delete", definition.pk), url("definition_history", definition.pk),
                 url("instance_change", instance.pk), url("instance_delete", instance.pk),
                 url("instance_credentials", instance.pk), url("execution_change", run.pk)):
        assert outsider.get(page).status_code == 404, page
    assert outsider.post(url("definition_lifecycle", draft.pk), {"to": "PUBLISHED"}).status_code == 404
    assert outsider.post(url("definition_delete", draft.pk), {"post": "yes"}).status_code == 404
    assert outsider.post(url("definition_change", draft.pk), post_definition(provider)).status_code == 404
    for action in ("disconnect", "test", "oauth2"):
        assert outsider.post(url("instance_action", instance.pk), {"action": action}).status_code == 404
    assert outsider.post(url("instance_credentials", instance.pk), {"apiKey": "stolen"}).status_code == 404
    assert outsider.post(url("instance_change", instance.pk), {"name": "Pwned", "definition": definition.pk,
                                                               "config": "{}"}).status_code == 404
    # Their own instance cannot be moved to our definition, nor a new one made of it.
    moved = outsider.post(url("instance_change", theirs.pk), {"name": "Globex one", "definition": definition.pk,
                                                              "config": "{}"})
    assert "definition" in moved.context["adminform"].form.errors
    made = outsider.post(url("instance_add"), {"organization": other_org.pk, "name": "Mine now",
                                               "definition": definition.pk, "config": "{}"})
    assert "definition" in made.context["adminform"].form.errors
    # Nor can they put a row in our organization.
    smuggled = outsider.post(url("instance_add"), {"organization": org.pk, "name": "Smuggled",
                                                   "definition": theirs.definition_id, "config": "{}"})
    assert "organization" in smuggled.context["adminform"].form.errors
    planted = outsider.post(url("definition_add"), post_definition(provider, org, name="Planted"))
    assert "organization" in planted.context["adminform"].form.errors
    assert not IntegrationDefinition.objects.filter(name="Planted").exists()
    instance.refresh_from_db()
    draft.refresh_from_db()
    assert (instance.name, instance.status) == ("Acme instance", "CONNECTED")
    assert instance.credentials == {"apiKey": API_KEY}
    assert draft.status == "DRAFT" and not IntegrationInstance.objects.filter(name__in=("Mine now", "Smuggled"))


def test_a_member_without_admin_rights_cannot_see_or_change_integrations(client, org, provider):
    definition = make_definition(org, provider, status="DRAFT")
    instance = make_instance(org, api_key_definition(org, provider), name="Keyed")
    staff_member, _ = ensure_user("sam", is_staff=True)
    add_member(org, staff_member, Membership.Role.MEMBER)
    client.force_login(staff_member)
    for page in (url("definition_changelist"), url("instance_changelist"), url("execution_changelist"),
                 url("definition_add"), url("instance_add")):
        assert client.get(page).status_code == 403, page
    assert client.post(url("definition_lifecycle", definition.pk), {"to": "PUBLISHED"}).status_code in (403, 404)
    assert client.post(url("instance_credentials", instance.pk), {"apiKey": "x"}).status_code in (403, 404)
    assert client.post(url("instance_action", instance.pk), {"action": "disconnect"}).status_code in (403, 404)
    assert client.post(url("definition_add"), post_definition(provider, org)).status_code == 403
    definition.refresh_from_db()
    instance.refresh_from_db()
    assert definition.status == "DRAFT" and instance.credentials is None
    assert IntegrationDefinition.objects.count() == 2


def test_a_superuser_sees_every_organizations_integrations(client, superuser, org, other_org, provider):
    make_instance(org, make_definition(org, provider, name="Acme API"), name="Acme one")
    make_instance(other_org, make_definition(other_org, provider, name="Globex API"), name="Globex one")
    client.force_login(superuser)
    listed = html_of(client.get(url("instance_changelist")))
    assert "Acme one" in listed and "Globex one" in listed
    definitions_html = html_of(client.get(url("definition_changelist")))
    assert "Acme API" in definitions_html and "Globex API" in definitions_html


# Query counts


def grow_integrations(org, other_org, n=150, instance=None):
    """n more definitions of each owner (the organization's, the platform's, another organization's), an
    instance of each with an execution, and n executions of `instance`."""
    now = timezone.now()
    methods = [{"name": "getThing", "request": {"method": "GET", "path": "/x"}, "timeoutMs": 1000,
                "rateLimits": None, "idempotent": True}]
    tag = IntegrationDefinition.objects.count()
    made = IntegrationDefinition.objects.bulk_create(
        IntegrationDefinition(organization=owner, name=f"Bulk {tag}-{i}-{k}", version="1.0.0",
                              methods=methods, status="PUBLISHED", auth_type=("none", "api_key", "basic")[i % 3])
        for i in range(n) for k, owner in enumerate((org, None, other_org)))
    rows = IntegrationInstance.objects.bulk_create(
        IntegrationInstance(organization=definition.organization or org, definition=definition,
                            name=f"{definition.name} instance", status=("CONNECTED", "AUTH_ERROR")[i % 2],
                            status_reason="" if i % 2 == 0 else "refused", last_used_at=now,
                            credentials={"apiKey": "k"} if i % 2 else None)
        for i, definition in enumerate(made))
    IntegrationExecution.objects.bulk_create(
        IntegrationExecution(organization=row.organization, instance=row, method="getThing",
                             status="SUCCEEDED", outcome=("SUCCESS", "INTEGRATION_ERROR", "")[i % 3],
                             http_status=200, attempts=1, duration_ms=12, deadline=now + timedelta(seconds=5))
        for i, row in enumerate([*rows, *([instance] * n if instance else [])]))


@pytest.mark.usefixtures("eager_executions")
def test_the_integrations_lists_cost_the_same_queries_with_many_rows(logged_in, org, other_org, org_admin,
                                                                     provider):
    instance = make_instance(org, make_definition(org, provider), name="Open")
    execution.execute(admin_of(org, org_admin), instance.pk, "getThing", {"id": "t1"})
    for page in (url("definition_changelist"), url("instance_changelist"), url("execution_changelist"),
                 url("instance_change", instance.pk)):
        assert_flat(logged_in, page, lambda: grow_integrations(org, other_org, instance=instance))
