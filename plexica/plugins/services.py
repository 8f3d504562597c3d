"""Plugin catalog rules. No HTTP here."""

from plexica.plugins.models import PermissionGrant, Plugin, plugin_id_validator


def ensure_plugin(organization, plugin_id, *, name=None, **fields):
    """Return `plugin_id` of `organization`, creating it (state registered unless `fields` say otherwise).

    The name defaults to the id without its `plugin-` prefix (plugin-crm -> "crm"). An existing plugin is
    returned unchanged. Returns (plugin, created); raises ValidationError for a bad id or field.
    """
    plugin_id_validator(plugin_id)
    existing = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
    if existing is not None:
        return existing, False
    name = name or plugin_id.removeprefix("plugin-")
    plugin = Plugin(organization=organization, plugin_id=plugin_id, name=name, **fields)
    plugin.full_clean()
    plugin.save()
    return plugin, True


def grant_permission(plugin, permission, granted_by=None):
    """Grant `permission` to `plugin` (idempotent). Returns (grant, created)."""
    grant = PermissionGrant(organization_id=plugin.organization_id, plugin=plugin, permission=permission)
    grant.full_clean(exclude=["plugin"], validate_unique=False, validate_constraints=False)
    return PermissionGrant.objects.get_or_create(
        plugin=plugin, permission=permission,
        defaults={"organization_id": plugin.organization_id, "granted_by": granted_by},
    )


def revoke_permission(plugin, permission):
    """Revoke `permission` from `plugin`; returns whether there was a grant to revoke."""
    deleted, _ = PermissionGrant.objects.filter(plugin=plugin, permission=permission).delete()
    return bool(deleted)


def granted_permissions(plugin_pk):
    """The set of permission strings granted to the plugin with primary key `plugin_pk`."""
    return set(PermissionGrant.objects.filter(plugin_id=plugin_pk).values_list("permission", flat=True))
