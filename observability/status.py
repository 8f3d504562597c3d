"""The extension status of an organization's plugins (`/ext/status`, `/ext/{pluginId}/health`), from
recorded state only: the plugins' lifecycle, their services' heartbeats and checks, the gateway's call
counters. Nothing here calls a plugin.

A plugin's `state`, from its lifecycle first and then from its services' health:

    registered   in the catalog, never installed          uninstalled  uninstalled
    disabled     installed, then disabled                 installed    installed, no service healthy yet
    loaded       every service healthy                     degraded     some service degraded or unavailable
    failed       every service unavailable, or none registered any more after the plugin had loaded

`loaded_ms` is the time from the last install to the first healthy service after it (null until then).
Four queries answer for any number of plugins (plugins, services, capability grants, the call
statistics); `capabilities` are the ones the plugin holds (plexica.plugins.capabilities).
"""

from datetime import timedelta

from django.db.models import (BooleanField, Case, CharField, DurationField, ExpressionWrapper, F, Func, Q, Value,
                              When)
from django.utils import timezone

from plexica.errors import Forbidden, NotFound
from plexica.plugins import capabilities
from plexica.plugins.models import Plugin, PluginCapabilityGrant
from registry.models import PluginService, ServiceStatus
from registry.services import status_q

State = Plugin.LifecycleState

DISCOVERY_SOURCES = ["catalog", "registry"]
HEALTH = {ServiceStatus.HEALTHY: "healthy", ServiceStatus.DEGRADED: "degraded",
          ServiceStatus.UNAVAILABLE: "unhealthy"}
LOADED_STATES = ("loaded", "degraded")
RUNNING = (State.INSTALLED, State.ACTIVE)
ZERO = timedelta(0)


def require_org_principal(principal, doing):
    """Any key or member of the organization may read its plugins' status; tenant data is never anonymous."""
    if principal is None or principal.organization is None:
        raise Forbidden(f"{doing} needs a key or member of the organization.", code="org_capability_required",
                        capability="member")


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def plugin_state(lifecycle_state, service_statuses, loaded):
    """The status API's state of a plugin (the table in this module's docstring)."""
    if lifecycle_state == State.REGISTERED:
        return "registered"
    if lifecycle_state == State.UNINSTALLED:
        return "uninstalled"
    if lifecycle_state == State.DISABLED:
        return "disabled"
    if not service_statuses:
        return "failed" if loaded else "installed"
    if all(status == ServiceStatus.HEALTHY for status in service_statuses):
        return "loaded"
    if all(status == ServiceStatus.UNAVAILABLE for status in service_statuses):
        return "failed" if loaded else "installed"
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


class IsoTimestamp(Func):
    """A timestamp as ISO 8601 text in UTC with a Z, made by the database (cheaper than a datetime a row)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]": a T between and a Z after.
        return self.as_sql(compiler, connection, template="replace(%(expressions)s, ' ', 'T') || 'Z'", **extra)


def _service_rows(services, now):
    """{plugin pk: [service dicts]} of a PluginService queryset, status derived and heartbeat formatted by the
    database."""
    rows = services.order_by("plugin_id", "service_name").annotate(
        # registry.services' derivation of a service's status, as the discovery and the dashboard apply it
        derived=Case(When(status_q(ServiceStatus.HEALTHY, now), then=Value(ServiceStatus.HEALTHY.value)),
                     When(status_q(ServiceStatus.DEGRADED, now), then=Value(ServiceStatus.DEGRADED.value)),
                     default=Value(ServiceStatus.UNAVAILABLE.value), output_field=CharField()),
        heartbeat=IsoTimestamp("last_seen_at"),
        checked=IsoTimestamp("last_check_at"),
    ).values_list("plugin_id", "service_name", "version", "derived", "heartbeat", "checked", "last_check_outcome")
    by_plugin = {}
    for plugin_pk, name, version, status, heartbeat, checked, outcome in rows:
        by_plugin.setdefault(plugin_pk, []).append({
            "name": name, "version": version, "status": status, "health": HEALTH[status],
            "last_heartbeat": heartbeat,
            "last_check": {"at": checked, "outcome": outcome} if checked else None})
    return by_plugin


def _services_by_plugin(organization_id, now, plugin_pk=None):
    services = PluginService.objects.filter(organization_id=organization_id)
    if plugin_pk is not None:
        services = services.filter(plugin_id=plugin_pk)
    return _service_rows(services, now)


def running_plugin_states(plugins, now=None):
    """[{"plugin_pk", "plugin_id", "name", "organization_id", "state", "health", "services"}] of the installed
    or enabled plugins of a Plugin queryset (the admin's dashboard: any organizations): two queries."""
    now = now or timezone.now()
    running = plugins.filter(lifecycle_state__in=RUNNING)
    services = _service_rows(PluginService.objects.filter(plugin__in=running.values("pk")), now)
    states = []
    for pk, plugin_id, name, organization_id, lifecycle_state, loaded in running.order_by("plugin_id", "pk").annotate(
            loaded=ExpressionWrapper(Q(loaded_at__isnull=False), output_field=BooleanField())).values_list(
            "pk", "plugin_id", "name", "organization_id", "lifecycle_state", "loaded"):
        own = services.get(pk, [])
        statuses = [service["status"] for service in own]
        states.append({"plugin_pk": pk, "plugin_id": plugin_id, "name": name, "organization_id": organization_id,
                       "state": plugin_state(lifecycle_state, statuses, loaded),
                       "health": plugin_health(statuses), "services": own})
    return states


def _call_metrics(organization_id, plugin_pks):
    """{target plugin id: {requests_total, errors_total, latency_ms_sum}}: the gateway's call statistics, the
    counters the admin's charts read (gateway.callstats.plugin_totals), as the seed's floats."""
    from gateway.callstats import plugin_totals

    return {plugin_id: {name: float(value) for name, value in totals.items()}
            for plugin_id, totals in plugin_totals(organization_id, caller_pks=plugin_pks).items()}


def _granted(organization_id):
    """{plugin pk: [capabilities held]} for the plugins with grant rows (plexica.plugins.capabilities' rule: a
    plugin without any row and without `capabilities` in its manifest holds LEGACY_DEFAULT), one query."""
    rows = {}
    for plugin_pk, capability, revoked_at in PluginCapabilityGrant.objects.filter(
            organization_id=organization_id).values_list("plugin_id", "capability", "revoked_at"):
        held = rows.setdefault(plugin_pk, [])
        if revoked_at is None:
            held.append(capability)
    return {pk: capabilities.ordered(held) for pk, held in rows.items()}


def _held(row, granted):
    pk, declares = row[0], row[8]
    if pk in granted:
        return granted[pk]
    return [] if declares else list(capabilities.LEGACY_DEFAULT)


def _plugins(organization_id):
    """The plugins' rows, with `loaded_for` (loaded_at - installed_at, or None) and `loaded` (a first healthy
    service since the install) computed by the database instead of two timestamps a row."""
    return Plugin.objects.filter(organization_id=organization_id).order_by("plugin_id").annotate(
        loaded_for=ExpressionWrapper(F("loaded_at") - F("installed_at"), output_field=DurationField()),
        loaded=ExpressionWrapper(Q(loaded_at__isnull=False), output_field=BooleanField()),
        declares=ExpressionWrapper(Q(manifest__has_key="capabilities"), output_field=BooleanField()),
    ).values_list("pk", "plugin_id", "name", "version", "description", "lifecycle_state", "loaded_for", "loaded",
                  "declares")


def _loaded_ms(loaded_for):
    return round(loaded_for.total_seconds() * 1000) if loaded_for is not None and loaded_for >= ZERO else None


NO_CALLS = {"requests_total": 0.0, "errors_total": 0.0, "latency_ms_sum": 0.0}


def _extension(row, services, metrics, held):
    _, plugin_id, name, version, description, lifecycle_state, loaded_for, loaded, _ = row
    statuses = [service["status"] for service in services]
    return {
        "state": plugin_state(lifecycle_state, statuses, loaded),
        "info": {"id": plugin_id, "name": name, "version": version, "description": description},
        "capabilities": held,
        "loaded_ms": _loaded_ms(loaded_for),
        "metrics": metrics.get(plugin_id, NO_CALLS),
        "lifecycle_state": lifecycle_state,
        "health": plugin_health(statuses) if lifecycle_state in RUNNING else "unhealthy",
        "services": services,
    }


def extension_status(principal, now=None):
    """The seed's status document for the caller's organization."""
    require_org_principal(principal, "Reading the extension status")
    now = now or timezone.now()
    organization_id = principal.organization.pk
    plugins = list(_plugins(organization_id))
    services = _services_by_plugin(organization_id, now)
    metrics = _call_metrics(organization_id, {str(row[0]) for row in plugins})
    granted = _granted(organization_id)
    extensions = {row[1]: _extension(row, services.get(row[0], []), metrics, _held(row, granted))
                  for row in plugins}
    states = [extension["state"] for extension in extensions.values()]
    return {
        "extensions": extensions,
        "discovery_sources": DISCOVERY_SOURCES,
        "total_extensions": len(extensions),
        "loaded_extensions": sum(state in LOADED_STATES for state in states),
        "failed_extensions": states.count("failed"),
    }


def extension_health(principal, plugin_id, now=None):
    """The seed's health document of one plugin of the caller's organization: (body, healthy?)."""
    require_org_principal(principal, "Reading a plugin's health")
    plugin = (Plugin.objects.filter(organization_id=principal.organization.pk, plugin_id=plugin_id)
              .only("pk", "organization_id", "version", "lifecycle_state", "loaded_at").first())
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id!r} in this organization.", title="Plugin not found",
                       pluginId=plugin_id)
    return extension_health_of(plugin, now)


def extension_health_of(plugin, now=None):
    """(body, healthy?) of a Plugin (the caller has been authorized for it)."""
    now = now or timezone.now()
    services = _services_by_plugin(plugin.organization_id, now, plugin.pk).get(plugin.pk, [])
    statuses = [service["status"] for service in services]
    status = plugin_health(statuses) if plugin.lifecycle_state in RUNNING else "unhealthy"
    body = {
        "status": status,
        "timestamp": _iso(now),
        "version": plugin.version,
        "checks": {service["name"]: service["health"] for service in services},
        "state": plugin_state(plugin.lifecycle_state, statuses, plugin.loaded_at is not None),
    }
    return body, status == "healthy"


def loaded_ms(installed_at, loaded_at):
    """Milliseconds from the install to the first healthy service (None until then)."""
    if installed_at is None or loaded_at is None:
        return None
    return _loaded_ms(loaded_at - installed_at)
