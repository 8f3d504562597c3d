"""The service registry's events: a service registered or deregistered, or its persisted status changed.

Emitted in the transaction of the change (`plexica.events.log.emit`); the subject is ("service", svc_ id).
Status changes are the persisted transitions only (a heartbeat reviving a service, the health sweep
degrading one, active health checks crossing a threshold: cause "check"), never the status a reader derives
from the heartbeat's age.
"""

from plexica.events import types
from plexica.events.log import emit

SUBJECT = "service"

TYPES = [
    ("service.registered",
     "A service was registered, or registered again with a different version, base URL, endpoints or metadata."),
    ("service.deregistered", "A service was removed (by its plugin, an uninstall, or the sweep of stale services)."),
    ("service.status_changed",
     "A service's persisted health changed (HEALTHY, DEGRADED, UNAVAILABLE), by heartbeat, registration, sweep or active health check (its `cause`)."),
]


def register():
    for name, description in TYPES:
        types.register(name, description, SUBJECT)


def status_changed(actor, service_id, service_name, plugin_id, from_status, to_status, cause, *, organization):
    emit(actor, "service.status_changed", subject=(SUBJECT, service_id), organization=organization, data={
        "serviceId": service_id, "serviceName": service_name, "pluginId": plugin_id,
        "fromStatus": str(from_status), "toStatus": str(to_status), "cause": cause,
    })


def deregistered(actor, service_id, service_name, plugin_id, version, cause, *, organization):
    emit(actor, "service.deregistered", subject=(SUBJECT, service_id), organization=organization, data={
        "serviceId": service_id, "serviceName": service_name, "pluginId": plugin_id, "version": version,
        "cause": cause,
    })
