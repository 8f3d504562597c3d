"""The plugin lifecycle state machine and its history. No HTTP, and no dependency rules here.

The allowed transitions:

    install    registered, uninstalled       -> installed
    enable     installed, disabled           -> active
    disable    active                        -> disabled
    uninstall  installed, active, disabled   -> uninstalled

This module only knows the states. The checks that need other apps (dependencies satisfied before
install, no installed plugin requiring it before uninstall, services deregistered on uninstall) are in
`dependencies.lifecycle`, which every caller (API and admin) goes through; the core never imports it.
"""

from dataclasses import dataclass

from django.utils import timezone

from plexica.errors import Conflict
from plexica.plugins import events
from plexica.plugins.models import LifecycleTransition, Plugin

Action = LifecycleTransition.Action
State = Plugin.LifecycleState

TRANSITIONS = {
    Action.INSTALL: ((State.REGISTERED, State.UNINSTALLED), State.INSTALLED),
    Action.ENABLE: ((State.INSTALLED, State.DISABLED), State.ACTIVE),
    Action.DISABLE: ((State.ACTIVE,), State.DISABLED),
    Action.UNINSTALL: ((State.INSTALLED, State.ACTIVE, State.DISABLED), State.UNINSTALLED),
}


Via = LifecycleTransition.Via


@dataclass(frozen=True)
class Actor:
    """Who asks for a transition: a person, an API key, or both (a member's key), and through what."""

    via: str
    user: object = None
    api_key: object = None
    principal: object = None  # the Principal the events name as their actor (None: the system)

    @classmethod
    def from_principal(cls, principal, via=Via.API):
        """The principal acting through `via` (the API, the admin): no person nor key is the system."""
        return cls(via=via, user=principal.user, api_key=principal.api_key, principal=principal)

    @property
    def label(self):
        if self.user is not None and getattr(self.user, "pk", None):
            return self.user.get_username()
        if self.api_key is not None:
            return f"API key {self.api_key.name} ({self.api_key.prefix}…)"
        return "system"


def target_state(plugin, action):
    """The state `action` moves `plugin` to; Conflict (409) when its current state does not allow it."""
    sources, target = TRANSITIONS[Action(action)]
    if plugin.lifecycle_state not in sources:
        allowed = " or ".join(str(state) for state in sources)
        raise Conflict(
            f"Cannot {action} {plugin.plugin_id}: it is {plugin.lifecycle_state}, "
            f"and {action} needs a plugin that is {allowed}.",
            code="invalid_transition",
            lifecycleState=plugin.lifecycle_state,
            allowedFrom=[str(state) for state in sources],
        )
    return target


def apply_transition(plugin, action, actor, *, version=None, now=None):
    """Move `plugin` through `action` and record who did it. Checks only the state machine.

    Call it inside the caller's transaction, with the plugin's row freshly read, after the caller's
    own checks (see dependencies.lifecycle). Emits the action's event (plugin.installed...) in that
    transaction. Installing stamps `installed_at` and clears `loaded_at`. Returns the recorded
    LifecycleTransition.
    """
    target = target_state(plugin, action)
    previous = plugin.lifecycle_state
    now = now or timezone.now()
    plugin.lifecycle_state = target
    update_fields = ["lifecycle_state", "updated_at"]
    if action == Action.INSTALL:
        # loaded_at is set again by the first healthy heartbeat, registration or check from now (registry).
        plugin.installed_at, plugin.loaded_at = now, None
        update_fields += ["installed_at", "loaded_at"]
    if version is not None:
        plugin.version = version
        update_fields.append("version")
    plugin.save(update_fields=update_fields)
    user = actor.user if getattr(actor.user, "pk", None) else None  # an org key's user is not a person
    recorded = LifecycleTransition.objects.create(
        organization_id=plugin.organization_id, plugin=plugin, action=action, from_state=previous,
        to_state=target, version=plugin.version, actor=actor.label[:200], user=user, api_key=actor.api_key,
        via=actor.via, at=now,
    )
    events.plugin_moved(actor.principal, plugin, action, previous, via=actor.via)
    return recorded
