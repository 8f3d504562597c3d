"""Plugin lifecycle with its cross-app rules: the one entry point of the API and the admin actions.

Only org admins move a plugin through its lifecycle, whoever calls (the API, the admin, a worker as the
system principal). The state machine and the history are the core's (`plexica.plugins.lifecycle`); this
module adds what the core must not know about, since nothing in `plexica` imports a feature app:
- install and enable refuse while the plugin's required dependencies are not satisfied (409, the
  resolve errors);
- uninstall refuses while installed plugins require it (409, `blockedBy`), and deregisters its services;
- install sets the plugin's capabilities to what its manifest requests, or the subset the call names
  (`plexica.plugins.capabilities.install_capabilities`; uninstall keeps them).
"""

from django.db import transaction

from dependencies import resolver
from dependencies.services import plugin_not_found
from plexica.access.services import require_org_admin
from plexica.errors import Conflict, DomainError
from plexica.plugins.capabilities import check_install_capabilities, install_capabilities
from plexica.plugins.lifecycle import Action, Actor, Via, apply_transition, target_state
from plexica.plugins.models import Plugin, validate_semver
from plexica.tenancy.models import Organization
from registry.models import PluginService
from registry.services import deregister_service

__all__ = ["Action", "Via", "change_lifecycle", "explain"]


def change_lifecycle(principal, plugin_id, action, *, via=Via.API, version=None, capabilities=None):
    """Apply `action` (install, enable, disable, uninstall) to the plugin; returns the updated Plugin.

    Org admins only (Forbidden otherwise, before anything is looked up). The history records the principal
    acting through `via` (the API or the admin). `version` (install only) becomes the plugin's version;
    without it the current one is installed. `capabilities` (install only) narrows the capabilities the
    install grants to a subset of what the manifest requests. Raises NotFound for an unknown plugin, Conflict
    for a refused transition and Invalid for capabilities the manifest does not request.
    """
    require_org_admin(principal, "This")
    organization = principal.organization
    action = Action(action)
    if version is not None:
        validate_semver(version)
    with transaction.atomic():
        # One lifecycle change at a time per organization: the dependency checks read other plugins'
        # states, so two concurrent changes (install A, uninstall its dependency B) must not interleave.
        list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk"))
        plugin = Plugin.objects.select_for_update().filter(organization=organization, plugin_id=plugin_id).first()
        if plugin is None:
            raise plugin_not_found(plugin_id)
        target_state(plugin, action)  # an impossible transition is refused before any other check
        if action == Action.INSTALL:
            check_install_capabilities(plugin, capabilities)  # a bad narrowing is a 400 before anything changes
        if action in (Action.INSTALL, Action.ENABLE):
            # Enable checks again: dependencies declared after the install may be unmet.
            _check_installable(organization, plugin, action)
        elif action == Action.UNINSTALL:
            _check_uninstallable(organization, plugin)
            _deregister_services(principal, plugin)
        apply_transition(plugin, action, Actor.from_principal(principal, via),
                         version=version if action == Action.INSTALL else None)
        if action == Action.INSTALL:
            install_capabilities(principal, plugin, capabilities, via="install")
    return plugin


def _check_installable(organization, plugin, action):
    graph = resolver.DependencyGraph.load(organization, plugin.plugin_id)
    resolution = resolver.resolve(graph, plugin.plugin_id)
    if not resolution.valid:
        raise Conflict(
            f"Cannot {action.value} {plugin.plugin_id}: its required dependencies are not satisfied.",
            code="dependencies_not_satisfied", errors=resolution.errors, warnings=resolution.warnings,
        )


def _check_uninstallable(organization, plugin):
    graph = resolver.DependencyGraph.load(organization, plugin.plugin_id)
    blockers = resolver.uninstall_blockers(graph, plugin.plugin_id)
    if blockers:
        raise Conflict(
            f"Cannot uninstall {plugin.plugin_id}: installed plugins require it.",
            code="plugin_required", blockedBy=[blocker.as_wire() for blocker in blockers],
        )


def _deregister_services(principal, plugin):
    for service_name in PluginService.objects.filter(plugin=plugin).values_list("service_name", flat=True):
        deregister_service(principal, plugin.plugin_id, service_name)


def explain(error):
    """One sentence for people (admin messages): the error's message followed by its reasons."""
    if not isinstance(error, DomainError):
        return " ".join(getattr(error, "messages", [str(error)]))
    reasons = list(error.extra.get("errors", []))
    reasons += [f"{b['pluginId']} ({b['reason']})" for b in error.extra.get("blockedBy", [])]
    message = error.message or error.title
    if error.extra.get("blockedBy"):
        return f"{message} Blocked by: {'; '.join(reasons)}."
    return f"{message} {'; '.join(reasons)}".strip() if reasons else message
