"""The MCP server end to end with the SDK's own client: the real tools of each caller kind over /mcp, a call
of an integration method against the stub provider and of a plugin endpoint against a real upstream, a member
without a grant refused, another organization's key seeing none of it."""

import json

import pytest
from mcp.shared.exceptions import MCPError

from connectors.sharing import INTEGRATION_INSTANCE
from plexica.access import services as access
from plexica.plugins import capabilities
from plexica.tenancy.principal import Principal
from tests.gateway import conftest as gateway
from tests.integrations.conftest import api_definition, eager_executions, provider  # noqa: F401  fixtures
from tests.mcp.conftest import mcp_session, run
from tests.tools.test_integration_tools import make_definition, make_instance

upstream, analytics_plugin, analytics_key, grant, register = (
    gateway.upstream, gateway.analytics_plugin, gateway.analytics_key, gateway.grant, gateway.register)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("eager_executions")]

CONTACT_TOOL = "plugin-crm.crm.contacts.get_contact"
ENDPOINTS = [{"method": "GET", "path": "/contacts/:id", "description": "One contact by id.",
              "permissions": ["crm:contacts:read"],
              "metadata": {"toolName": "get_contact", "inputSchema": {
                  "type": "object", "required": ["id"], "additionalProperties": False,
                  "properties": {"id": {"type": "string"}}}}}]
PLATFORM_READS = ["plexica.discover_services", "plexica.list_installable_plugins", "plexica.resolve_dependencies",
                  "plexica.shared_data_get", "plexica.shared_data_list"]


@pytest.fixture
def server(live_server, settings):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return live_server.url


@pytest.fixture
def platform(org, provider, upstream, register, grant):
    """A CONNECTED instance "Stub" of the stub provider, and crm.contacts at the upstream with one tool
    endpoint (plugin-crm holds TOOLS; plugin-analytics holds its permission)."""
    instance = make_instance(org, make_definition(org, provider))
    register(upstream.base_url("/v2"), ENDPOINTS)
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts/cnt_001", json={"id": "cnt_001", "name": "John Doe"})
    return instance


async def _names(client):
    return [tool.name for tool in (await client.list_tools()).tools]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_plugin_key_lists_and_calls_an_integration_method_and_a_plugin_endpoint(server, platform, analytics_key,
                                                                                  provider, upstream, mode):
    async def body():
        async with mcp_session(server, analytics_key.token, mode=mode) as client:
            names = await _names(client)
            assert names == sorted(names)
            assert {"stub.getThing", "stub.createThing", CONTACT_TOOL, "plexica.emit_event"} <= set(names)
            thing = await client.call_tool("stub.getThing", {"id": "42"})
            assert not thing.is_error and thing.structured_content["path"] == "/public/things/42"
            contact = await client.call_tool(CONTACT_TOOL, {"id": "cnt_001"})
            assert not contact.is_error
            assert contact.structured_content == {"status": 200, "data": {"id": "cnt_001", "name": "John Doe"}}
            invalid = await client.call_tool("stub.getThing", {"id": ""})
            assert invalid.is_error and json.loads(invalid.content[0].text)["code"] == "invalid_arguments"
    run(body)
    assert [call[1] for call in provider.api_calls()] == ["/public/things/42"]  # the invalid call sent nothing
    assert upstream.requests_to("/v2/contacts/cnt_001")[-1].headers["x-caller-plugin-id"] == "plugin-analytics"


def test_each_caller_kind_sees_exactly_its_tools(server, platform, org_key, member_key, analytics_key):
    async def body():
        async with mcp_session(server, org_key.token) as client:
            org_names = await _names(client)
        async with mcp_session(server, member_key.token) as client:
            member_names = await _names(client)
        async with mcp_session(server, analytics_key.token) as client:
            plugin_names = await _names(client)
        return org_names, member_names, plugin_names

    org_names, member_names, plugin_names = run(body)
    assert {"stub.getThing", CONTACT_TOOL, "plexica.emit_event", "plexica.shared_data_set"} <= set(org_names)
    assert member_names == PLATFORM_READS  # no grant on the instance, no exposed endpoint
    assert set(plugin_names) <= set(org_names) and CONTACT_TOOL in plugin_names


def test_a_member_cannot_call_a_method_until_granted(server, org, platform, member_key, member):
    async def attempt():
        async with mcp_session(server, member_key.token) as client:
            try:
                return await client.call_tool("stub.getThing", {"id": "7"})
            except MCPError as refused:
                return refused

    refused = run(attempt)
    assert isinstance(refused, MCPError) and refused.code == -32602
    access.grant(Principal.system(org), INTEGRATION_INSTANCE, platform.pk, access.EDITOR, membership_id=member.pk)
    granted = run(attempt)
    assert not granted.is_error and granted.structured_content["path"] == "/public/things/7"


def test_another_organizations_key_sees_and_reaches_none_of_it(server, platform, other_org_key, provider):
    async def body():
        async with mcp_session(server, other_org_key.token) as client:
            names = await _names(client)
            with pytest.raises(MCPError):
                await client.call_tool("stub.getThing", {"id": "1"})
            with pytest.raises(MCPError):
                await client.call_tool(CONTACT_TOOL, {"id": "cnt_001"})
            return names

    names = run(body)
    assert not [name for name in names if not name.startswith("plexica.")]
    assert provider.api_calls() == []
