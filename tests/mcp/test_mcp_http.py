"""The extensions seed's MCP HTTP shape (/ext/mcp_http/*): the same tools and rules as /mcp."""

import pytest

from plexica.tenancy.services import issue_api_key

pytestmark = pytest.mark.usefixtures("sample_tools")

BASE = "/ext/mcp_http"


def test_meta_is_public_and_points_at_the_real_endpoint(api):
    answer = api(tenant=None).get(f"{BASE}/meta")
    assert answer.status_code == 200
    body = answer.json()
    assert body["server"] == "plexica-mcp-http" and "invoke" in body["capabilities"]
    assert body["mcp"] == {"path": "/mcp", "transport": "streamable-http", "revisions": ["2026-07-28", "2025-11-25"]}


def test_handshake_answers_the_server_and_a_session_id(api, org_key):
    answer = api(org_key.token).post(f"{BASE}/handshake", {"client": {"name": "ChatGPT", "version": "1.0"}},
                                     format="json")
    assert answer.status_code == 200
    assert answer.json()["server"]["name"] == "plexica-mcp-http" and answer.json()["session_id"].startswith("sess_")
    assert api(org_key.token).post(f"{BASE}/handshake", {"client": {"nom": "x"}}, format="json").status_code == 400
    assert api().post(f"{BASE}/handshake", {}, format="json").status_code == 401


def test_tools_lists_the_callers_tools_in_the_seed_shape(api, org_key, member_key):
    listed = api(org_key.token).get(f"{BASE}/tools").json()["tools"]
    names = [tool["name"] for tool in listed if tool["name"].startswith("test.")]
    assert names == ["test.admin_only", "test.echo", "test.fails"]
    echo = next(tool for tool in listed if tool["name"] == "test.echo")
    assert echo["parameters"]["required"] == ["text"] and echo["description"].startswith("Echo")
    member = [tool["name"] for tool in api(member_key.token).get(f"{BASE}/tools").json()["tools"]]
    assert "test.echo" in member and "test.admin_only" not in member


def test_invoke_runs_a_tool_and_reports_its_failure(api, org_key, member_key):
    ran = api(org_key.token).post(f"{BASE}/invoke", {"tool": "test.echo", "parameters": {"text": "hi"}},
                                  format="json")
    assert ran.status_code == 200
    assert ran.json() == {"success": True, "result": {"text": "hi", "caller": "organization", "org": "acme-corp"}}
    failed = api(org_key.token).post(f"{BASE}/invoke", {"tool": "test.fails"}, format="json")
    assert failed.status_code == 200
    assert failed.json() == {"success": False, "error": {"code": "not_today", "status": 403, "message": "Not today."}}


def test_invoke_refuses_unknown_tools_and_bad_parameters_clearly(api, org_key, member_key):
    unknown = api(member_key.token).post(f"{BASE}/invoke", {"tool": "test.admin_only"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "tool_not_found"
    bad = api(org_key.token).post(f"{BASE}/invoke", {"tool": "test.echo", "parameters": {"text": 5}}, format="json")
    assert bad.status_code == 400 and "arguments/text" in bad.json()["error"]["message"]
    assert api(org_key.token).post(f"{BASE}/invoke", {"parameters": {}}, format="json").status_code == 400


def test_another_organizations_key_sees_nothing_here(api, org, other_org_key):
    assert api(other_org_key.token).get(f"{BASE}/tools").status_code == 403
    narrow = issue_api_key(org, name="emitter", scopes=["events:emit"])[1]
    assert api(narrow).get(f"{BASE}/tools").status_code == 200  # each tool checks its own scopes


def test_a_tool_whose_schema_refers_elsewhere_fails_as_the_tool_never_fetching_it(api, org_key):
    from plexica import tools

    def remote(principal):
        yield tools.Tool(name="test.remote_ref", description="A schema pointing at another host.",
                         input_schema={"type": "object", "properties": {"a": {"$ref": "http://169.254.169.254/x"}}},
                         run=lambda p, args: {"ran": True})

    tools.register_provider(remote)
    try:
        answer = api(org_key.token).post(f"{BASE}/invoke", {"tool": "test.remote_ref", "parameters": {"a": 1}},
                                         format="json")
    finally:
        tools._PROVIDERS.remove(remote)
    assert answer.status_code == 200
    assert answer.json()["success"] is False and answer.json()["error"]["code"] == "tool_unusable"


def test_one_request_builds_a_callers_tool_list_once(org_key, org):
    from plexica import tools
    from plexica.tenancy.principal import Principal

    built = []

    def counting(principal):
        built.append(principal)
        yield tools.Tool(name="test.count", description="Counts.", input_schema={"type": "object"},
                         run=lambda p, args: {"ok": True})

    tools.register_provider(counting)
    try:
        caller = Principal(organization=org, api_key=org_key.key)
        with tools.request_scope():
            tools.list_tools(caller)  # the SDK's header check
            assert tools.call_tool(caller, "test.count", {}).data == {"ok": True}  # the lookup and the call
        assert len(built) == 1
        tools.list_tools(caller)  # outside a request: built anew
        assert len(built) == 2
    finally:
        tools._PROVIDERS.remove(counting)
