"""Integration methods as tools (connectors/integrations/tools.py): who gets which, what each says about itself,
and calls that run through the integration executor against the real stub provider on 127.0.0.1 (Celery eager,
as the integration API tests run it)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connectors.integrations import definitions, instances, tools
from connectors.integrations.api.views import SCOPES
from connectors.integrations.models import IntegrationExecution
from connectors.sharing import INTEGRATION_INSTANCE
from plexica.access import services as access
from plexica.events.log import request_id_var
from plexica.tenancy.models import ApiKey, Membership, Team, TeamMembership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user, issue_api_key
from plexica.tools import InvalidArguments, UnknownTool, call_tool, list_tools
from tests.integrations.conftest import api_definition, eager_executions, provider  # noqa: F401  fixtures
from tests.integrations.provider import Answer
from tests.principals import acting_as

pytestmark = pytest.mark.usefixtures("eager_executions")


def system(org):
    return Principal.system(org)


def make_definition(org, provider, *, name="Stub API", version="1.0.0", methods=None, **fields):
    body = api_definition(provider)
    definition = definitions.create(
        system(org), name=name, version=version, description=body["description"],
        methods=body["methods"] if methods is None else methods, config_schema=body["configSchema"],
        default_config=body["defaultConfig"], **fields)
    definitions.transition(system(org), definition.pk, "PUBLISHED")
    return definition


def make_instance(org, definition, name="Stub"):
    return instances.create(system(org), definition_id=definition.pk, name=name)


def integration_tools(principal):
    """The integration tools list_tools gives `principal` (other apps' tools left out), by name."""
    return {tool.name: tool for tool in list_tools(principal) if tool.source == "integration"}


def member_of(org, username, role=None, instance=None):
    """A member's session principal; with `role`, granted that role on `instance` directly."""
    user, _ = ensure_user(username)
    membership = add_member(org, user, Membership.Role.MEMBER)[0]
    if role:
        access.grant(system(org), INTEGRATION_INSTANCE, instance.pk, role, membership_id=membership.pk)
    return Principal(organization=org, membership=membership, user=user)


def key_principal(key):
    return Principal(organization=key.organization, api_key=key, membership=key.membership,
                     user=key.membership.user if key.membership_id else None)


# What a tool says about itself


def test_each_method_of_a_connected_instance_is_a_tool_that_describes_itself(org, provider):
    definition = make_definition(org, provider)
    instance = make_instance(org, definition)
    found = integration_tools(acting_as("org key", org))
    assert sorted(found) == ["stub.createThing", "stub.getThing"]
    get, create = found["stub.getThing"], found["stub.createThing"]
    method = definition.method("getThing")
    assert get.input_schema == method["paramSchema"]
    assert get.title == "Stub: getThing"
    assert get.description == (
        f'Read a thing. Method getThing of the integration instance "Stub" ({instance.pk}), provider Stub API '
        "1.0.0. Rate limit: 600 calls per minute, bursts of 50. Times out after 3 s.")
    assert create.description.startswith("Create a thing. Method createThing of the integration instance")
    assert (get.read_only, get.idempotent, get.open_world) == (True, True, True)
    assert (create.read_only, create.idempotent, create.open_world) == (False, False, True)
    assert get.meta == {"instanceId": instance.pk, "method": "getThing", "definition": definition.pk}
    assert get.scopes == ("api:write",) == tuple(SCOPES["POST"])  # the HTTP execute operation's
    assert get.output_schema is None  # resultCheck warn: a mismatching result is still answered


def test_the_result_schema_is_the_output_schema_where_the_definition_enforces_it(org, provider):
    methods = api_definition(provider)["methods"]
    methods[1]["resultSchema"] = {"type": "array"}
    make_instance(org, make_definition(org, provider, methods=methods, result_check="error"))
    found = integration_tools(acting_as("org key", org))
    assert found["stub.getThing"].output_schema == {"type": "object", "required": ["path"]}
    assert found["stub.createThing"].output_schema is None  # not an object schema: MCP's outputSchema is one


def test_param_schemas_without_an_object_type_are_made_one_or_the_method_is_left_out(org, provider, caplog):
    request = {"method": "GET", "path": "/public/things"}
    methods = [
        {"name": "untyped", "paramSchema": {"properties": {"q": {"type": "string"}}, "required": ["q"]},
         "request": request},
        {"name": "anything", "request": request},
        {"name": "nullable", "paramSchema": {"type": ["object", "null"]}, "request": request},
        {"name": "scalar", "paramSchema": {"type": "string"}, "request": request},
        {"name": "never", "paramSchema": False, "request": request},
    ]
    make_instance(org, make_definition(org, provider, methods=methods))
    with caplog.at_level("INFO", logger="plexica.integrations"):
        found = integration_tools(acting_as("org key", org))
    assert sorted(found) == ["stub.anything", "stub.nullable", "stub.untyped"]
    assert found["stub.untyped"].input_schema == {"type": "object", "properties": {"q": {"type": "string"}},
                                                  "required": ["q"]}
    assert found["stub.anything"].input_schema == {"type": "object"}
    assert found["stub.nullable"].input_schema == {"type": "object"}
    assert "scalar of Stub API 1.0.0 is not offered as a tool: its paramSchema is of type 'string'" in caplog.text
    assert "never of Stub API 1.0.0 is not offered as a tool: its paramSchema accepts no parameters" in caplog.text
    with pytest.raises(InvalidArguments) as refused:
        call_tool(acting_as("org key", org), "stub.untyped", {})
    assert refused.value.problems == [{"pointer": "", "message": "'q' is a required property"}]


def test_names_are_unique_in_the_organization_and_creating_an_instance_renames_no_other(org, provider):
    definition = make_definition(org, provider)
    first = make_instance(org, definition, name="Stub API")
    org_key = acting_as("org key", org)
    assert sorted(integration_tools(org_key)) == ["stub-api.createThing", "stub-api.getThing"]
    second = make_instance(org, definition, name="stub api")  # the same slug
    third = make_instance(org, definition, name="Ünïcode ☃")  # a slug of its own: "n-code"
    unnamed = make_instance(org, definition, name="☃☃")  # nothing to slug: its id
    names = sorted(integration_tools(org_key))
    assert names == sorted([
        "stub-api.createThing", "stub-api.getThing",
        f"stub-api-{second.pk}.createThing", f"stub-api-{second.pk}.getThing",
        "n-code.createThing", "n-code.getThing",
        f"{unnamed.pk}.createThing", f"{unnamed.pk}.getThing",
    ])
    assert integration_tools(org_key)["stub-api.getThing"].meta["instanceId"] == first.pk
    assert third.pk in integration_tools(org_key)["n-code.getThing"].description
    assert sorted(integration_tools(org_key)) == names  # stable from one listing to the next


def test_a_name_past_128_characters_uses_the_instance_id(org, provider):
    long_name = "m" + "x" * 99
    methods = [{"name": long_name, "request": {"method": "GET", "path": "/public/things"}}]
    instance = make_instance(org, make_definition(org, provider, methods=methods), name="n" * 60)
    assert list(integration_tools(acting_as("org key", org))) == [f"{instance.pk}.{long_name}"]


# Who gets which tools


def test_org_and_plugin_keys_get_every_instances_tools_members_only_those_they_may_execute(org, crm_plugin,
                                                                                           provider):
    definition = make_definition(org, provider)
    alpha = make_instance(org, definition, name="Alpha")
    beta = make_instance(org, definition, name="Beta")
    every = ["alpha.createThing", "alpha.getThing", "beta.createThing", "beta.getThing"]
    assert sorted(integration_tools(acting_as("org key", org))) == every
    assert sorted(integration_tools(acting_as("plugin key", org, plugin=crm_plugin))) == every
    assert sorted(integration_tools(acting_as("org admin", org))) == every
    assert integration_tools(member_of(org, "ungranted")) == {}
    assert integration_tools(member_of(org, "viewer", access.VIEWER, alpha)) == {}
    editor = member_of(org, "editor", access.EDITOR, alpha)
    assert sorted(integration_tools(editor)) == ["alpha.createThing", "alpha.getThing"]
    manager = member_of(org, "manager", access.MANAGER, beta)
    assert sorted(integration_tools(manager)) == ["beta.createThing", "beta.getThing"]
    team = Team.objects.create(organization=org, slug="ops", name="Ops")
    teammate = member_of(org, "teammate")
    TeamMembership.objects.create(team=team, membership=teammate.membership)
    access.grant(system(org), INTEGRATION_INSTANCE, beta.pk, access.EDITOR, team_id=team.pk)
    assert sorted(integration_tools(teammate)) == ["beta.createThing", "beta.getThing"]
    # A member's own key is the member; a key that may only read gets no tools (executing needs api:write).
    key = issue_api_key(org, name="editor's key", membership=editor.membership)[0]
    assert sorted(integration_tools(key_principal(key))) == ["alpha.createThing", "alpha.getThing"]
    reader = issue_api_key(org, name="reader", scopes=[ApiKey.Scope.API_READ])[0]
    assert integration_tools(key_principal(reader)) == {}


def test_a_member_cannot_call_a_method_they_were_not_granted(org, provider):
    definition = make_definition(org, provider)
    alpha = make_instance(org, definition, name="Alpha")
    make_instance(org, definition, name="Beta")
    viewer = member_of(org, "viewer", access.VIEWER, alpha)
    with pytest.raises(UnknownTool):
        call_tool(viewer, "alpha.getThing", {"id": "1"})
    editor = member_of(org, "editor", access.EDITOR, alpha)
    with pytest.raises(UnknownTool):
        call_tool(editor, "beta.getThing", {"id": "1"})
    assert provider.api_calls() == [] and not IntegrationExecution.objects.exists()
    # The tool's run is the executor's: it refuses on its own too (a grant revoked after the listing).
    tool = integration_tools(editor)["alpha.getThing"]
    grant = access.active_grants(org, INTEGRATION_INSTANCE, alpha.pk).get(membership=editor.membership)
    access.revoke(system(org), INTEGRATION_INSTANCE, alpha.pk, grant.pk)
    from plexica.errors import Forbidden

    with pytest.raises(Forbidden) as refused:
        tool.run(editor, {"id": "1"})
    assert refused.value.extra["requiredRole"] == "editor"
    assert provider.api_calls() == []


def test_instances_that_are_not_connected_or_whose_definition_is_archived_have_no_tools(org, provider):
    connected = make_instance(org, make_definition(org, provider), name="Connected")
    keyed = make_definition(org, provider, name="Keyed API", auth_type="api_key")
    make_instance(org, keyed, name="Pending")  # PENDING_AUTHENTICATION: no credentials yet
    old = make_definition(org, provider, name="Old API")
    make_instance(org, old, name="Old")
    definitions.transition(system(org), old.pk, "ARCHIVED")
    org_key = acting_as("org key", org)
    assert sorted(integration_tools(org_key)) == ["connected.createThing", "connected.getThing"]
    instances.disconnect(system(org), connected.pk)
    assert integration_tools(org_key) == {}
    with pytest.raises(UnknownTool):
        call_tool(org_key, "connected.getThing", {"id": "1"})


def test_another_organizations_instances_are_neither_listed_nor_callable(org, other_org, provider):
    make_instance(org, make_definition(org, provider), name="Acme")
    make_instance(other_org, make_definition(other_org, provider), name="Globex")
    assert sorted(integration_tools(acting_as("org key", org))) == ["acme.createThing", "acme.getThing"]
    globex = acting_as("org key", other_org)
    assert sorted(integration_tools(globex)) == ["globex.createThing", "globex.getThing"]
    with pytest.raises(UnknownTool):
        call_tool(globex, "acme.getThing", {"id": "1"})
    assert provider.api_calls() == []


# Calls


def test_a_call_runs_the_method_against_the_provider_and_answers_its_data(org, provider):
    instance = make_instance(org, make_definition(org, provider))
    editor = member_of(org, "mia", access.EDITOR, instance)
    token = request_id_var.set("req-tool-7")
    try:
        result = call_tool(editor, "stub.getThing", {"id": "a b/c", "limit": 5})
    finally:
        request_id_var.reset(token)
    assert not result.is_error
    assert result.data == {"method": "GET", "path": "/public/things/a%20b%2Fc", "query": {"limit": "5"},
                           "body": None}
    created = call_tool(acting_as("org key", org), "stub.createThing", {"thing": {"title": "Hi"}})
    assert created.data["method"] == "POST" and created.data["body"] == {"title": "Hi"}
    assert [call[:2] for call in provider.api_calls()] == [("GET", "/public/things/a%20b%2Fc"),
                                                           ("POST", "/public/things")]
    # The same execution records as the HTTP API's, with who asked and the request.
    runs = list(IntegrationExecution.objects.order_by("created_at"))
    assert [(run.method, run.outcome, run.actor_type) for run in runs] == [("getThing", "SUCCESS", "member"),
                                                                          ("createThing", "SUCCESS", "key")]
    assert (runs[0].actor_id, runs[0].request_id, runs[0].is_async) == ("mia", "req-tool-7", False)


def test_arguments_are_checked_against_the_param_schema_before_anything_runs(org, provider):
    make_instance(org, make_definition(org, provider))
    org_key = acting_as("org key", org)
    with pytest.raises(InvalidArguments) as missing:
        call_tool(org_key, "stub.getThing", {})
    assert missing.value.problems == [{"pointer": "", "message": "'id' is a required property"}]
    with pytest.raises(InvalidArguments) as wrong:
        call_tool(org_key, "stub.createThing", {"thing": {"title": 5}})
    assert wrong.value.problems == [{"pointer": "/thing/title", "message": "5 is not of type 'string'"}]
    assert str(wrong.value) == "stub.createThing: arguments/thing/title: 5 is not of type 'string'"
    assert provider.api_calls() == [] and not IntegrationExecution.objects.exists()


def test_the_methods_rate_limit_is_a_tool_error_that_says_when_to_retry(org, provider):
    methods = api_definition(provider)["methods"]
    methods[0]["rateLimits"] = {"requestsPerMinute": 2, "burstLimit": 2}
    make_instance(org, make_definition(org, provider, methods=methods))
    org_key = acting_as("org key", org)
    assert [call_tool(org_key, "stub.getThing", {"id": "1"}).is_error for _ in range(2)] == [False, False]
    limited = call_tool(org_key, "stub.getThing", {"id": "1"})
    assert limited.is_error and limited.data is None
    error = limited.error
    assert (error["code"], error["status"]) == ("RATE_LIMIT_EXCEEDED", 429)
    assert "rate limit of getThing (2 per minute, bursts of 2)" in error["message"]
    assert 25 <= error["details"]["retryAfter"] <= 30
    assert error["details"]["limit"] == {"requestsPerMinute": 2, "burstLimit": 2}
    assert '"RATE_LIMIT_EXCEEDED"' in limited.text()
    assert len(provider.api_calls()) == 2


def test_provider_failures_and_an_open_circuit_are_tool_errors_with_their_details(org, provider):
    make_instance(org, make_definition(org, provider))
    org_key = acting_as("org key", org)
    provider.script("/public/things/1", Answer(429, {"Retry-After": "30"}, {"message": "slow down"}))
    slow_down = call_tool(org_key, "stub.getThing", {"id": "1"}).error
    assert (slow_down["code"], slow_down["status"], slow_down["details"]["retryAfter"]) == \
        ("RATE_LIMIT_EXCEEDED", 429, 30)
    provider.script("/public/things", Answer(422, body={"message": "Validation Failed"}))
    refused = call_tool(org_key, "stub.createThing", {"thing": {"title": "x"}}).error
    assert (refused["code"], refused["status"]) == ("INTEGRATION_ERROR", 502)
    assert refused["details"] == {"statusCode": 422, "response": {"message": "Validation Failed"}}
    for _ in range(5):
        provider.script("/public/things", Answer(500))
        assert call_tool(org_key, "stub.createThing", {"thing": {"title": "x"}}).error["status"] == 502
    open_circuit = call_tool(org_key, "stub.createThing", {"thing": {"title": "x"}}).error
    assert (open_circuit["code"], open_circuit["status"]) == ("CIRCUIT_OPEN", 503)
    assert open_circuit["details"]["retryAfter"] >= 1
    assert len(provider.api_calls("/public/things")) == 6


# Cost


@pytest.mark.parametrize("caller", ["org key", "granted member"])
def test_listing_costs_the_same_queries_however_many_instances(org, provider, caller):
    definition = make_definition(org, provider)
    principal = acting_as("org key", org) if caller == "org key" else member_of(org, "mia")

    def add_instance(n):
        instance = make_instance(org, definition, name=f"Stub {n}")
        if caller == "granted member":
            access.grant(system(org), INTEGRATION_INSTANCE, instance.pk, access.EDITOR,
                         membership_id=principal.membership.pk)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            found = tools.integration_tools(principal)
        return len(captured), len(found)

    add_instance(0)
    few = queries()
    for n in range(1, 8):
        add_instance(n)
    many = queries()
    assert (few[1], many[1]) == (2, 16)
    assert few[0] == many[0] == 2
