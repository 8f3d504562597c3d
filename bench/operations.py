"""What the benchmark measures. To add an operation, append an Operation to OPERATIONS.

`path`, string values in `headers` and (recursively) in `body` are formatted with the seed context
(bench/seed.py): {org}, {service_id}, {service_name}, {crm_key}, {analytics_key}, ... If the new
operation needs more data, seed it in bench/seed.py and return it in the context.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    key: str | None = "analytics_key"  # context entry holding the API key; None: no credentials
    body: object = None  # sent as JSON when not None
    headers: dict = field(default_factory=dict)
    target: str = "plexica"  # "plexica" (gunicorn) or "upstream" (the upstream server, directly)
    default: bool = True  # run without --ops; False: only when named in --ops


GATEWAY = "/api/plugin-gateway"
CONTACTS_QUERY = {"limit": "10"}

OPERATIONS = [
    # The floor: a Django request that touches neither the database nor the cache (--ops healthz,...).
    Operation("healthz", "GET", "/healthz", key=None, default=False),
    Operation("discover", "GET", f"{GATEWAY}/services/discover/crm.contacts"),
    Operation("heartbeat", "POST", f"{GATEWAY}/services/{{service_id}}/heartbeat", key="crm_key"),
    Operation("list", "GET", f"{GATEWAY}/services"),
    Operation(
        "call", "POST", f"{GATEWAY}/call",
        body={
            "callerPluginId": "plugin-analytics", "targetPluginId": "plugin-crm",
            "targetServiceName": "crm.contacts", "method": "GET", "path": "/contacts",
            "headers": {"Accept": "application/json"}, "query": CONTACTS_QUERY,
        },
    ),
    # The request the gateway makes for "call", sent straight to the upstream with the same headers.
    Operation(
        "direct", "GET", "/contacts?limit=10", key=None, target="upstream",
        headers={"Accept": "application/json", "X-Tenant-ID": "{org_id}", "X-Tenant-Slug": "{org}",
                 "X-Caller-Plugin-ID": "plugin-analytics", "X-Request-ID": "bench"},
    ),
]

# Derived rows: (label, operation, baseline) -> operation minus baseline at p50 and p95, same run.
DIFFERENCES = [("gateway added latency (call - direct)", "call", "direct")]

# The design targets, checked and reported (not enforced): (operation or difference label,
# statistic, limit in ms).
TARGETS = [
    ("discover", "p95_ms", 5.0),
    ("heartbeat", "p95_ms", 5.0),
    ("gateway added latency (call - direct)", "p50_ms", 2.0),
]
