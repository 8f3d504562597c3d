"""The MCP server's protocol and rules, with the SDK's own client: both revisions, the key decides the tools,
refusals before the SDK reads anything, stateless across processes, the WSGI bridge and the ASGI process."""

import json

import pytest
import requests
from mcp.shared.exceptions import MCPError

from tests.mcp.conftest import headers_for, mcp_session, run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sample_tools")]


@pytest.fixture
def wsgi_server(live_server, settings):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    return live_server.url


def _names(listed):
    return [tool.name for tool in listed.tools if tool.name.startswith("test.")]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_key_lists_and_calls_its_tools_under_both_revisions(wsgi_server, org_key, member_key, mode):
    async def body():
        async with mcp_session(wsgi_server, org_key.token, mode=mode) as client:
            assert _names(await client.list_tools()) == ["test.admin_only", "test.echo", "test.fails"]
            echoed = await client.call_tool("test.echo", {"text": "hi"})
            assert not echoed.is_error
            assert echoed.structured_content == {"text": "hi", "caller": "organization", "org": "acme-corp"}
            assert json.loads(echoed.content[0].text)["text"] == "hi"
        async with mcp_session(wsgi_server, member_key.token, tenant="acme-corp", mode=mode) as client:
            assert _names(await client.list_tools()) == ["test.echo", "test.fails"]
            with pytest.raises(MCPError) as refused:  # a tool the caller may not use is unknown to it
                await client.call_tool("test.admin_only", {})
            assert refused.value.code == -32602
    run(body)


def test_bad_arguments_and_a_tool_failure_are_error_results(wsgi_server, org_key):
    async def body():
        async with mcp_session(wsgi_server, org_key.token) as client:
            invalid = await client.call_tool("test.echo", {"text": "x" * 51})
            assert invalid.is_error
            problem = json.loads(invalid.content[0].text)
            assert problem["code"] == "invalid_arguments" and problem["details"]["errors"][0]["pointer"] == "/text"
            failed = await client.call_tool("test.fails", {})
            assert failed.is_error and json.loads(failed.content[0].text) == {
                "code": "not_today", "status": 403, "message": "Not today."}
    run(body)


def _post(url, headers, message, version="2025-11-25"):
    return requests.post(url + "/mcp", headers={**headers, "Accept": "application/json, text/event-stream",
                                                "Content-Type": "application/json",
                                                "MCP-Protocol-Version": version}, json=message, timeout=10)


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def test_no_key_a_bad_key_and_another_organizations_key_are_refused(wsgi_server, org_key, other_org_key):
    missing = _post(wsgi_server, {}, LIST)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert _post(wsgi_server, headers_for("plx_nope"), LIST).status_code == 401
    foreign = _post(wsgi_server, headers_for(other_org_key.token, "acme-corp"), LIST)
    assert foreign.status_code == 403 and foreign.json()["error"]["data"]["code"] == "tenant_access_denied"


def test_a_foreign_host_or_origin_is_refused_before_the_key_is_read(wsgi_server, org_key):
    evil_origin = _post(wsgi_server, {**headers_for(org_key.token), "Origin": "http://evil.example"}, LIST)
    assert evil_origin.status_code == 403
    rebound = _post(wsgi_server, {**headers_for(org_key.token), "Host": "evil.example"}, LIST)
    assert rebound.status_code in (400, 421)


def test_only_posts_are_served_and_big_bodies_are_refused(wsgi_server, asgi_server, org_key, settings):
    for url in (wsgi_server, asgi_server):
        stream = requests.get(url + "/mcp", headers={**headers_for(org_key.token), "Accept": "text/event-stream"},
                              timeout=10)
        assert stream.status_code == 405 and stream.headers["Allow"] == "POST"
        assert requests.delete(url + "/mcp", headers=headers_for(org_key.token), timeout=10).status_code == 405
        huge = {**LIST, "params": {"padding": "x" * (settings.MCP_MAX_BODY_BYTES + 1)}}
        assert _post(url, headers_for(org_key.token), huge).status_code == 413
    too_big_for_django = {**LIST, "params": {"padding": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}}
    refused = _post(wsgi_server, headers_for(org_key.token), too_big_for_django)
    assert refused.status_code == 413 and refused.json()["error"]["data"]["code"] == "payload_too_large"


def _own_origin_cases(url, token):
    host = url.split("://", 1)[1]
    port = int(host.rsplit(":", 1)[1])
    key = headers_for(token)
    own = _post(url, {**key, "Origin": f"http://{host}"}, LIST)
    assert own.status_code == 200 and "tools" in own.json()["result"]  # a page of this server: same-origin
    # Another port or scheme of the same name is another origin; a rebound name comes as Host and Origin both.
    assert _post(url, {**key, "Origin": f"http://127.0.0.1:{port + 1}"}, LIST).status_code == 403
    assert _post(url, {**key, "Origin": f"https://{host}"}, LIST).status_code == 403
    rebound = _post(url, {**key, "Host": "evil.example", "Origin": "http://evil.example"}, LIST)
    assert rebound.status_code in (400, 421)  # Django's DisallowedHost under WSGI, the SDK's 421 under ASGI


def test_the_servers_own_origin_is_same_origin_and_accepted(wsgi_server, org_key):
    _own_origin_cases(wsgi_server, org_key.token)


def test_the_asgi_process_accepts_its_own_origin_too(asgi_server, org_key):
    _own_origin_cases(asgi_server, org_key.token)


def test_the_asgi_process_serves_mcp_with_its_lifespan(asgi_server, org_key):
    async def body():
        async with mcp_session(asgi_server, org_key.token, mode="2026-07-28") as client:
            assert "test.echo" not in _names(await client.list_tools())  # another process: no test provider
    run(body)


def test_two_processes_answer_one_clients_consecutive_requests(two_asgi_servers, org_key):
    first, second = two_asgi_servers
    seen = []

    async def body():
        async with mcp_session(first, org_key.token, mode="legacy", alternate=second, seen=seen) as client:
            for _ in range(3):
                listed = await client.list_tools()
                assert all(tool.name.startswith("plexica.") or "." in tool.name for tool in listed.tools)
    run(body)
    ports = {int(url.rsplit(":", 1)[1]) for url in two_asgi_servers}
    assert set(seen) == ports  # the handshake and the requests after it went to both
