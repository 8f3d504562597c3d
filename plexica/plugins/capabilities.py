"""Plugin capabilities: what a plugin may do on the platform, requested by its manifest, granted by org admins.

No HTTP. The capabilities (`Capability`): ROUTES, TOOLS, EVENTS_PUB, EVENTS_SUB, BACKGROUND_TASKS, STATIC.

- A manifest requests them with `"capabilities": [...]`. Installing grants what it requests, or the subset
  the install call names (`install_capabilities`); org admins grant and revoke any of them afterwards.
- A manifest without a `capabilities` key is a legacy plugin's: it holds LEGACY_DEFAULT (ROUTES, EVENTS_PUB,
  EVENTS_SUB: what every plugin could do before capabilities existed) without any grant row. The first grant,
  revoke or narrowing install writes that default down as rows (granted by nobody, no event: nothing changes
  for the plugin) and applies the change on top, so granting TOOLS to a legacy plugin keeps the rest.
- Revoking is soft (`revoked_at`): once a plugin has rows, only its active rows count, even when none is left.
- Uninstall keeps the grants; installing again sets them to the install's set once more (see
  `install_capabilities`).

Only plugins are subject to capabilities: services call `require_plugin_capability(principal, ...)`, which
checks the plugin a plugin key acts as and lets everyone else through (org admins, org keys, members'
sessions and the system act on their own, with their own rules). `holds_capability` and `require_capability`
take the plugin itself, for callers that have one (the MCP tool registry).
"""

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from plexica.access.services import require_org_admin
from plexica.errors import Forbidden, Invalid, NotFound
from plexica.plugins import events
from plexica.plugins.models import Capability, Plugin, PluginCapabilityGrant, manifest_capabilities_error

__all__ = [
    "LEGACY_DEFAULT", "Capability", "capability_entries", "grant_capability", "granted_capabilities",
    "holds_capability", "install_capabilities", "plugins_lacking", "requested_capabilities", "require_capability",
    "require_plugin_capability", "revoke_capability",
]

# What a plugin whose manifest requests nothing holds: what every plugin could do before capabilities.
LEGACY_DEFAULT = (Capability.ROUTES, Capability.EVENTS_PUB, Capability.EVENTS_SUB)
_ORDER = {name: index for index, name in enumerate(Capability.values)}


def ordered(names):
    return sorted(set(names), key=_ORDER.__getitem__)


def is_legacy(plugin):
    """True when the plugin's manifest has no `capabilities` key (it then holds LEGACY_DEFAULT until changed)."""
    return not isinstance(plugin.manifest, dict) or "capabilities" not in plugin.manifest


def requested_capabilities(plugin):
    """The capabilities the manifest requests, in Capability order; LEGACY_DEFAULT for a legacy manifest.
    Invalid (naming the manifest) when the manifest's list is malformed or names an unknown capability."""
    problem = manifest_capabilities_error(plugin.manifest)
    if problem:
        raise Invalid(f"manifest.{problem}", field="manifest.capabilities")
    if is_legacy(plugin):
        return list(LEGACY_DEFAULT)
    return ordered(plugin.manifest["capabilities"])


def _rows(plugin):
    return list(PluginCapabilityGrant.objects.filter(plugin_id=plugin.pk).values_list("capability", "revoked_at"))


def granted_capabilities(plugin):
    """The capabilities `plugin` holds now, in Capability order (one query)."""
    rows = _rows(plugin)
    if not rows:
        return list(LEGACY_DEFAULT) if is_legacy(plugin) else []
    return ordered(capability for capability, revoked_at in rows if revoked_at is None)


def holds_capability(plugin, capability):
    """True when `plugin` holds `capability` (a Capability name)."""
    return Capability(capability) in granted_capabilities(plugin)


def plugins_lacking(plugin_pks, capability):
    """The primary keys among `plugin_pks` of the plugins that do not hold `capability` (one query): for
    workers that act on many plugins' behalf at once (the webhook fan-out)."""
    capability = Capability(capability)
    if not plugin_pks:
        return set()
    rows = PluginCapabilityGrant.objects.filter(plugin_id=OuterRef("pk"))
    found = (Plugin.objects.filter(pk__in=plugin_pks)
             .annotate(has_rows=Exists(rows),
                       holds=Exists(rows.filter(capability=capability, revoked_at__isnull=True)))
             .values_list("pk", "manifest", "has_rows", "holds"))
    lacking = set()
    for pk, manifest, has_rows, holds in found:
        legacy_holds = not has_rows and (not isinstance(manifest, dict) or "capabilities" not in manifest) \
            and capability in LEGACY_DEFAULT
        if not (holds or legacy_holds):
            lacking.add(pk)
    return lacking


def require_capability(plugin, capability, action):
    """Forbidden (the seed's 403: `required_capability`, `granted_capabilities`) unless `plugin` holds
    `capability`; `action` says what was refused ("registering a service")."""
    capability = Capability(capability)
    granted = granted_capabilities(plugin)
    if capability not in granted:
        raise Forbidden(
            f"{plugin.plugin_id} lacks the {capability} capability needed for {action}; an organization admin "
            f"grants it (POST /api/v1/plugins/{plugin.plugin_id}/capabilities).",
            code="capability_required", required_capability=str(capability),
            granted_capabilities=[str(name) for name in granted],
        )


def require_plugin_capability(principal, capability, action):
    """`require_capability` for the plugin a plugin key acts as; every other principal passes (their own
    rules apply: an org admin acting on their own needs no capability)."""
    if principal.plugin is not None:
        require_capability(principal.plugin, capability, action)


# Granting and revoking


def _plugin(principal, plugin_id, lock=False):
    plugins = Plugin.objects.filter(organization=principal.organization, plugin_id=plugin_id)
    plugin = (plugins.select_for_update() if lock else plugins).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")
    return plugin


def capability_entries(principal, plugin_id):
    """The capabilities the organization's plugin holds, as dicts (capability, requested, default, granted_at,
    granted_by, the grant row or None); org admins only. A legacy plugin's default shows with default True."""
    require_org_admin(principal, "This")
    plugin = _plugin(principal, plugin_id)
    requested = set(requested_capabilities_or_none(plugin) or ())
    rows = list(PluginCapabilityGrant.objects.filter(plugin=plugin).select_related("granted_by"))
    if not rows and is_legacy(plugin):
        return plugin, [{"capability": name, "requested": False, "default": True, "granted_at": None,
                         "granted_by": None} for name in LEGACY_DEFAULT]
    active = sorted((row for row in rows if row.revoked_at is None), key=lambda row: _ORDER[row.capability])
    return plugin, [{"capability": row.capability, "requested": row.capability in requested, "default": False,
                     "granted_at": row.granted_at, "granted_by": row.granted_by} for row in active]


def requested_capabilities_or_none(plugin):
    """What the manifest requests (None for a legacy manifest or a malformed list)."""
    if is_legacy(plugin) or manifest_capabilities_error(plugin.manifest):
        return None
    return ordered(plugin.manifest["capabilities"])


def _materialize_legacy(plugin, now):
    """Write a legacy plugin's implicit default down as grant rows (the plugin's row is locked by the caller)."""
    if is_legacy(plugin) and not PluginCapabilityGrant.objects.filter(plugin=plugin).exists():
        PluginCapabilityGrant.objects.bulk_create(
            PluginCapabilityGrant(organization_id=plugin.organization_id, plugin=plugin, capability=name,
                                  granted_at=now) for name in LEGACY_DEFAULT)


def _grant(principal, plugin, capability, via, now):
    """Grant `capability` to the locked `plugin`: (row, created); a revoked row comes back."""
    user = principal.user if getattr(principal.user, "pk", None) else None
    row = PluginCapabilityGrant.objects.filter(plugin=plugin, capability=capability).first()
    if row is not None and row.revoked_at is None:
        return row, False
    if row is None:
        row = PluginCapabilityGrant.objects.create(organization_id=plugin.organization_id, plugin=plugin,
                                                   capability=capability, granted_by=user, granted_at=now)
    else:
        row.granted_by, row.granted_at, row.revoked_at, row.revoked_by = user, now, None, None
        row.save(update_fields=["granted_by", "granted_at", "revoked_at", "revoked_by"])
    events.capability_changed(principal, plugin, capability, granted=True, via=via)
    return row, True


def _revoke(principal, plugin, capability, via, now):
    """Revoke `capability` from the locked `plugin`; False when it did not hold it."""
    user = principal.user if getattr(principal.user, "pk", None) else None
    changed = PluginCapabilityGrant.objects.filter(plugin=plugin, capability=capability,
                                                   revoked_at__isnull=True).update(revoked_at=now, revoked_by=user)
    if changed:
        events.capability_changed(principal, plugin, capability, granted=False, via=via)
    return bool(changed)


def _clean_capability(capability):
    if capability not in Capability.values:
        raise Invalid(f"capability: '{str(capability)[:40]}' is not a capability; one of "
                      f"{', '.join(Capability.values)}.", field="capability")
    return Capability(capability)


def grant_capability(principal, plugin_id, capability, *, via="api", now=None):
    """Grant `capability` to the organization's plugin `plugin_id`; org admins only. Returns (grant, created):
    created is False when the plugin held it already (nothing changes, nothing is emitted). Emits
    plugin.capability_granted in the transaction of the change."""
    require_org_admin(principal, "This")
    capability = _clean_capability(capability)
    now = now or timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                plugin = _plugin(principal, plugin_id, lock=True)
                _materialize_legacy(plugin, now)
                return _grant(principal, plugin, capability, via, now)
        except IntegrityError:  # a concurrent first grant of the same plugin (SQLite locks nothing): again
            continue
    raise RuntimeError("could not grant the capability")


def revoke_capability(principal, plugin_id, capability, *, via="api", now=None):
    """Revoke `capability` from the organization's plugin `plugin_id`; org admins only. NotFound when the
    plugin does not hold it (or is unknown). Emits plugin.capability_revoked in the transaction of the change."""
    require_org_admin(principal, "This")
    now = now or timezone.now()
    if capability not in Capability.values:
        _plugin(principal, plugin_id)
        raise NotFound(f"'{str(capability)[:40]}' is not a capability (one of {', '.join(Capability.values)}).")
    with transaction.atomic():
        plugin = _plugin(principal, plugin_id, lock=True)
        _materialize_legacy(plugin, now)
        if not _revoke(principal, plugin, capability, via, now):
            raise NotFound(f"Plugin {plugin_id} does not hold the {capability} capability.",
                           title="Capability not granted")


# Installing


def check_install_capabilities(plugin, narrowed):
    """The capabilities an install of `plugin` grants: `narrowed` (a subset of what the manifest requests)
    when given, else everything requested. Invalid naming what the manifest does not request."""
    requested = requested_capabilities(plugin)
    if narrowed is None:
        return requested
    unknown = [name for name in narrowed if name not in Capability.values]
    if unknown:
        raise Invalid(f"capabilities: unknown capability {', '.join(repr(str(n)[:40]) for n in unknown[:5])}.",
                      field="capabilities")
    extra = [name for name in narrowed if name not in requested]
    if extra:
        what = (f"its manifest requests nothing, so it has the legacy default {', '.join(requested)}"
                if is_legacy(plugin) else f"its manifest requests {', '.join(requested) or 'nothing'}")
        raise Invalid(
            f"capabilities: {plugin.plugin_id} does not request {', '.join(extra)} ({what}); an install grants "
            "a subset of what is requested.",
            field="capabilities", notRequested=extra, requested=requested)
    return ordered(narrowed)


def install_capabilities(principal, plugin, narrowed=None, *, via="install", now=None):
    """Set the capabilities of `plugin`, being installed (its row locked by the caller's transaction), to the
    install's set (`check_install_capabilities`): grant the missing ones and revoke the others, each with its
    event. A legacy plugin installed without narrowing keeps its implicit default untouched."""
    wanted = check_install_capabilities(plugin, narrowed)
    now = now or timezone.now()
    if narrowed is None and is_legacy(plugin) and not PluginCapabilityGrant.objects.filter(plugin=plugin).exists():
        return wanted
    _materialize_legacy(plugin, now)
    for capability in wanted:
        _grant(principal, plugin, capability, via, now)
    held = PluginCapabilityGrant.objects.filter(plugin=plugin, revoked_at__isnull=True)
    for capability in held.exclude(capability__in=wanted).values_list("capability", flat=True):
        _revoke(principal, plugin, capability, via, now)
    return wanted
