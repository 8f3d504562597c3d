"""Plugin endpoints as tools (gateway/tools.py): who sees which, calls end to end through the gateway against a
real upstream on 127.0.0.1, the exposure to members (service, API, admin) and the registration's checks."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.utils import quote
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gateway.models import ExposedTool
from gateway.services import CallRequest, call_as_member
from gateway.tools import endpoint_tools, expose_tool, plugin_tool_entries, unexpose_tool
from plexica.errors import Forbidden, Invalid, NotFound
from plexica.events.models import Event
from plexica.plugins import capabilities
from plexica.plugins.models import Plugin
from plexica.plugins.services import revoke_permission
from plexica.tenancy.models import Membership
from plexica.tenancy.principal import Principal
from plexica.tenancy.services import add_member, ensure_user, issue_api_key
from plexica.tools import UnknownTool, call_tool, list_tools
from registry.models import PluginService
from registry.services import Registration, register_service
from registry.tool_endpoints import derived_tool_name
from tests.adminsite.querycount import assert_flat
from tests.conftest import IssuedKey
from tests.gateway import conftest as gateway

# The gateway tests' fixtures: the upstream server, the calling plugin (plugin-analytics) and its key, its grants,
# registering crm.contacts of plugin-crm.
upstream, analytics_plugin, analytics_key, grant, register = (
    gateway.upstream, gateway.analytics_plugin, gateway.analytics_key, gateway.grant, gateway.register)

CONTACT_SCHEMA = {
    "type": "object", "properties": {"id": {"type": "string", "description": "The contact's id."}},
    "required": ["id"], "additionalProperties": False,
}
SEARCH_SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "limit": {"type": "integer"}, "tag": {"type": "array"},
                   "active": {"type": "boolean"}},
    "additionalProperties": False,
}
CREATE_SCHEMA = {
    "type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}},
    "required": ["name"], "additionalProperties": False,
}
CONTACT_OUTPUT = {"type": "object", "properties": {"id": {"type": "string"}}}
TOOL_ENDPOINTS = [
    {"method": "GET", "path": "/contacts", "description": "Search the contacts.",
     "permissions": ["crm:contacts:read"], "metadata": {"inputSchema": SEARCH_SCHEMA}},
    {"method": "GET", "path": "/contacts/:id", "description": "One contact.", "permissions": ["crm:contacts:read"],
     "metadata": {"inputSchema": CONTACT_SCHEMA, "toolName": "get_contact", "outputSchema": CONTACT_OUTPUT}},
    {"method": "POST", "path": "/contacts", "description": "Create a contact.", "permissions": ["crm:contacts:write"],
     "metadata": {"inputSchema": CREATE_SCHEMA, "outputSchema": {"type": "array"}}},
    {"method": "GET", "path": "/contacts/export", "permissions": ["crm:contacts:read"],
     "metadata": {"inputSchema": {"type": "object"}}},
    {"method": "DELETE", "path": "/contacts/:id", "permissions": ["crm:contacts:write"]},  # no inputSchema: no tool
    {"method": "POST", "path": "/contacts/search", "permissions": [],
     "metadata": {"inputSchema": SEARCH_SCHEMA, "argumentsIn": "query"}},
]
SEARCH = "plugin-crm.crm.contacts.get_contacts"
GET_CONTACT = "plugin-crm.crm.contacts.get_contact"
CREATE = "plugin-crm.crm.contacts.post_contacts"
EXPORT = "plugin-crm.crm.contacts.get_contacts_export"
POST_SEARCH = "plugin-crm.crm.contacts.post_contacts_search"
ALL_TOOLS = sorted([SEARCH, GET_CONTACT, CREATE, EXPORT, POST_SEARCH])


def principal_of(issued):
    key = issued.key
    return Principal(organization=key.organization, api_key=key, membership=key.membership,
                     user=key.membership.user if key.membership_id else None)


def session_of(membership):
    return Principal(organization=membership.organization, membership=membership, user=membership.user)


def plugin_tool_names(principal):
    return [tool.name for tool in list_tools(principal) if tool.source == "plugin"]


@pytest.fixture
def contacts(upstream, register):
    """crm.contacts of plugin-crm at the upstream's /v2, with tool endpoints; plugin-crm holds TOOLS."""
    service = register(upstream.base_url("/v2"), TOOL_ENDPOINTS)
    capabilities.grant_capability(Principal.system(service.organization), "plugin-crm", "TOOLS")
    return service


@pytest.fixture
def analytics(analytics_key):
    return principal_of(analytics_key)


@pytest.fixture
def mia(member):
    return session_of(member)


@pytest.fixture
def automation(org_key):
    return principal_of(org_key)


def expose(org, name, plugin_id="plugin-crm"):
    return expose_tool(Principal.system(org), plugin_id, name)


# --- Listing, per caller -------------------------------------------------------------------------


def test_a_plugin_key_sees_the_tools_whose_permissions_its_plugin_holds(contacts, analytics, grant):
    assert plugin_tool_names(analytics) == [POST_SEARCH]  # the one that needs no permission
    grant("crm:contacts:read")
    assert plugin_tool_names(analytics) == sorted([SEARCH, GET_CONTACT, EXPORT, POST_SEARCH])
    grant("crm:contacts:write")
    assert plugin_tool_names(analytics) == ALL_TOOLS


def test_a_tool_says_what_it_is(contacts, analytics, grant):
    grant("crm:contacts:read", "crm:contacts:write")
    tools = {tool.name: tool for tool in list_tools(analytics)}

    one = tools[GET_CONTACT]
    assert one.description == "One contact."
    assert one.input_schema == CONTACT_SCHEMA and one.output_schema == CONTACT_OUTPUT
    assert one.read_only and one.idempotent and one.source == "plugin"
    assert one.scopes == ("gateway", "ext:plugin-crm:routes")
    assert one.meta == {"pluginId": "plugin-crm", "serviceName": "crm.contacts", "method": "GET",
                        "path": "/contacts/:id"}
    create = tools[CREATE]
    assert not create.read_only and not create.idempotent
    assert create.output_schema is None  # an array schema is not an MCP output schema
    assert tools[EXPORT].description == "GET /contacts/export of the service crm.contacts (plugin-crm)."


def test_a_plugin_without_the_tools_capability_offers_no_tools(org, upstream, register, analytics, grant,
                                                               automation):
    register(upstream.base_url("/v2"), TOOL_ENDPOINTS)  # registered by the system: no capability needed
    grant("crm:contacts:read")
    assert capabilities.granted_capabilities(Plugin.objects.get(plugin_id="plugin-crm")) == [
        "ROUTES", "EVENTS_PUB", "EVENTS_SUB"]  # the legacy default has no TOOLS
    assert plugin_tool_names(analytics) == []
    assert plugin_tool_names(automation) == []
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")
    assert GET_CONTACT in plugin_tool_names(automation)
    capabilities.revoke_capability(Principal.system(org), "plugin-crm", "TOOLS")
    assert plugin_tool_names(automation) == []


def test_a_plugin_sees_its_own_tools_when_its_plugin_holds_their_permissions(contacts, plugin_key, grant,
                                                                             crm_plugin):
    own = principal_of(plugin_key)
    assert plugin_tool_names(own) == [POST_SEARCH]
    grant("crm:contacts:read", plugin=crm_plugin)
    assert GET_CONTACT in plugin_tool_names(own)


def test_an_unavailable_service_offers_no_tools_and_a_degraded_one_does(org, upstream, register,
                                                                         automation):
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")
    register(upstream.base_url("/v2"), TOOL_ENDPOINTS,
             now=timezone.now() - timedelta(seconds=settings.REGISTRY_DEGRADED_AFTER + 1))
    assert plugin_tool_names(automation) == ALL_TOOLS
    silent = timedelta(seconds=settings.REGISTRY_UNAVAILABLE_AFTER + 1)
    PluginService.objects.update(last_seen_at=timezone.now() - silent)
    assert plugin_tool_names(automation) == []


def test_org_keys_and_admins_see_every_tool_members_only_the_exposed_ones(org, contacts, automation, mia,
                                                                           org_admin, member_key):
    assert plugin_tool_names(automation) == ALL_TOOLS
    assert plugin_tool_names(session_of(org_admin)) == ALL_TOOLS
    assert plugin_tool_names(mia) == []
    assert plugin_tool_names(principal_of(member_key)) == []

    expose(org, GET_CONTACT)

    assert plugin_tool_names(mia) == [GET_CONTACT]
    assert plugin_tool_names(principal_of(member_key)) == [GET_CONTACT]
    tools = {tool.name: tool for tool in list_tools(automation)}
    assert tools[GET_CONTACT].meta["exposed"] is True and tools[SEARCH].meta["exposed"] is False
    assert tools[GET_CONTACT].scopes == ("api:read", "api:write", "ext:plugin-crm:routes")
    assert tools[CREATE].scopes == ("api:write", "ext:plugin-crm:routes")


def test_a_member_key_with_read_scope_sees_the_exposed_get_tools_only(org, contacts, member):
    expose(org, GET_CONTACT)
    expose(org, CREATE)
    reader = principal_of(IssuedKey(*issue_api_key(org, name="read only", membership=member, scopes=["api:read"])))
    writer = principal_of(IssuedKey(*issue_api_key(org, name="writer", membership=member, scopes=["api:write"])))
    assert plugin_tool_names(reader) == [GET_CONTACT]
    assert plugin_tool_names(writer) == sorted([GET_CONTACT, CREATE])


def test_a_key_scoped_to_other_plugins_routes_sees_none_of_this_ones_tools(org, contacts, analytics_plugin,
                                                                          grant):
    grant("crm:contacts:read")
    elsewhere = principal_of(IssuedKey(*issue_api_key(org, name="billing only", plugin=analytics_plugin,
                                                      scopes=["ext:plugin-billing:routes"])))
    crm_only = principal_of(IssuedKey(*issue_api_key(org, name="crm only", plugin=analytics_plugin,
                                                    scopes=["ext:plugin-crm:routes"])))
    assert plugin_tool_names(elsewhere) == []
    assert GET_CONTACT in plugin_tool_names(crm_only)  # the routes scope stands in for the gateway scope


def test_another_organizations_callers_see_none_of_its_tools(org, other_org, contacts, other_org_key, upstream,
                                                             register):
    expose(org, GET_CONTACT)
    assert plugin_tool_names(principal_of(other_org_key)) == []
    Plugin.objects.create(organization=other_org, plugin_id="plugin-crm", name="CRM")
    register(upstream.base_url("/globex"), TOOL_ENDPOINTS[:1], organization=other_org)
    capabilities.grant_capability(Principal.system(other_org), "plugin-crm", "TOOLS")
    assert plugin_tool_names(principal_of(other_org_key)) == [SEARCH]
    user, _ = ensure_user("gus")
    foreigner = session_of(add_member(other_org, user, Membership.Role.MEMBER)[0])
    assert plugin_tool_names(foreigner) == []  # acme's exposure is not globex's
    result = call_tool(principal_of(other_org_key), SEARCH, {})
    assert result.data["status"] == 200
    assert upstream.last.path == "/globex/contacts"


@pytest.mark.parametrize("services", [1, 12])
def test_listing_costs_the_same_queries_whatever_the_number_of_services(org, upstream, register, analytics,
                                                                        grant, mia, automation, services):
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")
    for n in range(services):
        register(upstream.base_url("/v2"), TOOL_ENDPOINTS, service_name=f"crm.contacts{n}")
        expose(org, f"plugin-crm.crm.contacts{n}.get_contact")
    grant("crm:contacts:read")
    counts = {}
    for name, principal in [("plugin key", analytics), ("member", mia), ("org key", automation)]:
        with CaptureQueriesContext(connection) as queries:
            found = endpoint_tools(principal)
        counts[name] = len(queries)
        assert len(found) == services * {"plugin key": 4, "member": 1, "org key": 5}[name]
    # the endpoints with their exposure, their plugins' capabilities; a plugin key's permissions
    assert counts == {"plugin key": 3, "member": 2, "org key": 2}


# --- Calls, end to end ---------------------------------------------------------------------------


def test_a_plugin_keys_call_fills_the_path_and_goes_through_the_gateway_as_its_plugin(contacts, analytics, grant,
                                                                                     upstream):
    grant("crm:contacts:read")
    upstream.reply("/v2/contacts/cnt%20001", json={"id": "cnt 001", "name": "John Doe"})

    result = call_tool(analytics, GET_CONTACT, {"id": "cnt 001"})

    assert not result.is_error, result.error
    assert result.data == {"status": 200, "data": {"id": "cnt 001", "name": "John Doe"}}
    seen = upstream.last
    assert seen.method == "GET" and seen.path == "/v2/contacts/cnt%20001"
    assert seen.headers["x-caller-plugin-id"] == "plugin-analytics"
    assert seen.headers["x-tenant-slug"] == "acme-corp"
    assert "x-caller-actor-type" not in seen.headers


def test_a_get_tools_other_arguments_are_the_query(contacts, automation, upstream):
    result = call_tool(automation, SEARCH, {"q": "john", "limit": 5, "tag": ["vip", "eu"], "active": True})

    assert result.data["status"] == 200
    assert upstream.last.path_only == "/v2/contacts"
    assert upstream.last.query == {"q": ["john"], "limit": ["5"], "tag": ["vip", "eu"], "active": ["true"]}
    assert upstream.last.body == b""


def test_a_post_tools_arguments_are_the_json_body(contacts, analytics, grant, upstream):
    grant("crm:contacts:write")
    upstream.reply("/v2/contacts", 201, json={"id": "cnt_002"}, method="POST")

    result = call_tool(analytics, CREATE, {"name": "Jane", "email": "jane@example.com"})

    assert result.data == {"status": 201, "data": {"id": "cnt_002"}}
    assert upstream.last.method == "POST" and upstream.last.query_string == ""
    assert upstream.last.headers["content-type"] == "application/json"
    assert upstream.last.json() == {"name": "Jane", "email": "jane@example.com"}


def test_arguments_in_says_where_the_arguments_go(contacts, automation, upstream):
    call_tool(automation, POST_SEARCH, {"q": "doe"})

    assert upstream.last.method == "POST"
    assert upstream.last.path == "/v2/contacts/search?q=doe"


def test_an_upstream_error_is_the_tools_error_with_its_status_and_body(contacts, automation, upstream):
    upstream.reply("/v2/contacts/nobody", 404, json={"message": "No contact nobody"})

    result = call_tool(automation, GET_CONTACT, {"id": "nobody"})

    assert result.is_error
    assert result.error == {
        "code": "upstream_error", "status": 404, "message": "GET /contacts/nobody of crm.contacts answered 404.",
        "details": {"status": 404, "data": {"message": "No contact nobody"}},
    }


def test_the_gateway_still_checks_the_permissions_when_the_tool_runs(contacts, analytics, analytics_plugin,
                                                                    grant, upstream):
    grant("crm:contacts:read")
    tool = next(tool for tool in list_tools(analytics) if tool.name == GET_CONTACT)
    revoke_permission(Principal.system(analytics_plugin.organization), "plugin-analytics", "crm:contacts:read")

    with pytest.raises(Forbidden) as refused:
        tool.run(analytics, {"id": "cnt_001"})

    assert refused.value.extra == {"missingPermissions": ["crm:contacts:read"]}
    with pytest.raises(UnknownTool):  # and the tool is no longer listed
        call_tool(analytics, GET_CONTACT, {"id": "cnt_001"})
    assert upstream.requests == []


def test_a_member_calls_an_exposed_tool_as_themselves(org, contacts, mia, upstream):
    expose(org, GET_CONTACT)

    result = call_tool(mia, GET_CONTACT, {"id": "cnt_001"})

    assert result.data["status"] == 200
    seen = upstream.last
    assert seen.path == "/v2/contacts/cnt_001"
    assert seen.headers["x-caller-actor-type"] == "member" and seen.headers["x-caller-actor-id"] == "mia"
    assert "x-caller-plugin-id" not in seen.headers


def test_an_org_key_calls_any_tool_named_by_its_key(contacts, automation, org_key, upstream):
    call_tool(automation, EXPORT, {})

    assert upstream.last.headers["x-caller-actor-type"] == "key"
    assert upstream.last.headers["x-caller-actor-id"] == org_key.key.pk


def test_a_member_cannot_call_a_tool_that_is_not_exposed(org, contacts, mia, upstream):
    with pytest.raises(UnknownTool):
        call_tool(mia, GET_CONTACT, {"id": "cnt_001"})
    expose(org, GET_CONTACT)
    tool = next(tool for tool in list_tools(mia) if tool.name == GET_CONTACT)
    unexpose_tool(Principal.system(org), "plugin-crm", GET_CONTACT)

    with pytest.raises(Forbidden) as refused:
        tool.run(mia, {"id": "cnt_001"})

    assert refused.value.code == "tool_not_exposed"
    assert f"PUT /api/v1/plugins/plugin-crm/tools/{GET_CONTACT}/exposure" in refused.value.message
    assert upstream.requests == []


def test_call_as_member_calls_only_tool_endpoints_and_refuses_plugin_keys(contacts, automation, analytics):
    delete = CallRequest(caller_plugin_id=None, target_plugin_id="plugin-crm", target_service_name="crm.contacts",
                         method="DELETE", path="/contacts/cnt_001")
    with pytest.raises(Forbidden) as refused:
        call_as_member(automation, delete, "req-1")
    assert refused.value.code == "not_a_tool"
    with pytest.raises(Forbidden) as refused:
        call_as_member(analytics, delete, "req-1")
    assert refused.value.code == "org_capability_required"


def test_a_path_parameter_that_makes_another_endpoints_path_is_refused(contacts, automation, upstream):
    result = call_tool(automation, GET_CONTACT, {"id": "export"})

    assert result.is_error and result.error["status"] == 400
    assert "is the endpoint GET /contacts/export of crm.contacts, not /contacts/:id" in result.error["message"]
    assert upstream.requests == []


@pytest.mark.parametrize("value", ["a/b", "..", ".", "a\\b", "line\nbreak"])
def test_a_path_parameter_cannot_leave_its_segment(contacts, automation, upstream, value):
    result = call_tool(automation, GET_CONTACT, {"id": value})

    assert result.is_error and result.error["status"] == 400
    assert result.error["message"].startswith("arguments.id: a path parameter cannot be")
    assert upstream.requests == []


def test_a_query_argument_that_is_an_object_is_refused(org, upstream, register, automation):
    loose = {"method": "GET", "path": "/loose", "metadata": {"inputSchema": {"type": "object"}}}
    register(upstream.base_url("/v2"), [loose])
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")

    result = call_tool(automation, "plugin-crm.crm.contacts.get_loose", {"filter": {"a": 1}})

    assert result.error["message"] == ("arguments.filter: a query parameter is a string, number or boolean, "
                                       "or a list of them.")
    assert upstream.requests == []


def test_a_member_of_another_organization_cannot_call_its_tools(org, other_org, contacts, upstream):
    expose(org, GET_CONTACT)
    user, _ = ensure_user("gus")
    foreigner = session_of(add_member(other_org, user, Membership.Role.ADMIN)[0])
    with pytest.raises(UnknownTool):
        call_tool(foreigner, GET_CONTACT, {"id": "cnt_001"})
    call = CallRequest(caller_plugin_id=None, target_plugin_id="plugin-crm", target_service_name="crm.contacts",
                       method="GET", path="/contacts/cnt_001")
    with pytest.raises(NotFound):  # the service is acme's: globex has none of that name
        call_as_member(foreigner, call, "req-1")
    assert upstream.requests == []


# --- Exposure: the services ----------------------------------------------------------------------


def test_exposing_and_unexposing_emit_their_events_once(org, contacts, org_admin):
    admin = session_of(org_admin)
    entry, created = expose_tool(admin, "plugin-crm", GET_CONTACT)
    assert created and entry["exposed"] and entry["exposedBy"] == "ada"
    assert expose_tool(admin, "plugin-crm", GET_CONTACT)[1] is False
    unexpose_tool(admin, "plugin-crm", GET_CONTACT)
    with pytest.raises(NotFound):
        unexpose_tool(admin, "plugin-crm", GET_CONTACT)
    found = [(e.type, e.subject_id, e.actor_id, e.data) for e in Event.objects.filter(type__startswith="tool.")
             .order_by("position")]
    data = {"tool": GET_CONTACT, "pluginId": "plugin-crm", "serviceName": "crm.contacts", "method": "GET",
            "path": "/contacts/:id"}
    assert found == [("tool.exposed", GET_CONTACT, "ada", data), ("tool.unexposed", GET_CONTACT, "ada", data)]


def test_only_org_admins_expose_tools(contacts, mia, analytics):
    for caller in (mia, analytics):
        with pytest.raises(Forbidden):
            expose_tool(caller, "plugin-crm", GET_CONTACT)
    assert not ExposedTool.objects.exists()


def test_an_exposure_outlives_a_registration_that_drops_its_endpoint(org, contacts, upstream, register, mia):
    expose(org, GET_CONTACT)
    register(upstream.base_url("/v2"), TOOL_ENDPOINTS[:1])
    assert plugin_tool_names(mia) == []
    _plugin, entries = plugin_tool_entries(Principal.system(org), "plugin-crm")
    assert [(e["name"], e["registered"], e["exposed"]) for e in entries] == [
        (SEARCH, True, False), (GET_CONTACT.replace("get_contact", "get_contacts_id"), False, True)]
    register(upstream.base_url("/v2"), TOOL_ENDPOINTS)
    assert plugin_tool_names(mia) == [GET_CONTACT]


def test_an_unknown_tool_or_plugin_is_not_found(org, contacts):
    with pytest.raises(NotFound) as missing:
        expose(org, "plugin-crm.crm.contacts.nothing")
    assert missing.value.code == "tool_not_found"
    with pytest.raises(NotFound):
        expose(org, GET_CONTACT, plugin_id="plugin-nothing")


# --- Exposure: the API ---------------------------------------------------------------------------


def tools_url(plugin_id="plugin-crm"):
    return f"/api/v1/plugins/{plugin_id}/tools"


def exposure_url(name, plugin_id="plugin-crm"):
    return f"/api/v1/plugins/{plugin_id}/tools/{name}/exposure"


def test_the_api_lists_a_plugins_tools_and_exposes_one(api, org_key, contacts):
    client = api(org_key.token)
    listed = client.get(tools_url())
    assert listed.status_code == 200, listed.content
    items = listed.json()["items"]
    assert [item["name"] for item in items] == [SEARCH, GET_CONTACT, CREATE, EXPORT, POST_SEARCH]
    first = items[1]
    assert first == {
        "name": GET_CONTACT, "pluginId": "plugin-crm", "serviceName": "crm.contacts", "method": "GET",
        "path": "/contacts/:id", "description": "One contact.", "permissions": ["crm:contacts:read"],
        "inputSchema": CONTACT_SCHEMA, "readOnly": True, "serviceStatus": "HEALTHY", "registered": True,
        "offered": True, "exposed": False, "exposedAt": None, "exposedBy": None,
    }
    assert listed.json()["nextCursor"] is None

    created = client.put(exposure_url(GET_CONTACT))
    assert created.status_code == 201, created.content
    assert created.json()["ok"] is True and created.json()["item"]["exposed"] is True
    assert created.json()["item"]["exposedAt"] is not None
    assert client.put(exposure_url(GET_CONTACT)).status_code == 200
    exposed = [item["exposed"] for item in client.get(tools_url()).json()["items"]]
    assert exposed == [False, True, False, False, False]
    assert Event.objects.filter(type="tool.exposed").count() == 1

    assert client.delete(exposure_url(GET_CONTACT)).status_code == 204
    gone = client.delete(exposure_url(GET_CONTACT))
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "tool_not_exposed"
    assert Event.objects.filter(type="tool.unexposed").count() == 1


def test_the_api_listing_costs_the_same_queries_with_many_tool_services(api, org_key, contacts, upstream,
                                                                       register):
    client = api(org_key.token)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(tools_url()).status_code == 200
        return len(queries)

    count()  # the key's lookup and its last-used time, cached after the first request
    before = count()
    for n in range(10):
        register(upstream.base_url("/v2"), TOOL_ENDPOINTS, service_name=f"crm.more{n}")
    assert count() == before == 4  # the plugin, its exposures, its capabilities, its tool endpoints
    assert len(client.get(tools_url()).json()["items"]) == 55


def test_the_api_refuses_members_and_plugin_keys_with_403(api, member_key, plugin_key, contacts):
    for token in (member_key.token, plugin_key.token):
        client = api(token)
        for response in (client.get(tools_url()), client.put(exposure_url(GET_CONTACT)),
                         client.delete(exposure_url(GET_CONTACT))):
            assert response.status_code == 403, response.content
            assert response.json()["error"]["code"] == "org_capability_required"
    assert not ExposedTool.objects.exists()


def test_the_api_answers_404_for_an_unknown_tool_or_another_organizations_plugin(api, org_key, other_org_key,
                                                                                 contacts):
    missing = api(org_key.token).put(exposure_url("plugin-crm.crm.contacts.nothing"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "tool_not_found"
    foreign = api(other_org_key.token, tenant="globex")
    assert foreign.get(tools_url()).status_code == 404
    assert foreign.put(exposure_url(GET_CONTACT)).status_code == 404
    assert not ExposedTool.objects.exists()


def test_an_api_key_lacking_the_write_scope_cannot_expose(api, org, contacts):
    reader = IssuedKey(*issue_api_key(org, name="reader", scopes=["api:read"]))
    assert api(reader.token).get(tools_url()).status_code == 200
    refused = api(reader.token).put(exposure_url(GET_CONTACT))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"


# --- Exposure: the admin -------------------------------------------------------------------------


def tools_button(plugin):
    return reverse("admin:plugins_plugin_tools", args=[quote(plugin.pk)])


def test_an_org_admin_exposes_and_unexposes_on_the_plugin_page(client, org_admin, crm_plugin, contacts, mia):
    client.force_login(org_admin.user)
    page = client.get(reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)]))
    html = page.content.decode()
    assert 'id="plugin-tools"' in html and GET_CONTACT in html and "plugin-tool-expose-1" in html

    response = client.post(tools_button(crm_plugin), {"expose": GET_CONTACT}, follow=True)

    assert f"Exposed {GET_CONTACT} to members." in [str(m) for m in response.context["messages"]]
    assert "plugin-tool-unexpose-1" in response.content.decode()
    assert plugin_tool_names(mia) == [GET_CONTACT]
    assert ExposedTool.objects.get().exposed_by == org_admin.user
    response = client.post(tools_button(crm_plugin), {"unexpose": GET_CONTACT}, follow=True)
    assert f"{GET_CONTACT} is no longer exposed to members." in [str(m) for m in response.context["messages"]]
    response = client.post(tools_button(crm_plugin), {"unexpose": GET_CONTACT}, follow=True)
    assert "is not exposed to members" in " ".join(str(m) for m in response.context["messages"])
    assert plugin_tool_names(mia) == []


def test_the_tools_tab_costs_the_same_queries_with_many_tool_services(client, org_admin, crm_plugin, contacts,
                                                                      upstream, register):
    def grow():
        for n in range(15):
            register(upstream.base_url("/v2"), TOOL_ENDPOINTS, service_name=f"crm.more{n}")
            expose(org_admin.organization, f"plugin-crm.crm.more{n}.get_contact")

    client.force_login(org_admin.user)
    _count, response = assert_flat(client, reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)]),
                                   grow, ceiling=90)
    assert "plugin-crm.crm.more14.get_contact" in response.content.decode()


def test_the_tools_tab_says_when_there_are_no_tools(client, org_admin, crm_plugin):
    client.force_login(org_admin.user)
    html = client.get(reverse("admin:plugins_plugin_change", args=[quote(crm_plugin.pk)])).content.decode()
    assert "No tools: none of the plugin&#x27;s endpoints declares an inputSchema" in html


def test_staff_who_are_not_the_organizations_admins_cannot_expose(client, org, crm_plugin, contacts):
    user, _ = ensure_user("sam", password="correct-horse-battery", is_staff=True)
    add_member(org, user, Membership.Role.MEMBER)
    client.force_login(user)
    # The admin shows staff only the plugins of organizations they administer: to anyone else it has none.
    assert client.post(tools_button(crm_plugin), {"expose": GET_CONTACT}).status_code == 404
    assert not ExposedTool.objects.exists()


# --- Registration: the tool metadata's checks ----------------------------------------------------


def registration(endpoints, plugin_id="plugin-crm", service_name="crm.contacts"):
    return Registration(plugin_id=plugin_id, service_name=service_name, version="1.0.0",
                        base_url="http://127.0.0.1:9/v2", endpoints=endpoints)


def tool_endpoint(path="/contacts", method="GET", **metadata):
    return {"method": method, "path": path, "metadata": {"inputSchema": {"type": "object"}, **metadata}}


@pytest.mark.parametrize("endpoint, message", [
    (tool_endpoint(toolName="get contact"), "endpoints[0].metadata.toolName must be 1 to 64 letters"),
    (tool_endpoint(toolName="x" * 65), "endpoints[0].metadata.toolName must be 1 to 64 letters"),
    (tool_endpoint(argumentsIn="headers"), 'endpoints[0].metadata.argumentsIn must be "body" or "query"'),
    (tool_endpoint(inputSchema={"type": "array"}), "endpoints[0].metadata.inputSchema must be a JSON Schema of an "
                                                   "object"),
    (tool_endpoint(inputSchema={"type": "object", "properties": {"id": {"type": 5}}}),
     "endpoints[0].metadata.inputSchema is not a valid JSON Schema (2020-12) at /properties/id/type"),
    (tool_endpoint(outputSchema={"type": "nothing"}),
     "endpoints[0].metadata.outputSchema is not a valid JSON Schema"),
    (tool_endpoint("/contacts/:id"), "endpoints[0].metadata.inputSchema must declare the path parameter 'id'"),
    (tool_endpoint("/" + "x" * 70), "endpoints[0]: the tool name derived from GET /xxx"),
])
def test_a_registration_with_malformed_tool_metadata_is_refused(org, crm_plugin, endpoint, message):
    with pytest.raises(Invalid) as refused:
        register_service(Principal.system(org), registration([endpoint]))
    assert refused.value.message.startswith(message), refused.value.message
    assert not PluginService.objects.exists()


def test_two_tools_of_a_service_cannot_share_a_name(org, crm_plugin):
    endpoints = [tool_endpoint("/contacts"), tool_endpoint("/other", toolName="get_contacts")]
    with pytest.raises(Invalid) as refused:
        register_service(Principal.system(org), registration(endpoints))
    assert refused.value.message == ("endpoints[1]: its tool name plugin-crm.crm.contacts.get_contacts is also "
                                     "endpoints[0]'s: set metadata.toolName on one of them.")


def test_a_tool_name_over_128_characters_is_refused(org):
    long_plugin = "plugin-" + "p" * 60
    Plugin.objects.create(organization=org, plugin_id=long_plugin, name="Long")
    with pytest.raises(Invalid) as refused:
        register_service(Principal.system(org), registration(
            [tool_endpoint("/contacts/all")], plugin_id=long_plugin, service_name="s" * 30 + ".x" * 20))
    assert "over MCP's 128: set a shorter metadata.toolName" in refused.value.message


def test_the_register_endpoint_answers_400_naming_the_endpoint(api, plugin_key, org):
    capabilities.grant_capability(Principal.system(org), "plugin-crm", "TOOLS")
    body = {"pluginId": "plugin-crm", "serviceName": "crm.contacts", "version": "1.0.0",
            "endpoints": [tool_endpoint(toolName="no spaces")]}
    response = api(plugin_key.token).post("/api/plugin-gateway/services/register", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("endpoints[0].metadata.toolName must be 1 to 64 letters")


@pytest.mark.parametrize("method, path, name", [
    ("GET", "/contacts/:id", "get_contacts_id"),
    ("GET", "/", "get"),
    ("DELETE", "/contacts/:id/notes/:noteId", "delete_contacts_id_notes_noteId"),
    ("POST", "/user-profiles/@me", "post_user-profiles_me"),
])
def test_derived_tool_names_read_like_the_endpoint(method, path, name):
    assert derived_tool_name(method, path) == name
