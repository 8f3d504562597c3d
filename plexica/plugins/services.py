"""Plugin catalog rules: the catalog's bootstrap and the permissions an organization grants its plugins.

No HTTP here. The actions take the acting principal first and check their own rule, so the API, the admin,
workers (as `Principal.system(org)`) and any other caller get the same answers.
"""

from django.db import transaction
from django.utils import timezone

from plexica.access.services import require_org_admin
from plexica.errors import NotFound
from plexica.plugins import events
from plexica.plugins.models import PermissionGrant, Plugin, plugin_id_validator


def ensure_plugin(organization, plugin_id, *, name=None, **fields):
    """Return `plugin_id` of `organization`, creating it (state registered unless `fields` say otherwise).

    Operator command: no principal (management commands and seeding), so plugin.registered names the system.
    The name defaults to the id without its `plugin-` prefix (plugin-crm -> "crm"). An existing plugin is
    returned unchanged. Returns
    (plugin, created); raises ValidationError for a bad id or field.
    """
    plugin_id_validator(plugin_id)
    existing = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
    if existing is not None:
        return existing, False
    name = name or plugin_id.removeprefix("plugin-")
    plugin = Plugin(organization=organization, plugin_id=plugin_id, name=name, **fields)
    if plugin.lifecycle_state not in (Plugin.LifecycleState.REGISTERED, Plugin.LifecycleState.UNINSTALLED) \
            and plugin.installed_at is None:
        plugin.installed_at = timezone.now()  # seeded as installed: installed now (the status API's loaded_ms)
    plugin.full_clean()
    with transaction.atomic():
        plugin.save()
        events.plugin_registered(None, plugin, via="operator")
    return plugin, True


def _plugin(principal, plugin_id):
    plugin = Plugin.objects.filter(organization=principal.organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found")
    return plugin


def permission_grants(principal, plugin_id):
    """The permissions granted to the organization's plugin `plugin_id` (a queryset); org admins only."""
    require_org_admin(principal, "This")
    plugin = _plugin(principal, plugin_id)
    return PermissionGrant.objects.select_related("plugin", "granted_by").filter(plugin=plugin)


def grant_permission(principal, plugin_id, permission):
    """Grant `permission` to the organization's plugin `plugin_id` (idempotent); org admins only.

    The grant records the acting person (none for keys without a member, or the system). Returns
    (grant, created); NotFound for an unknown plugin, ValidationError for a malformed permission.
    """
    require_org_admin(principal, "This")
    plugin = _plugin(principal, plugin_id)
    grant = PermissionGrant(organization_id=plugin.organization_id, plugin=plugin, permission=permission)
    grant.full_clean(exclude=["plugin"], validate_unique=False, validate_constraints=False)
    return PermissionGrant.objects.get_or_create(
        plugin=plugin, permission=permission,
        defaults={"organization_id": plugin.organization_id, "granted_by": principal.user},
    )


def revoke_permission(principal, plugin_id, permission):
    """Revoke `permission` from the organization's plugin `plugin_id`; org admins only.

    NotFound for an unknown plugin, or when the plugin does not hold the permission.
    """
    require_org_admin(principal, "This")
    plugin = _plugin(principal, plugin_id)
    deleted, _ = PermissionGrant.objects.filter(plugin=plugin, permission=permission).delete()
    if not deleted:
        raise NotFound(f"Plugin {plugin_id} does not hold the permission '{permission}'.")


def granted_permissions(plugin_pk):
    """The set of permission strings granted to the plugin with primary key `plugin_pk`.

    A lookup for the gateway's permission check, which has already resolved (and checked) its caller.
    """
    return set(PermissionGrant.objects.filter(plugin_id=plugin_pk).values_list("permission", flat=True))
