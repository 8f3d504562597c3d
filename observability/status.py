"""The extension status of an organization's plugins (`/ext/status`, `/ext/{pluginId}/health`), from
recorded state only: the plugins' lifecycle, their services' heartbeats and checks, the gateway's call
counters. Nothing here calls a plugin.

A plugin's `state`, from its lifecycle first and then from its services' health:

    registered   in the catalog, never installed          uninstalled  uninstalled
    disabled     installed, then disabled                 installed    installed, no service healthy yet
    loaded       every service healthy                     degraded     some service degraded or unavailable
    failed       every service unavailable, or none registered any more after the plugin had loaded

`loaded_ms` is the time from the last install to the first healthy service after it (null until then).
Three queries answer for any number of plugins (plugins, services, call counters); capabilities come
from the plugin's grants.
"""

from django.utils import timezone

from plexica.errors import Forbidden, NotFound
from plexica.plugins.models import Plugin
from registry.models import ServiceStatus
from registry.services import derive_status

State = Plugin.LifecycleState

DISCOVERY_SOURCES = ["catalog", "registry"]
HEALTH = {ServiceStatus.HEALTHY: "healthy", ServiceStatus.DEGRADED: "degraded",
          ServiceStatus.UNAVAILABLE: "unhealthy"}
LOADED_STATES = ("loaded", "degraded")


def require_org_principal(principal, doing):
    """Any key or member of the organization may read its plugins' status; tenant data is never anonymous."""
    if principal is None or principal.organization is None:
        raise Forbidden(f"{doing} needs a key or member of the organization.", code="org_capability_required",
                        capability="member")


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def plugin_state(lifecycle_state, service_statuses, loaded_at):
    """The status API's state of a plugin (the table in this module's docstring)."""
    if lifecycle_state == State.REGISTERED:
        return "registered"
    if lifecycle_state == State.UNINSTALLED:
        return "uninstalled"
    if lifecycle_state == State.DISABLED:
        return "disabled"
    if not service_statuses:
        return "failed" if loaded_at else "installed"
    if all(status == ServiceStatus.HEALTHY for status in service_statuses):
        return "loaded"
    if all(status == ServiceStatus.UNAVAILABLE for status in service_statuses):
        return "failed" if loaded_at else "installed"
    return "degraded"


def plugin_health(service_statuses):
    """healthy when every service is, unhealthy when none is healthy (or there is none), else degraded."""
    if not service_statuses:
        return "unhealthy"
    if all(status == ServiceStatus.HEALTHY for status in service_statuses):
        return "healthy"
    if any(status != ServiceStatus.UNAVAILABLE for status in service_statuses):
        return "degraded"
    return "unhealthy"


def loaded_ms(installed_at, loaded_at):
    if installed_at is None or loaded_at is None or loaded_at < installed_at:
        return None
    return round((loaded_at - installed_at).total_seconds() * 1000)


def _services_by_plugin(organization_id, now, plugin_pk=None):
    from registry.models import PluginService

    services = PluginService.objects.filter(organization_id=organization_id)
    if plugin_pk is not None:
        services = services.filter(plugin_id=plugin_pk)
    by_plugin = {}
    for row in services.order_by("service_name").values("plugin_id", "service_name", "version", "last_seen_at"):
        status = derive_status(row["last_seen_at"], now)
        by_plugin.setdefault(row["plugin_id"], []).append({
            "name": row["service_name"], "version": row["version"], "status": status,
            "health": HEALTH[status], "last_heartbeat": _iso(row["last_seen_at"]),
        })
    return by_plugin


def _call_metrics(organization_id):
    """{target plugin id: {requests_total, errors_total, latency_ms_sum}} from the gateway's call counters."""
    from django.db.models import Sum

    from gateway.models import GatewayCallStat

    rows = (GatewayCallStat.objects.filter(organization_id=organization_id).exclude(target_plugin_id="")
            .values("target_plugin_id").annotate(calls=Sum("calls"), errors=Sum("errors"),
                                                 duration=Sum("duration_ms")))
    return {row["target_plugin_id"]: {"requests_total": float(row["calls"]), "errors_total": float(row["errors"]),
                                      "latency_ms_sum": float(row["duration"])} for row in rows}


def _capabilities(plugin):
    requested = (plugin["manifest"] or {}).get("capabilities") if isinstance(plugin["manifest"], dict) else None
    return sorted(c for c in requested if isinstance(c, str)) if isinstance(requested, list) else []


def _extension(plugin, services, metrics):
    statuses = [service["status"] for service in services]
    return {
        "state": plugin_state(plugin["lifecycle_state"], statuses, plugin["loaded_at"]),
        "info": {"id": plugin["plugin_id"], "name": plugin["name"], "version": plugin["version"],
                 "description": plugin["description"]},
        "capabilities": _capabilities(plugin),
        "loaded_ms": loaded_ms(plugin["installed_at"], plugin["loaded_at"]),
        "metrics": metrics.get(plugin["plugin_id"], {"requests_total": 0.0, "errors_total": 0.0,
                                                      "latency_ms_sum": 0.0}),
        "lifecycle_state": plugin["lifecycle_state"],
        "health": plugin_health(statuses) if plugin["lifecycle_state"] in (State.INSTALLED, State.ACTIVE)
        else "unhealthy",
        "services": [{key: value for key, value in service.items() if key != "status"} | {
            "status": service["status"]} for service in services],
    }


PLUGIN_FIELDS = ("pk", "plugin_id", "name", "version", "description", "manifest", "lifecycle_state",
                 "installed_at", "loaded_at")


def extension_status(principal, now=None):
    """The seed's status document for the caller's organization."""
    require_org_principal(principal, "Reading the extension status")
    now = now or timezone.now()
    organization_id = principal.organization.pk
    plugins = list(Plugin.objects.filter(organization_id=organization_id).order_by("plugin_id")
                   .values(*PLUGIN_FIELDS))
    services = _services_by_plugin(organization_id, now)
    metrics = _call_metrics(organization_id)
    extensions = {plugin["plugin_id"]: _extension(plugin, services.get(plugin["pk"], []), metrics)
                  for plugin in plugins}
    states = [extension["state"] for extension in extensions.values()]
    return {
        "extensions": extensions,
        "discovery_sources": DISCOVERY_SOURCES,
        "total_extensions": len(extensions),
        "loaded_extensions": sum(state in LOADED_STATES for state in states),
        "failed_extensions": states.count("failed"),
    }


def extension_health(principal, plugin_id, now=None):
    """The seed's health document of one plugin: (body, healthy?)."""
    require_org_principal(principal, "Reading a plugin's health")
    now = now or timezone.now()
    plugin = (Plugin.objects.filter(organization_id=principal.organization.pk, plugin_id=plugin_id)
              .values(*PLUGIN_FIELDS).first())
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id!r} in this organization.", title="Plugin not found",
                       pluginId=plugin_id)
    services = _services_by_plugin(principal.organization.pk, now, plugin["pk"]).get(plugin["pk"], [])
    statuses = [service["status"] for service in services]
    running = plugin["lifecycle_state"] in (State.INSTALLED, State.ACTIVE)
    status = plugin_health(statuses) if running else "unhealthy"
    body = {
        "status": status,
        "timestamp": _iso(now),
        "version": plugin["version"],
        "checks": {service["name"]: service["health"] for service in services},
        "state": plugin_state(plugin["lifecycle_state"], statuses, plugin["loaded_at"]),
    }
    return body, status == "healthy"
