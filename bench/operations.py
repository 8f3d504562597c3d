"""What the benchmark measures. To add an operation, append an Operation to OPERATIONS.

`path`, string values in `headers` and (recursively) in `body` are formatted with the seed context
(bench/seed.py): {org}, {service_id}, {service_name}, {crm_key}, {analytics_key}, ... If the new
operation needs more data, seed it in bench/seed.py and return it in the context.

`{client}` is the number of the client sending the request (0 to concurrency - 1): each client then
sends its own request, for example to write its own shared-data key. bench/seed.py gets the number of
clients (--clients) to create what each one needs.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    key: str | None = "analytics_key"  # context entry holding the API key; None: no credentials
    body: object = None  # sent as JSON when not None
    headers: dict = field(default_factory=dict)
    target: str = "plexica"  # "plexica" (gunicorn), "plexica-nometrics" (a second one, METRICS_ENABLED=0),
    # "plexica-asgi" (uvicorn serving plexica.asgi, started beside gunicorn) or "upstream" (the upstream, directly)
    default: bool = True  # run without --ops; False: only when named in --ops
    sign_with: str | None = None  # context entry holding a webhook secret: adds X-Hub-Signature-256
    unique_header: str | None = None  # a header given a value never sent before, on every request
    worker: bool = False  # needs a running Celery worker: bench/run.py starts one for these operations only
    # (body) -> None when a 2xx answer is a success, else what failed ("isError upstream_error"): counted as
    # an error under that label. For answers whose status does not say (JSON-RPC: a failed tool is a 200).
    outcome: Callable | None = None


GATEWAY = "/api/plugin-gateway"
INTEGRATION_EXECUTE = ("/api/v1/integrations/instances/{integration_instance}"
                       "/methods/{integration_method}/execute")
CONTACTS_QUERY = {"limit": "10"}
CALL = {
    "callerPluginId": "plugin-analytics", "targetPluginId": "plugin-crm",
    "targetServiceName": "crm.contacts", "method": "GET", "path": "/contacts",
    "headers": {"Accept": "application/json"}, "query": CONTACTS_QUERY,
}
# What shared-set writes (bench/seed.py seeds the entries with it too): a small object, as a cache entry.
SHARED_VALUE = {"count": 1250, "lastSync": "2026-01-31T12:00:00Z", "sources": ["import", "api"]}

# MCP (issue 16): revision 2026-07-28, one self-contained POST a request. The SDK checks that the routing
# headers repeat the body (mcp/shared/inbound.py): MCP-Protocol-Version its envelope's version, Mcp-Method its
# method, Mcp-Name a tools/call's tool name.
MCP_VERSION = "2026-07-28"
MCP_META = {"io.modelcontextprotocol/protocolVersion": MCP_VERSION, "io.modelcontextprotocol/clientCapabilities": {}}


def mcp_request(method, params, name=None):
    """(body, headers) of one MCP request; `name` ("{placeholder}") is the tool a tools/call names."""
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": MCP_VERSION,
               "Mcp-Method": method}
    if name is not None:
        headers["Mcp-Name"] = name
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": MCP_META}}
    return body, headers


def mcp_tool_call(name, arguments):
    return mcp_request("tools/call", {"name": name, "arguments": arguments}, name)


def mcp_outcome(body):
    """None for a JSON-RPC result that is not a tool's failure; else "rpc <code>" or "isError <the tool's code>"."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "not JSON"
    if "error" in answer:
        return f"rpc {answer['error'].get('code')}"
    result = answer.get("result") or {}
    if result.get("isError"):
        try:
            code = json.loads(result["content"][0]["text"]).get("code")
        except (LookupError, TypeError, ValueError):
            code = None
        return f"isError {code}"
    return None


MCP_INTEGRATION = mcp_tool_call("{mcp_integration_tool}", {"limit": int(CONTACTS_QUERY["limit"])})
MCP_ENDPOINT = mcp_tool_call("{mcp_endpoint_tool}", {"limit": int(CONTACTS_QUERY["limit"])})
MCP_LIST = mcp_request("tools/list", {})

OPERATIONS = [
    # The floor: a Django request that touches neither the database nor the cache (--ops healthz,...).
    Operation("healthz", "GET", "/healthz", key=None, default=False),
    Operation("discover", "GET", f"{GATEWAY}/services/discover/crm.contacts"),
    Operation("heartbeat", "POST", f"{GATEWAY}/services/{{service_id}}/heartbeat", key="crm_key"),
    Operation("list", "GET", f"{GATEWAY}/services"),
    Operation("call", "POST", f"{GATEWAY}/call", body=CALL),
    # The same call to a second gunicorn started with METRICS_ENABLED=0 (only when named): `call` minus this
    # is what the Prometheus series cost a gateway call.
    Operation("call-nometrics", "POST", f"{GATEWAY}/call", body=CALL, target="plexica-nometrics", default=False),
    # GET /metrics (the run's METRICS_TOKEN) once the run called each of 500 plugins' services through the
    # gateway (bench/seed.py seed_metrics_plugins): every series of 500 plugins, summed over the 4 workers.
    Operation("metrics-scrape", "GET", "/metrics", key="metrics_token", headers={"Accept": "text/plain"},
              default=False),
    # The request the gateway makes for "call", sent straight to the upstream with the same headers.
    Operation(
        "direct", "GET", "/contacts?limit=10", key=None, target="upstream",
        headers={"Accept": "application/json", "X-Tenant-ID": "{org_id}", "X-Tenant-Slug": "{org}",
                 "X-Caller-Plugin-ID": "plugin-analytics", "X-Request-ID": "bench"},
    ),
    # MCP (issue 16) on the ASGI process: plugin-analytics' tools/call of crm.contacts' GET /contacts tool (the
    # endpoint is registered with metadata.inputSchema): the gateway call `call` makes, GET /contacts?limit=10.
    Operation("mcp-endpoint", "POST", "/mcp", target="plexica-asgi", outcome=mcp_outcome,
              body=MCP_ENDPOINT[0], headers=MCP_ENDPOINT[1]),
    # The same to gunicorn, through the WSGI bridge (mcp_server/bridge.py; only when named).
    Operation("mcp-endpoint-wsgi", "POST", "/mcp", outcome=mcp_outcome, default=False,
              body=MCP_ENDPOINT[0], headers=MCP_ENDPOINT[1]),
    # tools/list for the same key (only when named): every provider's tools for plugin-analytics.
    Operation("mcp-list", "POST", "/mcp", target="plexica-asgi", outcome=mcp_outcome, default=False,
              body=MCP_LIST[0], headers=MCP_LIST[1]),
    # plugin-analytics reads an entry plugin-crm owns (every plugin of the org may read).
    Operation("shared-get", "GET", f"{GATEWAY}/shared-data/{{shared_namespace}}/{{shared_key}}"),
    # plugin-crm overwrites its own entry. Each client writes its own key ({client}): set takes a row
    # lock on the key, so one key shared by all clients would measure lock waits, not the endpoint.
    Operation(
        "shared-set", "POST", f"{GATEWAY}/shared-data", key="crm_key",
        body={"namespace": "{shared_namespace}", "key": "{shared_set_prefix}{client}",
              "value": SHARED_VALUE, "ownerId": "plugin-crm"},
    ),
    # The top of a graph of 200 installed plugins, 6 levels of dependencies below it, all satisfied: 200.
    Operation("resolve", "POST", f"{GATEWAY}/dependencies/{{graph_top}}/resolve"),
    # plugin-crm emits a custom event (POST /api/v1/events): the event row, the organization's sequence row
    # and the after-commit publish to the live stream's Redis stream, in one request.
    Operation(
        "emit", "POST", "/api/v1/events", key="crm_key",
        body={"type": "plugin-crm.contact.created", "data": {"contactId": "bench-{client}", "source": "bench"}},
    ),
    # GitHub delivers a push for a mapped repository branch: signed, each with a new delivery id, so every
    # one is verified, stored and routed. The head SHA is the same, so only the first queues a sync.
    Operation(
        "ingress", "POST", "/api/v1/webhooks/connectors/github", key=None,
        body={"ref": "refs/heads/main", "before": "0" * 40, "after": "{push_sha}",
              "repository": {"id": "{repository_id}", "full_name": "{repository_full_name}"},
              "installation": {"id": "{installation_id}"}, "pusher": {"name": "bench"}, "commits": []},
        headers={"X-GitHub-Event": "push"}, sign_with="webhook_secret", unique_header="X-GitHub-Delivery",
    ),
    # plugin-analytics executes the Bench CRM instance's listContacts: GET /contacts?limit=10 at the upstream,
    # the request `direct` sends. Validated, rate limited (a limit it never reaches), recorded, run by a real
    # Celery worker; the request waits for the outcome (Redis BLPOP), answers {"status": "SUCCESS", "data"}.
    Operation(
        "integration-execute", "POST", INTEGRATION_EXECUTE,
        body={"parameters": {"limit": int(CONTACTS_QUERY["limit"])}}, worker=True,
    ),
    # MCP (issue 16) on the ASGI process, as production routes /mcp: plugin-analytics' tools/call of the Bench CRM
    # instance's listContacts tool (the execution integration-execute makes, through the same executor and
    # worker), one POST. The tool's name is the one plexica.tools.list_tools gives this key (bench/seed.py).
    Operation("mcp-integration", "POST", "/mcp", target="plexica-asgi", worker=True, outcome=mcp_outcome,
              body=MCP_INTEGRATION[0], headers=MCP_INTEGRATION[1]),
    # The same with ?async=true: 202 with the queued execution at once; the worker runs it afterwards
    # (bench/integrations.py reports what it finished, and the run waits for the backlog before going on).
    Operation(
        "integration-execute-async", "POST", INTEGRATION_EXECUTE + "?async=true",
        body={"parameters": {"limit": int(CONTACTS_QUERY["limit"])}}, worker=True,
    ),
    # The extensions seed's status of an organization with 500 plugins, each with two services and call
    # counters (bench/seed.py seed_extension_status), as its org key: from recorded state, three queries.
    Operation("ext-status", "GET", "/ext/status", key="ext_key", headers={"X-Tenant-Slug": "{ext_org}"}),
]

# The admin's heaviest pages, as an org admin of an organization with 1,000 rows of every kind (bench/seed.py
# seed_admin_pages): only when named, e.g. --ops admin-dashboard,admin-plugins,admin-plugin,...
ADMIN = {"Cookie": "sessionid={admin_session}", "Accept": "text/html"}
ADMIN_PAGES = [
    ("admin-dashboard", "/admin/"),
    ("admin-search", "/admin/search/?q=bench-0001"),
    ("admin-plugins", "/admin/plugins/plugin/"),
    ("admin-plugin", "/admin/plugins/plugin/{admin_plugin}/change/"),
    ("admin-services", "/admin/registry/pluginservice/"),
    ("admin-config-objects", "/admin/marketplaces/configobject/"),
    ("admin-config-object", "/admin/marketplaces/configobject/{admin_config_object}/change/"),
    ("admin-marketplace", "/admin/marketplaces/marketplace/{admin_marketplace}/change/"),
    ("admin-target", "/admin/connectors/connectortarget/{admin_target}/change/"),
    ("admin-sync-events", "/admin/connectors/syncevent/"),
    ("admin-members", "/admin/tenancy/membership/"),
    ("admin-api-keys", "/admin/tenancy/apikey/"),
    ("admin-grants", "/admin/access/accessgrant/"),
]
OPERATIONS += [Operation(name, "GET", path, key=None, headers=ADMIN, default=False) for name, path in ADMIN_PAGES]

# Derived rows: (label, operation, baseline) -> operation minus baseline at p50 and p95, same run.
DIFFERENCES = [
    ("gateway added latency (call - direct)", "call", "direct"),
    ("integration added latency (integration-execute - direct)", "integration-execute", "direct"),
    ("metrics' cost to a gateway call (call - call-nometrics)", "call", "call-nometrics"),
    ("MCP added latency, integration (mcp-integration - integration-execute)", "mcp-integration",
     "integration-execute"),
    ("MCP added latency, endpoint (mcp-endpoint - call)", "mcp-endpoint", "call"),
    ("MCP bridge vs ASGI (mcp-endpoint-wsgi - mcp-endpoint)", "mcp-endpoint-wsgi", "mcp-endpoint"),
]

# The issues' design targets at 16 concurrent clients, checked and reported (not enforced):
# (operation or difference label, statistic, limit in ms).
TARGETS = [
    ("discover", "p95_ms", 5.0),  # issue 3
    ("heartbeat", "p95_ms", 5.0),  # issue 3
    ("gateway added latency (call - direct)", "p50_ms", 2.0),  # issue 3
    ("shared-get", "p95_ms", 5.0),  # issue 4
    ("shared-set", "p95_ms", 5.0),  # issue 4
    ("resolve", "p95_ms", 20.0),  # issue 4
]
