"""Seed the benchmark's data (idempotent) and print it as JSON on the last line of stdout.

Run by bench/run.py with the benchmark's settings in the environment (DATABASE_URL, REDIS_URL, ...):

    python bench/seed.py --upstream-url http://127.0.0.1:3100 --clients 16 [--mcp]

Everything an operation needs (ids, tokens) goes into the printed context; operations use it as
`{name}` placeholders. Tokens are reissued on every run (only their hashes are stored).
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from operations import SHARED_VALUE  # noqa: E402

from connectors.integrations import definitions as integration_definitions  # noqa: E402
from connectors.integrations import instances as integration_instances  # noqa: E402
from connectors.integrations.execution import breaker as integration_breaker  # noqa: E402
from connectors.integrations.models import (  # noqa: E402
    IntegrationDefinition,
    IntegrationExecution,
    IntegrationInstance,
)
from connectors.models import (  # noqa: E402
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from dependencies.models import PluginDependency  # noqa: E402
from dependencies.resolver import Dependency  # noqa: E402
from dependencies.services import register_dependencies, resolve_dependencies  # noqa: E402
from gateway.services import service_breaker  # noqa: E402
from marketplaces.config_objects.models import ConfigObject  # noqa: E402
from plexica import tools as plexica_tools  # noqa: E402
from plexica.plugins.capabilities import grant_capability  # noqa: E402
from plexica.plugins.models import Plugin  # noqa: E402
from plexica.plugins.services import ensure_plugin, grant_permission  # noqa: E402
from plexica.tenancy.principal import Principal  # noqa: E402
from plexica.tenancy.services import ensure_organization, reissue_api_key  # noqa: E402
from registry.services import Registration, register_service  # noqa: E402
from shareddata.services import Write, set_entry  # noqa: E402

ORG = "bench-org"
CONTACTS_READ = "crm:contacts:read"
SHARED_NAMESPACE = "crm.cache"
SHARED_GET_KEY = "contact_count"
SHARED_SET_PREFIX = "bench-client-"  # shared-set: client n overwrites crm.cache/bench-client-n
GRAPH_PREFIX = "plugin-graph-"
GRAPH_TOP = "plugin-graph-top"
GRAPH_SIZE = 200  # plugins, the top one included
GRAPH_DEPTH = 6  # dependency levels below the top: the longest chain top -> ... -> leaf has 6 edges
INSTALLATION_ID = 4242
REPOSITORY_ID = 90210
REPOSITORY = "bench-org/agent-configs"
ADMIN_ORG = "bench-admin-org"
EXT_ORG = "bench-ext-org"  # ext-status: an organization of EXT_PLUGINS plugins, two services each
EXT_PLUGINS = 500
ADMIN_ROWS = 1000  # rows of every kind the admin pages show (admin-* operations)
PUSH_SHA = "b" * 40  # ingress: every delivery pushes this head, so only the first one queues a sync
INTEGRATION = "Bench CRM"  # integration-execute*: the definition and its one instance
INTEGRATION_METHOD = "listContacts"
# GET /contacts?limit=10 at the upstream, the request `direct` sends. The rate limit is the largest
# definitions.clean allows (1,000,000 a minute, bursts of 100,000): charged on every call, never reached.
INTEGRATION_METHODS = [{
    "name": INTEGRATION_METHOD, "description": "A page of contacts (the request of the benchmark's direct)",
    "paramSchema": {"type": "object", "required": ["limit"], "additionalProperties": False,
                    "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100}}},
    "resultSchema": {"type": "array", "items": {"type": "object", "required": ["id", "name"]}},
    "request": {"method": "GET", "path": "/contacts", "query": {"limit": "{limit}"}},
    "rateLimits": {"requestsPerMinute": 1_000_000, "burstLimit": 100_000},
    "timeoutMs": 10_000,
}]
INTEGRATION_CONFIG_SCHEMA = {"type": "object", "required": ["baseUrl"],
                             "properties": {"baseUrl": {"type": "string"}}}
# mcp-endpoint: GET /contacts of crm.contacts is a tool (metadata.inputSchema; its arguments are the query). The
# bench calls it with {"limit": 10}: the upstream gets GET /contacts?limit=10, the request `call` makes.
CONTACTS_TOOL_SCHEMA = {"type": "object", "additionalProperties": False,
                        "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100}}}


def seed(upstream_url, clients, mcp=False):
    organization, _, _ = ensure_organization(ORG, "Benchmark org")
    crm, _ = ensure_plugin(organization, "plugin-crm")
    analytics, _ = ensure_plugin(organization, "plugin-analytics")
    grant_permission(_admin(organization), analytics.plugin_id, CONTACTS_READ)
    # An endpoint with an inputSchema is a tool only while its plugin holds TOOLS (granting it to the legacy
    # plugin keeps its default ROUTES, EVENTS_PUB and EVENTS_SUB); a second run changes nothing.
    grant_capability(_admin(organization), crm.plugin_id, "TOOLS")
    keys = {}
    for short, plugin in (("crm", crm), ("analytics", analytics)):
        _, token, _ = reissue_api_key(organization, name=f"bench {plugin.plugin_id}", plugin=plugin)
        keys[short] = token
    service, _ = register_service(
        _admin(organization),
        Registration(
            plugin_id="plugin-crm",
            service_name="crm.contacts",
            version="1.0.0",
            base_url=upstream_url,
            endpoints=[
                {"method": "GET", "path": "/contacts", "description": "List contacts",
                 "permissions": [CONTACTS_READ], "metadata": {"inputSchema": CONTACTS_TOOL_SCHEMA}},
                {"method": "GET", "path": "/contacts/:id", "description": "Get a contact",
                 "permissions": [], "metadata": {}},
            ],
            metadata={"description": "Benchmark CRM contacts"},
        ),
    )
    # A breaker opened by an earlier run (say, the upstream was down) must not answer 503 in this one.
    service_breaker(service.pk).reset()
    seed_shared_data(organization, clients)
    seed_dependency_graph(organization)
    target = seed_github_target(organization)
    integration = seed_integration(organization, upstream_url)
    admin_context = seed_admin_pages()
    ext_key = seed_extension_status()
    metrics_plugins = seed_metrics_plugins(organization, upstream_url)
    mcp_tools = find_mcp_tools(keys["analytics"], integration, service) if mcp else {}
    return {
        **mcp_tools,
        **admin_context,
        "ext_org": EXT_ORG,
        "ext_key": ext_key,
        "metrics_plugins": metrics_plugins,
        "integration_instance": integration.pk,
        "integration_method": INTEGRATION_METHOD,
        "org": ORG,
        "org_id": str(organization.pk),
        "service_id": service.pk,
        "service_name": service.service_name,
        "upstream_url": upstream_url,
        "crm_key": keys["crm"],
        "analytics_key": keys["analytics"],
        "shared_namespace": SHARED_NAMESPACE,
        "shared_key": SHARED_GET_KEY,
        "shared_set_prefix": SHARED_SET_PREFIX,
        "graph_top": GRAPH_TOP,
        "webhook_secret": settings.GITHUB_WEBHOOK_SECRET,
        "installation_id": INSTALLATION_ID,
        "repository_id": REPOSITORY_ID,
        "repository_full_name": REPOSITORY,
        "push_sha": PUSH_SHA,
        "target_id": target.pk,
        "facts": backend_facts(),
    }


def seed_extension_status():
    """EXT_ORG with EXT_PLUGINS active plugins, each loaded, with two services and an hour of call counters
    from a caller plugin; returns a fresh org key."""
    from datetime import timedelta

    from django.utils import timezone

    from gateway.models import GatewayCallStat
    from registry.models import PluginService

    organization, _, _ = ensure_organization(EXT_ORG, "Benchmark extensions org")
    now = timezone.now()
    existing = set(Plugin.objects.filter(organization=organization).values_list("plugin_id", flat=True))
    wanted = [f"plugin-ext-{i:04d}" for i in range(EXT_PLUGINS)]
    Plugin.objects.bulk_create([
        Plugin(organization=organization, plugin_id=plugin_id, name=f"Extension {plugin_id[-4:]}", version="1.2.3",
               description="A benchmark plugin", manifest={"capabilities": ["ROUTES", "EVENTS_PUB"]},
               lifecycle_state=Plugin.LifecycleState.ACTIVE, installed_at=now - timedelta(hours=1),
               loaded_at=now - timedelta(hours=1) + timedelta(milliseconds=1500))
        for plugin_id in wanted if plugin_id not in existing])
    plugins = list(Plugin.objects.filter(organization=organization, plugin_id__in=wanted).order_by("plugin_id"))
    if not PluginService.objects.filter(organization=organization).exists():
        PluginService.objects.bulk_create([
            PluginService(organization=organization, plugin=plugin, service_name=f"{plugin.plugin_id}.{kind}",
                          version="1.2.3", base_url="http://127.0.0.1:9")
            for plugin in plugins for kind in ("api", "worker")])
    PluginService.objects.filter(organization=organization).update(last_seen_at=now)
    if not GatewayCallStat.objects.filter(organization=organization).exists():
        hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        GatewayCallStat.objects.bulk_create([
            GatewayCallStat(organization=organization, hour=hour, caller=plugins[0], target_plugin_id=plugin.plugin_id,
                            calls=100 + i, errors=i % 7, duration_ms=1000 + i) for i, plugin in enumerate(plugins)])
    return reissue_api_key(organization, name="bench ext-status")[1]


METRICS_PLUGINS = 500  # metrics-scrape: plugins whose services the run calls once each before the scrape


def seed_metrics_plugins(organization, upstream_url):
    """`plugin-metrics-000` .. `-499`, each with a service `metrics-NNN.contacts` at the upstream (GET /contacts,
    no permission): bench/run.py calls each once through the gateway, so /metrics holds the extension series of
    500 plugins when metrics-scrape measures it. Registering again refreshes the heartbeat. Returns
    [[plugin id, service name]]."""
    found = []
    for n in range(METRICS_PLUGINS):
        plugin, _ = ensure_plugin(organization, f"plugin-metrics-{n:03d}")
        service_name = f"metrics-{n:03d}.contacts"
        register_service(_admin(organization), Registration(
            plugin_id=plugin.plugin_id, service_name=service_name, version="1.0.0", base_url=upstream_url,
            endpoints=[{"method": "GET", "path": "/contacts", "description": "List contacts", "permissions": [],
                        "metadata": {}}]))
        found.append([plugin.plugin_id, service_name])
    return found


def seed_admin_pages():
    """The admin pages' data: organization ADMIN_ORG (apart from bench-org, whose API lists it would change)
    with ADMIN_ROWS rows of every kind (tests/adminsite/bulk.py), and a session of one of its admins."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from plexica.tenancy.models import Membership
    from plexica.tenancy.services import add_member, ensure_user
    from tests.adminsite.bulk import bulk_rows

    organization, _, _ = ensure_organization(ADMIN_ORG, "Benchmark admin org")
    if not Plugin.objects.filter(organization=organization, plugin_id__startswith="plugin-bench-").exists():
        bulk_rows(organization, ADMIN_ROWS, tag="bench")
    user, _ = ensure_user("bench-admin", is_staff=True)
    add_member(organization, user, Membership.Role.ADMIN)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    from marketplaces.catalog.models import Marketplace

    def first(model, **lookups):
        return model.objects.filter(organization=organization, **lookups).order_by("pk").first().pk

    return {
        "admin_session": session.session_key,
        "admin_plugin": first(Plugin, plugin_id__startswith="plugin-bench-"),
        "admin_config_object": first(ConfigObject),
        "admin_marketplace": first(Marketplace),
        "admin_target": first(ConnectorTarget),
    }


def seed_github_target(organization):
    """A GitHub App installation syncing bench-org/agent-configs@main: skills/** become skills."""
    account, _ = ConnectorAccount.objects.update_or_create(
        organization=organization, installation_id=INSTALLATION_ID,
        defaults={"account_login": "bench-org", "account_type": "Organization", "status": "active"},
    )
    instance, _ = ConnectorInstance.objects.update_or_create(
        organization=organization, name="bench agent configs", defaults={"account": account, "status": "active"},
    )
    target, _ = ConnectorTarget.objects.update_or_create(
        organization=organization, instance=instance, repository_id=REPOSITORY_ID, branch="main",
        defaults={"repository_full_name": REPOSITORY, "status": "active"},
    )
    ConnectorMapping.objects.get_or_create(organization=organization, target=target, selector="skills/**",
                                           defaults={"object_type": "skill"})
    # Every run syncs the repository from scratch: earlier runs' objects (and their bindings) and events go.
    ConfigObject.objects.filter(organization=organization, source_mode=ConfigObject.SourceMode.CONNECTOR).delete()
    SyncEvent.objects.filter(target=target).delete()
    ConnectorTarget.objects.filter(pk=target.pk).update(last_synced_sha="", last_synced_at=None)
    return target


def seed_integration(organization, upstream_url):
    """The published Bench CRM definition (authType none, baseUrl required) and its CONNECTED instance at
    this run's upstream, through the services; earlier runs' executions of the instance are removed.

    A published definition is immutable, so its version carries a digest of what the benchmark defines
    (1.0.0+<digest>): a change to INTEGRATION_METHODS publishes a new version and moves the instance to it.
    The upstream's port changes every run: the instance's own config holds this run's baseUrl (the
    definition's defaultConfig keeps the one it was created with)."""
    admin = _admin(organization)
    spec = json.dumps([INTEGRATION_METHODS, INTEGRATION_CONFIG_SCHEMA], sort_keys=True).encode()
    version = f"1.0.0+{hashlib.sha256(spec).hexdigest()[:12]}"
    definition = IntegrationDefinition.objects.filter(organization=organization, name=INTEGRATION,
                                                      version=version).first()
    if definition is None:
        definition = integration_definitions.create(
            admin, name=INTEGRATION, version=version,
            description="The benchmark's upstream (bench/upstream.py)", auth_type="none",
            methods=INTEGRATION_METHODS, config_schema=INTEGRATION_CONFIG_SCHEMA,
            default_config={"baseUrl": upstream_url})
    if definition.status == IntegrationDefinition.Status.DRAFT:
        definition = integration_definitions.transition(admin, definition.pk,
                                                        IntegrationDefinition.Status.PUBLISHED)
    config = {"baseUrl": upstream_url}
    instance = IntegrationInstance.objects.filter(organization=organization, name=INTEGRATION).first()
    if instance is None:
        instance = integration_instances.create(admin, definition_id=definition.pk, name=INTEGRATION,
                                                config=config)
    else:
        instance = integration_instances.update(admin, instance.pk, config=config,
                                                definition_id=definition.pk)
    if instance.status != IntegrationInstance.Status.CONNECTED:
        raise SystemExit(f"seed: the {INTEGRATION} instance is {instance.status} ({instance.status_reason}), "
                         "not CONNECTED")
    IntegrationExecution.objects.filter(instance=instance).delete()
    integration_breaker(instance.pk, INTEGRATION_METHOD).reset()  # no 503 for an earlier run's failures
    return instance


def find_mcp_tools(token, integration, service):
    """The names of the tools the mcp-* operations call, as plexica.tools.list_tools gives them to plugin-analytics'
    key (authenticated as the MCP server does): the Bench CRM instance's listContacts, and crm.contacts' GET
    /contacts. The seed stops, naming what it found, when either is missing."""
    from mcp_server.auth import Refused, authenticate

    try:
        principal = authenticate(f"Bearer {token}", ORG)
    except Refused as refused:
        raise SystemExit(f"seed: the MCP server would refuse plugin-analytics' key: {refused.message}") from None
    found = plexica_tools.list_tools(principal)

    def one(what, matches):
        names = [tool.name for tool in found if matches(tool)]
        if len(names) != 1:
            listed = ", ".join(f"{tool.name} ({tool.source}, {tool.meta})" for tool in found) or "none"
            raise SystemExit(f"seed: plugin-analytics' key has {len(names) or 'no'} MCP tool(s) for {what} "
                             f"(tools/list: {listed}); the mcp-* operations need exactly one")
        return names[0]

    return {
        "mcp_integration_tool": one(
            f"the {INTEGRATION} instance's {INTEGRATION_METHOD} ({integration.pk})",
            lambda tool: tool.source == "integration" and tool.meta.get("instanceId") == integration.pk
            and tool.meta.get("method") == INTEGRATION_METHOD),
        "mcp_endpoint_tool": one(
            f"GET /contacts of {service.service_name}",
            lambda tool: tool.source == "plugin" and tool.meta.get("pluginId") == "plugin-crm"
            and tool.meta.get("serviceName") == service.service_name and tool.meta.get("method") == "GET"
            and tool.meta.get("path") == "/contacts"),
    }


def _admin(organization):
    """The organization acting as a whole (what an org key or admin can do), for the services below."""
    return Principal.system(organization)


def seed_shared_data(organization, clients):
    """plugin-crm's entry for shared-get, and one entry per client for shared-set to overwrite."""
    admin = _admin(organization)
    for key in [SHARED_GET_KEY] + [f"{SHARED_SET_PREFIX}{client}" for client in range(clients)]:
        set_entry(admin, Write(SHARED_NAMESPACE, key, SHARED_VALUE, owner_id="plugin-crm"))


def _level_sizes():
    """How many plugins each level below the top holds: 199 over 6 levels, 33 or 34 each."""
    below = GRAPH_SIZE - 1
    return [below // GRAPH_DEPTH + (level < below % GRAPH_DEPTH) for level in range(GRAPH_DEPTH)][::-1]


def _graph_version(level, index):
    return f"{1 + index % 4}.{level}.{index}"


def _graph_range(version, variant):
    """A range `version` satisfies, in one of the npm range forms (caret, tilde, x, hyphen, ||, ...)."""
    major, minor, patch = (int(part) for part in version.split("."))
    return [
        f"^{major}.{minor}.0",
        f"~{major}.{minor}.0",
        f">={major}.0.0 <{major + 1}.0.0",
        f"{major}.x",
        f"{major}.0.0 - {major}.{minor}.{patch}",
        f"^{major + 1}.0.0 || ~{major}.{minor}",
        f">={major}.{minor}.{patch}",
    ][variant % 7]


def graph_plan():
    """({plugin_id: version}, [Dependency]) of the benchmark's dependency graph.

    GRAPH_TOP depends on every plugin of level 1; a plugin of level l (1..5) requires three plugins of
    level l + 1, every third one also one of level l + 2 (diamonds), every fifth one optionally one more
    of level l + 1 (installed, so followed). Every plugin is reached from the top, every edge goes down
    at least one level, so the longest chain has GRAPH_DEPTH edges; every range is satisfied.
    """
    sizes = _level_sizes()
    ids = {(level, index): f"{GRAPH_PREFIX}{level}-{index:02d}"
           for level in range(1, GRAPH_DEPTH + 1) for index in range(sizes[level - 1])}
    versions = {GRAPH_TOP: "1.0.0"} | {ids[node]: _graph_version(*node) for node in ids}
    edges = {}  # (from, to) -> Dependency; one edge per pair

    def add(source, level, index, required=True):
        target = ids[(level, index % sizes[level - 1])]
        variant = len(edges)
        version_range = _graph_range(versions[target], variant)
        edges.setdefault((source, target), Dependency(source, target, version_range, required))

    for index in range(sizes[0]):
        add(GRAPH_TOP, 1, index)
    for (level, index), source in ids.items():
        if level == GRAPH_DEPTH:
            continue
        for step in (0, 1, 11):
            add(source, level + 1, index + step)
        if index % 3 == 0 and level + 2 <= GRAPH_DEPTH:
            add(source, level + 2, index * 5)
        if index % 5 == 0:
            add(source, level + 1, index + 17, required=False)
    return versions, list(edges.values())


def seed_dependency_graph(organization):
    """GRAPH_SIZE installed plugins and their dependencies; checks that resolving the top is valid."""
    versions, dependencies = graph_plan()
    installed = Plugin.LifecycleState.INSTALLED
    for plugin_id, version in versions.items():
        plugin, created = ensure_plugin(organization, plugin_id, version=version, lifecycle_state=installed)
        if not created and (plugin.version, plugin.lifecycle_state) != (version, installed):
            Plugin.objects.filter(pk=plugin.pk).update(version=version, lifecycle_state=installed)
    # Replaces the lists of the plugins that declare dependencies; leaves declare none, so clear theirs.
    register_dependencies(_admin(organization), dependencies)
    sources = {dependency.plugin_id for dependency in dependencies}
    PluginDependency.objects.filter(
        organization=organization, plugin__plugin_id__startswith=GRAPH_PREFIX
    ).exclude(plugin__plugin_id__in=sources).delete()
    resolution = resolve_dependencies(_admin(organization), GRAPH_TOP)
    if not resolution.valid or resolution.warnings or len(resolution.install_order or ()) != GRAPH_SIZE:
        raise SystemExit(f"seed: resolving {GRAPH_TOP} is not a valid plan of {GRAPH_SIZE} plugins: "
                         f"{resolution.as_wire()}")


def backend_facts():
    facts = {"database": connection.vendor, "database_version": None, "cache": cache.__class__.__name__,
             "cache_version": None}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            facts["database_version"] = cursor.fetchone()[0]
    elif connection.vendor == "sqlite":
        import sqlite3

        facts["database_version"] = sqlite3.sqlite_version
    try:
        from django_redis import get_redis_connection

        facts["cache"] = "redis"
        facts["cache_version"] = get_redis_connection("default").info()["redis_version"]
    except (ImportError, NotImplementedError):
        pass
    return facts


def main(argv=None):
    parser = argparse.ArgumentParser(description="Seed the benchmark data.")
    parser.add_argument("--upstream-url", required=True)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (shared-set: a key each)")
    parser.add_argument("--mcp", action="store_true", help="find the MCP tools the mcp-* operations call")
    args = parser.parse_args(argv)
    print(json.dumps(seed(args.upstream_url, args.clients, args.mcp)), flush=True)


if __name__ == "__main__":
    main()
