"""Plugin catalog rules. No HTTP here."""

from plexica.plugins.models import Plugin, plugin_id_validator


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
