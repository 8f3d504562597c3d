"""Service registry rules: registration, discovery, heartbeats and health. No HTTP here.

Every action takes the acting principal first: a plugin key registers, deregisters and heartbeats only
its own plugin's services (org admins and the system any plugin's); discovery and listing are open to
anyone in the organization. The health sweep is a periodic job over every organization.

Health is derived every time it is read from the age of the last heartbeat combined with what the active
health checks last concluded (`check_status`, kept by registry/health_checks.py): the worse of the two. So
answers are right even when no sweep has run; the sweep only persists transitions (for history) and
invalidates caches. Every persisted transition (register, heartbeat, sweep, check) goes through
`change_status` / `record_status_change`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from plexica.errors import Conflict, Invalid, NotFound
from plexica.events.log import emit
from plexica.observability.metrics import count_heartbeat
from plexica.plugins import events as plugin_events
from plexica.plugins.capabilities import Capability, require_plugin_capability
from plexica.plugins.models import Plugin
from plexica.tenancy.models import Organization
from registry import events
from registry.models import PluginService, ServiceEndpoint, ServiceStatus, ServiceStatusTransition
# TOOL_SCHEMA_KEY and declares_tool stay importable from here: the capability check's vocabulary.
from registry.tool_endpoints import TOOL_SCHEMA_KEY, declares_tool, registration_problem  # noqa: F401


_SEVERITY = {ServiceStatus.HEALTHY: 0, ServiceStatus.DEGRADED: 1, ServiceStatus.UNAVAILABLE: 2}


def worse(first, second):
    """The less healthy of two statuses."""
    return first if _SEVERITY[first] >= _SEVERITY[second] else second


def effective_check_status(check_status):
    """What the checks contribute: nothing (HEALTHY) while REGISTRY_HEALTH_CHECKS_ENABLED is off."""
    return ServiceStatus(check_status) if settings.REGISTRY_HEALTH_CHECKS_ENABLED else ServiceStatus.HEALTHY


def heartbeat_status(last_seen_at, now=None):
    """HEALTHY up to REGISTRY_DEGRADED_AFTER seconds of silence, DEGRADED up to REGISTRY_UNAVAILABLE_AFTER."""
    age = ((now or timezone.now()) - last_seen_at).total_seconds()
    if age <= settings.REGISTRY_DEGRADED_AFTER:
        return ServiceStatus.HEALTHY
    if age <= settings.REGISTRY_UNAVAILABLE_AFTER:
        return ServiceStatus.DEGRADED
    return ServiceStatus.UNAVAILABLE


def derive_status(last_seen_at, now=None, check_status=ServiceStatus.HEALTHY):
    """A service's status now: the worse of its heartbeat's age (heartbeat_status) and its active checks'
    `check_status` (PluginService.check_status; ignored while checks are switched off). A stale heartbeat
    keeps a service unhealthy whatever its checks say, and failing checks whatever its heartbeats say."""
    return worse(heartbeat_status(last_seen_at, now), effective_check_status(check_status))


def seconds_until_status_changes(last_seen_at, now):
    age = (now - last_seen_at).total_seconds()
    for threshold in (settings.REGISTRY_DEGRADED_AFTER, settings.REGISTRY_UNAVAILABLE_AFTER):
        if age <= threshold:
            return threshold - age
    return 0


def status_q(status, now):
    """A filter selecting services whose derived status (derive_status) is `status` at `now`."""
    degraded_since = now - timedelta(seconds=settings.REGISTRY_DEGRADED_AFTER)
    unavailable_since = now - timedelta(seconds=settings.REGISTRY_UNAVAILABLE_AFTER)
    beats_healthy = Q(last_seen_at__gte=degraded_since)
    beats_degraded = Q(last_seen_at__lt=degraded_since, last_seen_at__gte=unavailable_since)
    beats_unavailable = Q(last_seen_at__lt=unavailable_since)
    if not settings.REGISTRY_HEALTH_CHECKS_ENABLED:
        return {ServiceStatus.HEALTHY: beats_healthy, ServiceStatus.DEGRADED: beats_degraded}.get(
            status, beats_unavailable)
    if status == ServiceStatus.HEALTHY:
        return beats_healthy & Q(check_status=ServiceStatus.HEALTHY)
    if status == ServiceStatus.DEGRADED:
        return ((beats_degraded & ~Q(check_status=ServiceStatus.UNAVAILABLE))
                | (beats_healthy & Q(check_status=ServiceStatus.DEGRADED)))
    return beats_unavailable | Q(check_status=ServiceStatus.UNAVAILABLE)


def service_not_found(service_name):
    return NotFound(title="Service not found", serviceName=service_name)


DEFAULT_HEALTH_CHECK_PATH = "/health"


def health_check_path(metadata):
    """The path the active checks call, relative to the base URL: `metadata.healthCheck.path`, "/health" by
    default; None when the registration switched its checks off (`"healthCheck": {"enabled": false}`)."""
    options = (metadata or {}).get("healthCheck")
    if not isinstance(options, dict):
        return DEFAULT_HEALTH_CHECK_PATH
    if options.get("enabled") is False:
        return None
    path = options.get("path")
    return path if isinstance(path, str) and path else DEFAULT_HEALTH_CHECK_PATH


# Forgetting the checks' conclusions: they were about another URL (or there will be no more checks).
CHECK_STATE_RESET = {"check_status": ServiceStatus.HEALTHY, "check_failures": 0, "check_successes": 0,
                     "next_check_at": None}


def mark_plugin_loaded(plugin_pk, installed_at, loaded_at, now):
    """Set the plugin's `loaded_at` the first time one of its services is healthy after its install.

    The caller passes the plugin's `installed_at` and `loaded_at` as it read them (heartbeats read them in the
    query they make anyway), so once set this costs nothing; the UPDATE is conditional, so two services
    turning healthy at once write it once.
    """
    if installed_at is not None and loaded_at is None:
        Plugin.objects.filter(pk=plugin_pk, loaded_at__isnull=True, installed_at__isnull=False).update(loaded_at=now)


def record_status_change(actor, organization, service_id, service_name, plugin_id, previous, target, cause, now):
    """Record a persisted transition (ServiceStatusTransition) and emit service.status_changed, in the caller's
    transaction. The one way every cause (register, heartbeat, sweep, check) records one."""
    _record_transition(organization.pk, service_id, previous, target, cause, now)
    events.status_changed(actor, service_id, service_name, plugin_id, previous, target, cause,
                          organization=organization)


def change_status(actor, organization, service_id, service_name, plugin_id, previous, target, cause, now, *,
                  condition=None, **changes):
    """Compare-and-set the service's persisted status from `previous` to `target`, writing `changes` in the same
    UPDATE, only while the row still has `previous` (and matches `condition`); True when this call changed it.

    A real transition is recorded and emitted (record_status_change) in the UPDATE's transaction and drops the
    discovery cache after commit; `previous == target` is a plain conditional UPDATE of `changes` (one query,
    the heartbeat's hot path). False: the row changed under the caller, who reads it again and retries.
    """
    queryset = PluginService.objects.filter(pk=service_id, status=previous)
    if condition is not None:
        queryset = queryset.filter(condition)
    if previous == target:
        return bool(queryset.update(**changes)) if changes else queryset.exists()
    with transaction.atomic():
        won = queryset.update(status=target, **changes)
        if won:
            record_status_change(actor, organization, service_id, service_name, plugin_id, previous, target, cause,
                                 now)
    if won:
        transaction.on_commit(lambda: invalidate_discovery(organization.pk, service_name))
    return bool(won)


# --- Registration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    plugin_id: str
    service_name: str
    version: str
    base_url: str | None = None  # None: keep the current base URL ("" clears it)
    endpoints: list | None = None  # None: keep the current list
    metadata: dict | None = None  # None: keep the current metadata


def register_service(principal, registration, now=None):
    """Create or update (org, serviceName) for `registration.plugin_id`, which a plugin key may only name as
    itself; the service keeps its id. Returns (service, created).

    A plugin key needs the ROUTES capability, and TOOLS too when an endpoint declares a tool (`declares_tool`);
    an org admin registering for a plugin needs neither (plexica.plugins.capabilities). Invalid, before any
    of that, when a tool endpoint's metadata is malformed (registry.tool_endpoints.registration_problem).

    Emits service.registered when the service is new or its version, base URL, endpoints or metadata
    changed (a registration that repeats the stored one emits nothing), plugin.registered for a new plugin,
    and service.status_changed when it revives a service that was not HEALTHY.
    """
    problem = registration_problem(registration.plugin_id, registration.service_name, registration.endpoints or ())
    if problem:
        raise Invalid(problem, field="endpoints")
    principal.check_acts_for(registration.plugin_id)
    require_plugin_capability(principal, Capability.ROUTES, "registering a service")
    if any(declares_tool(endpoint) for endpoint in registration.endpoints or ()):
        require_plugin_capability(principal, Capability.TOOLS, "exposing a tool (an endpoint with an inputSchema)")
    organization = principal.organization
    now = now or timezone.now()
    with transaction.atomic():
        plugin, plugin_created = Plugin.objects.get_or_create(
            organization=organization,
            plugin_id=registration.plugin_id,
            defaults={"name": registration.plugin_id.removeprefix("plugin-"), "version": registration.version},
        )
        if plugin_created:
            plugin_events.plugin_registered(principal, plugin, via="registry")
        service, created, changed = _upsert_service(principal, plugin, registration, now)
        if registration.endpoints is not None:
            if not created and not changed:
                changed = _endpoint_facts(service.endpoints.order_by("position").values()) != _endpoint_facts(
                    registration.endpoints)
            service.endpoints.all().delete()
            ServiceEndpoint.objects.bulk_create(
                ServiceEndpoint(service=service, position=position, **endpoint)
                for position, endpoint in enumerate(registration.endpoints)
            )
        if created or changed:
            emit(principal, "service.registered", subject=(events.SUBJECT, service.pk), data={
                "serviceId": service.pk, "serviceName": service.service_name, "pluginId": plugin.plugin_id,
                "version": service.version, "baseUrl": service.base_url, "created": created,
            })
        transaction.on_commit(lambda: invalidate_discovery(organization.pk, service.service_name))
    return service, created


_ENDPOINT_DEFAULTS = {"description": "", "permissions": [], "metadata": {}}


def _endpoint_facts(endpoints):
    """What registering compares of an endpoint list: each endpoint's fields, in order."""
    return [(e["method"], e["path"], *(e.get(name, default) for name, default in _ENDPOINT_DEFAULTS.items()))
            for e in endpoints]


def _upsert_service(principal, plugin, registration, now):
    """(service, created, changed): `changed` when an existing service's version, base URL or metadata differ."""
    organization = principal.organization
    fields = {"version": registration.version, "last_seen_at": now}
    if registration.base_url is not None:
        fields["base_url"] = registration.base_url
    if registration.metadata is not None:
        fields["metadata"] = registration.metadata
    for _ in range(2):
        service = (
            PluginService.objects.select_for_update()
            .filter(organization=organization, service_name=registration.service_name)
            .first()
        )
        if service is not None:
            if service.plugin_id != plugin.pk:
                raise Conflict(
                    f"Service {registration.service_name} is registered by another plugin of this organization.",
                    title="Service name taken",
                    serviceName=registration.service_name,
                )
            previous = service.status
            changed = any(getattr(service, name) != value for name, value in fields.items() if name != "last_seen_at")
            checked_elsewhere = service.base_url != fields.get("base_url", service.base_url) or (
                health_check_path(service.metadata) != health_check_path(fields.get("metadata", service.metadata)))
            for name, value in fields.items():
                setattr(service, name, value)
            if checked_elsewhere:
                for name, value in CHECK_STATE_RESET.items():
                    setattr(service, name, value)
            # Registering is a sign of life; failing checks of the same URL still count until checks pass.
            service.status = derive_status(now, now, service.check_status)
            service.save()
            if previous != service.status:
                record_status_change(principal, organization, service.pk, service.service_name, plugin.plugin_id,
                                     previous, service.status, "register", now)
            if service.status == ServiceStatus.HEALTHY:
                mark_plugin_loaded(plugin.pk, plugin.installed_at, plugin.loaded_at, now)
            return service, False, changed
        try:
            with transaction.atomic():  # a concurrent first registration may win the race
                service = PluginService.objects.create(
                    organization=organization,
                    plugin=plugin,
                    service_name=registration.service_name,
                    registered_at=now,
                    **{"base_url": "", "metadata": {}, **fields},
                )
            mark_plugin_loaded(plugin.pk, plugin.installed_at, plugin.loaded_at, now)
            return service, True, True
        except IntegrityError:
            continue
    raise Conflict(f"Service {registration.service_name} is being registered concurrently; try again.")


def deregister_service(principal, plugin_id, service_name):
    """Remove the service of `plugin_id` (a plugin key: only its own), emitting service.deregistered; NotFound
    when there was nothing to remove."""
    principal.check_acts_for(plugin_id)
    organization = principal.organization
    with transaction.atomic():
        found = (PluginService.objects.select_for_update()
                 .filter(organization=organization, plugin__plugin_id=plugin_id, service_name=service_name)
                 .values_list("pk", "version").first())
        if found is None:
            raise service_not_found(service_name)
        PluginService.objects.filter(pk=found[0]).delete()
        events.deregistered(principal, found[0], service_name, plugin_id, found[1], "deregister",
                            organization=organization)
    transaction.on_commit(lambda: invalidate_discovery(organization.pk, service_name))


# --- Discovery -----------------------------------------------------------------------------------


def _discover_key(organization_id, service_name):
    return f"registry:discover:{organization_id}:{service_name}"


def invalidate_discovery(organization_id, service_name):
    cache.delete(_discover_key(organization_id, service_name))


def _service_snapshot(service):
    return {
        "id": service.pk,
        "pluginId": service.plugin.plugin_id,
        "serviceName": service.service_name,
        "version": service.version,
        "baseUrl": service.base_url,
        "endpoints": [
            {
                "method": endpoint.method,
                "path": endpoint.path,
                "description": endpoint.description,
                "permissions": endpoint.permissions,
                "metadata": endpoint.metadata,
            }
            for endpoint in service.endpoints.all()
        ],
        "metadata": service.metadata,
        "lastSeenAt": _iso(service.last_seen_at),
    }


def _iso(moment):
    # The same form DRF renders (and the seed shows): UTC with a Z suffix, so discover and list agree.
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def find_service(organization, service_name, now=None):
    """The service's snapshot with its derived `status`, from the cache when fresh; None if unknown.

    A lookup with no rule of its own, for `discover_service` and the gateway's call (which has checked its
    caller first). A cached snapshot lives at most until its derived status would change, and is dropped on
    register, deregister, heartbeat, persisted status change and a change of what the checks conclude.
    """
    now = now or timezone.now()
    key = _discover_key(organization.pk, service_name)
    snapshot = cache.get(key)
    if snapshot is None:
        service = (
            PluginService.objects.select_related("plugin")
            .prefetch_related("endpoints")
            .filter(organization=organization, service_name=service_name)
            .first()
        )
        if service is None:
            return None
        snapshot = {**_service_snapshot(service), "_checkStatus": service.check_status}
        ttl = min(settings.REGISTRY_DISCOVER_CACHE_SECONDS, seconds_until_status_changes(service.last_seen_at, now))
        if ttl >= 1:
            cache.set(key, snapshot, timeout=int(ttl))
    check_status = snapshot.pop("_checkStatus", ServiceStatus.HEALTHY)
    last_seen_at = datetime.fromisoformat(snapshot["lastSeenAt"])
    return {**snapshot, "status": derive_status(last_seen_at, now, check_status)}


def discover_service(principal, service_name, now=None):
    """The service as the seed's discover shape; NotFound when unknown or UNAVAILABLE."""
    snapshot = find_service(principal.organization, service_name, now)
    if snapshot is None or snapshot["status"] == ServiceStatus.UNAVAILABLE:
        raise service_not_found(service_name)
    return snapshot


def list_services(principal, plugin_id=None, status=None, now=None):
    """The org's services with derived status, optionally filtered by plugin and status."""
    now = now or timezone.now()
    queryset = PluginService.objects.filter(organization=principal.organization).select_related("plugin")
    if plugin_id:
        queryset = queryset.filter(plugin__plugin_id=plugin_id)
    if status:
        queryset = queryset.filter(status_q(status, now))
    return [
        {
            "id": service.pk,
            "pluginId": service.plugin.plugin_id,
            "serviceName": service.service_name,
            "version": service.version,
            "status": derive_status(service.last_seen_at, now, service.check_status),
            "lastSeenAt": service.last_seen_at,
        }
        for service in queryset.order_by("service_name")
    ]


# --- Heartbeats and health ----------------------------------------------------------------------


def record_heartbeat(principal, service_id, now=None):
    """Refresh the service's last-seen time (a plugin key: only its own plugin's services); a DEGRADED or
    UNAVAILABLE service becomes HEALTHY, or as healthy as its active checks allow (a service whose checks
    fail stays DEGRADED or UNAVAILABLE until they pass).

    The status changes with a compare-and-set update (change_status), so a concurrent sweep, check or
    heartbeat never makes a recovery go unrecorded or recorded twice; a recovery emits service.status_changed
    with it. A healthy service costs one read and one update, and emits nothing; the first healthy heartbeat
    after the plugin's install also sets the plugin's loaded_at (one conditional update, once).
    """
    now = now or timezone.now()
    service = (
        PluginService.objects.filter(pk=service_id, organization=principal.organization)
        .values("status", "check_status", "service_name", "plugin_id", "plugin__plugin_id", "plugin__installed_at",
                "plugin__loaded_at")
        .first()
    )
    if service is None:
        raise NotFound(title="Service not found", serviceId=service_id)
    principal.check_acts_for(service["plugin__plugin_id"])
    previous, checks = service["status"], service["check_status"]
    while True:
        target = derive_status(now, now, checks)
        if change_status(principal, principal.organization, service_id, service["service_name"],
                         service["plugin__plugin_id"], previous, target, "heartbeat", now,
                         condition=Q(check_status=checks), last_seen_at=now):
            break
        # The status changed under us (a sweep or a check ran, or the service was deregistered): read it again.
        current = PluginService.objects.filter(pk=service_id).values_list("status", "check_status").first()
        if current is None:
            raise NotFound(title="Service not found", serviceId=service_id)
        previous, checks = current
    count_heartbeat(previous != target and target == ServiceStatus.HEALTHY)  # plexica_heartbeats_total{result}
    if target == ServiceStatus.HEALTHY:
        mark_plugin_loaded(service["plugin_id"], service["plugin__installed_at"], service["plugin__loaded_at"], now)
    invalidate_discovery(principal.organization.pk, service["service_name"])


def _record_transition(organization_id, service_id, from_status, to_status, cause, now):
    ServiceStatusTransition.objects.create(
        organization_id=organization_id, service_id=service_id, from_status=from_status, to_status=to_status,
        at=now, cause=cause,
    )


def sweep_service_health(now=None, batch_size=500):
    """Persist derived status changes with compare-and-set updates; returns {to_status: count}.

    A periodic job over every organization, so it acts for none of them and takes no principal: its
    events (service.status_changed, and service.deregistered for stale services) name the system.

    Two sweeps running at once never record the same transition twice: each row changes only if
    its status is still the one this sweep read.
    """
    now = now or timezone.now()
    changed = {}
    for target in (ServiceStatus.DEGRADED, ServiceStatus.UNAVAILABLE, ServiceStatus.HEALTHY):
        candidates = list(
            PluginService.objects.filter(status_q(target, now))
            .exclude(status=target)
            .values_list("pk", "status", "organization_id", "service_name", "plugin__plugin_id")[:batch_size]
        )
        organizations = Organization.objects.in_bulk({row[2] for row in candidates}) if candidates else {}
        for pk, current, organization_id, service_name, plugin_id in candidates:
            if change_status(None, organizations[organization_id], pk, service_name, plugin_id, current, target,
                             "sweep", now, condition=status_q(target, now)):
                changed[target] = changed.get(target, 0) + 1
    if settings.REGISTRY_DEREGISTER_AFTER:
        removed = _deregister_stale(now - timedelta(seconds=settings.REGISTRY_DEREGISTER_AFTER))
        if removed:
            changed["deregistered"] = removed
    return changed


def _deregister_stale(cutoff):
    """Delete the services silent since before `cutoff`, each with its service.deregistered; how many."""
    stale = list(PluginService.objects.filter(last_seen_at__lt=cutoff).values_list(
        "pk", "organization_id", "service_name", "plugin__plugin_id", "version"))
    organizations = Organization.objects.in_bulk({row[1] for row in stale}) if stale else {}
    removed = 0
    for pk, organization_id, service_name, plugin_id, version in stale:
        with transaction.atomic():
            # Still stale: a heartbeat since the read keeps the service.
            deleted = PluginService.objects.filter(pk=pk, last_seen_at__lt=cutoff).delete()[1].get(
                PluginService._meta.label, 0)
            if deleted:
                events.deregistered(None, pk, service_name, plugin_id, version, "sweep",
                                    organization=organizations[organization_id])
        if deleted:
            removed += 1
            invalidate_discovery(organization_id, service_name)
    return removed


def services_by_status(now=None):
    """{(organization slug, status): services} of every organization, each service's status derived now (heartbeat
    age and active checks, status_q): one grouped query (the services gauge of /metrics, computed at scrape time)."""
    now = now or timezone.now()
    rows = (PluginService.objects.order_by().values("organization__slug")
            .annotate(**{status.value: Count("pk", filter=status_q(status, now)) for status in ServiceStatus}))
    return {(row["organization__slug"], status.value): row[status.value] for row in rows for status in ServiceStatus}
