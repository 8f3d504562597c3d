"""Service registry rules: registration, discovery, heartbeats and health. No HTTP here.

Every action takes the acting principal first: a plugin key registers, deregisters and heartbeats only
its own plugin's services (org admins and the system any plugin's); discovery and listing are open to
anyone in the organization. The health sweep is a periodic job over every organization.

Health is derived from the age of the last heartbeat every time it is read, so answers are right even
when no sweep has run; the sweep only persists transitions (for history) and invalidates caches.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from plexica.errors import Conflict, NotFound
from plexica.plugins.models import Plugin
from registry.models import PluginService, ServiceEndpoint, ServiceStatus, ServiceStatusTransition


def derive_status(last_seen_at, now=None):
    """HEALTHY up to REGISTRY_DEGRADED_AFTER seconds of silence, DEGRADED up to REGISTRY_UNAVAILABLE_AFTER."""
    age = ((now or timezone.now()) - last_seen_at).total_seconds()
    if age <= settings.REGISTRY_DEGRADED_AFTER:
        return ServiceStatus.HEALTHY
    if age <= settings.REGISTRY_UNAVAILABLE_AFTER:
        return ServiceStatus.DEGRADED
    return ServiceStatus.UNAVAILABLE


def seconds_until_status_changes(last_seen_at, now):
    age = (now - last_seen_at).total_seconds()
    for threshold in (settings.REGISTRY_DEGRADED_AFTER, settings.REGISTRY_UNAVAILABLE_AFTER):
        if age <= threshold:
            return threshold - age
    return 0


def status_q(status, now):
    """A filter selecting services whose derived status is `status` at `now`."""
    degraded_since = now - timedelta(seconds=settings.REGISTRY_DEGRADED_AFTER)
    unavailable_since = now - timedelta(seconds=settings.REGISTRY_UNAVAILABLE_AFTER)
    if status == ServiceStatus.HEALTHY:
        return Q(last_seen_at__gte=degraded_since)
    if status == ServiceStatus.DEGRADED:
        return Q(last_seen_at__lt=degraded_since, last_seen_at__gte=unavailable_since)
    return Q(last_seen_at__lt=unavailable_since)


def service_not_found(service_name):
    return NotFound(title="Service not found", serviceName=service_name)


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
    itself; the service keeps its id. Returns (service, created)."""
    principal.check_acts_for(registration.plugin_id)
    organization = principal.organization
    now = now or timezone.now()
    with transaction.atomic():
        plugin, _ = Plugin.objects.get_or_create(
            organization=organization,
            plugin_id=registration.plugin_id,
            defaults={"name": registration.plugin_id.removeprefix("plugin-"), "version": registration.version},
        )
        service, created = _upsert_service(organization, plugin, registration, now)
        if registration.endpoints is not None:
            service.endpoints.all().delete()
            ServiceEndpoint.objects.bulk_create(
                ServiceEndpoint(service=service, position=position, **endpoint)
                for position, endpoint in enumerate(registration.endpoints)
            )
        transaction.on_commit(lambda: invalidate_discovery(organization.pk, service.service_name))
    return service, created


def _upsert_service(organization, plugin, registration, now):
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
            for name, value in fields.items():
                setattr(service, name, value)
            service.status = ServiceStatus.HEALTHY  # registering is a sign of life
            service.save()
            if previous != ServiceStatus.HEALTHY:
                _record_transition(organization.pk, service.pk, previous, ServiceStatus.HEALTHY, "register", now)
            return service, False
        try:
            with transaction.atomic():  # a concurrent first registration may win the race
                return PluginService.objects.create(
                    organization=organization,
                    plugin=plugin,
                    service_name=registration.service_name,
                    registered_at=now,
                    **{"base_url": "", "metadata": {}, **fields},
                ), True
        except IntegrityError:
            continue
    raise Conflict(f"Service {registration.service_name} is being registered concurrently; try again.")


def deregister_service(principal, plugin_id, service_name):
    """Remove the service of `plugin_id` (a plugin key: only its own); NotFound when there was nothing to remove."""
    principal.check_acts_for(plugin_id)
    organization = principal.organization
    deleted, _ = PluginService.objects.filter(
        organization=organization, plugin__plugin_id=plugin_id, service_name=service_name
    ).delete()
    if not deleted:
        raise service_not_found(service_name)
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
    register, deregister, heartbeat and persisted status change.
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
        snapshot = _service_snapshot(service)
        ttl = min(settings.REGISTRY_DISCOVER_CACHE_SECONDS, seconds_until_status_changes(service.last_seen_at, now))
        if ttl >= 1:
            cache.set(key, snapshot, timeout=int(ttl))
    last_seen_at = datetime.fromisoformat(snapshot["lastSeenAt"])
    return {**snapshot, "status": derive_status(last_seen_at, now)}


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
            "status": derive_status(service.last_seen_at, now),
            "lastSeenAt": service.last_seen_at,
        }
        for service in queryset.order_by("service_name")
    ]


# --- Heartbeats and health ----------------------------------------------------------------------


def record_heartbeat(principal, service_id, now=None):
    """Refresh the service's last-seen time (a plugin key: only its own plugin's services); a DEGRADED or
    UNAVAILABLE service becomes HEALTHY.

    The status changes with a compare-and-set update, so a concurrent sweep or heartbeat never makes
    a recovery go unrecorded or recorded twice. A healthy service costs one read and one update.
    """
    now = now or timezone.now()
    service = (
        PluginService.objects.filter(pk=service_id, organization=principal.organization)
        .values("status", "service_name", "plugin__plugin_id")
        .first()
    )
    if service is None:
        raise NotFound(title="Service not found", serviceId=service_id)
    principal.check_acts_for(service["plugin__plugin_id"])
    previous = service["status"]
    while True:
        if previous == ServiceStatus.HEALTHY:
            if PluginService.objects.filter(pk=service_id, status=previous).update(last_seen_at=now):
                break
        else:
            with transaction.atomic():
                won = PluginService.objects.filter(pk=service_id, status=previous).update(
                    last_seen_at=now, status=ServiceStatus.HEALTHY
                )
                if won:
                    _record_transition(
                        principal.organization.pk, service_id, previous, ServiceStatus.HEALTHY,
                        "heartbeat", now,
                    )
            if won:
                break
        # The status changed under us (a sweep ran, or the service was deregistered): read it again.
        previous = PluginService.objects.filter(pk=service_id).values_list("status", flat=True).first()
        if previous is None:
            raise NotFound(title="Service not found", serviceId=service_id)
    invalidate_discovery(principal.organization.pk, service["service_name"])


def _record_transition(organization_id, service_id, from_status, to_status, cause, now):
    ServiceStatusTransition.objects.create(
        organization_id=organization_id, service_id=service_id, from_status=from_status, to_status=to_status,
        at=now, cause=cause,
    )


def sweep_service_health(now=None, batch_size=500):
    """Persist derived status changes with compare-and-set updates; returns {to_status: count}.

    A periodic job over every organization, so it acts for none of them and takes no principal.

    Two sweeps running at once never record the same transition twice: each row changes only if
    its status is still the one this sweep read.
    """
    now = now or timezone.now()
    changed = {}
    for target in (ServiceStatus.DEGRADED, ServiceStatus.UNAVAILABLE, ServiceStatus.HEALTHY):
        candidates = list(
            PluginService.objects.filter(status_q(target, now))
            .exclude(status=target)
            .values_list("pk", "status", "organization_id", "service_name")[:batch_size]
        )
        for pk, current, organization_id, service_name in candidates:
            with transaction.atomic():
                won = PluginService.objects.filter(pk=pk, status=current).filter(status_q(target, now)).update(
                    status=target
                )
                if won:
                    _record_transition(organization_id, pk, current, target, "sweep", now)
            if won:
                invalidate_discovery(organization_id, service_name)
                changed[target] = changed.get(target, 0) + 1
    if settings.REGISTRY_DEREGISTER_AFTER:
        cutoff = now - timedelta(seconds=settings.REGISTRY_DEREGISTER_AFTER)
        stale = list(PluginService.objects.filter(last_seen_at__lt=cutoff).values_list("organization_id", "service_name"))
        if stale:
            changed["deregistered"] = PluginService.objects.filter(last_seen_at__lt=cutoff).delete()[1].get(
                PluginService._meta.label, 0
            )
            for organization_id, service_name in stale:
                invalidate_discovery(organization_id, service_name)
    return changed
