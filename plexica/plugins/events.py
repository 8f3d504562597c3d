"""The plugin events: a plugin joined the catalog, moved through its lifecycle, or was granted or lost a
capability.

Each is emitted in the transaction of its change (`plexica.events.log.emit`); the subject is
("plugin", plugin id), and the data names the plugin, its version and, for lifecycle moves, the states.
"""

from plexica.events import types
from plexica.events.log import emit

SUBJECT = "plugin"

TYPES = [
    ("plugin.registered", "A plugin joined the organization's catalog (state registered)."),
    ("plugin.installed", "A plugin was installed (with the version it was installed at)."),
    ("plugin.enabled", "An installed or disabled plugin became active."),
    ("plugin.disabled", "An active plugin was disabled."),
    ("plugin.uninstalled", "A plugin was uninstalled (its services are deregistered with it)."),
    ("plugin.capability_granted", "An organization admin (or an install) granted a plugin a capability."),
    ("plugin.capability_revoked", "An organization admin (or an install that narrowed them) revoked a plugin's "
                                  "capability."),
]

# The lifecycle action -> the event it emits.
LIFECYCLE_EVENTS = {
    "install": "plugin.installed",
    "enable": "plugin.enabled",
    "disable": "plugin.disabled",
    "uninstall": "plugin.uninstalled",
}


def register():
    for name, description in TYPES:
        types.register(name, description, SUBJECT)


def plugin_registered(actor, plugin, *, via):
    """Emit plugin.registered for the just-created `plugin`; `via` says what added it (catalog, registry,
    dependencies, operator)."""
    emit(actor, "plugin.registered", subject=(SUBJECT, plugin.plugin_id), organization=_organization(actor, plugin),
         data={"pluginId": plugin.plugin_id, "name": plugin.name, "version": plugin.version, "via": via})


def plugin_moved(actor, plugin, action, from_state, *, via):
    """Emit the event of lifecycle `action` (install, enable, disable, uninstall) that `plugin` just went
    through from `from_state`."""
    emit(actor, LIFECYCLE_EVENTS[getattr(action, "value", action)], subject=(SUBJECT, plugin.plugin_id),
         organization=_organization(actor, plugin),
         data={"pluginId": plugin.plugin_id, "name": plugin.name, "version": plugin.version,
               "fromState": str(from_state), "toState": str(plugin.lifecycle_state), "via": str(via)})


def capability_changed(actor, plugin, capability, *, granted, via):
    """Emit plugin.capability_granted (or _revoked) for `capability` of `plugin`; `via` says through what
    (api, admin, install)."""
    emit(actor, "plugin.capability_granted" if granted else "plugin.capability_revoked",
         subject=(SUBJECT, plugin.plugin_id), organization=_organization(actor, plugin),
         data={"pluginId": plugin.plugin_id, "capability": str(capability), "via": str(via)})


def _organization(actor, plugin):
    # The principal's organization is the plugin's; using it spares a query for the plugin's organization.
    return actor.organization if actor is not None else plugin.organization
