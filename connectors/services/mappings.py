"""Connector mappings: a target's path globs -> config object types, maybe into a plugin, in evaluation
order (the first matching mapping by position wins; connectors.matching).

The rules are the target's instance's (viewer reads, editor changes), and a mapping that names a plugin
needs the editor role on that plugin too: the sync adds the files it selects to that plugin, so the editor
role on the connector instance alone would let anyone fill any plugin.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from connectors.models import ConnectorMapping
from connectors.services.instances import refuse_archived, require_instance_role
from connectors.services.targets import get_target, locked_target
from connectors.services.validation import check, validate_object_type, validate_position, validate_selector
from plexica.access import services as access
from plexica.errors import Invalid, NotFound
from plexica.plugins.models import Plugin
from plexica.plugins.sharing import PLUGIN

EDITING = "Changing a target's mappings needs the editor role on its connector instance"


@dataclass
class MappingInput:
    """One mapping as callers give it: the plugin by its `plugin-...` id."""

    selector: str
    object_type: str
    plugin_id: str | None = None
    auto_add_to_plugin: bool = False


def _queryset(organization):
    return ConnectorMapping.objects.filter(organization=organization).select_related("plugin")


def mapping_queryset(principal, target_id):
    """The mappings of one target (NotFound for an unknown target); the viewer role on its instance."""
    target = get_target(principal, target_id)
    return _queryset(principal.organization).filter(target=target)


def _annotated(principal, mapping):
    return _queryset(principal.organization).get(pk=mapping.pk)


def _locked_mapping(principal, mapping_id):
    mapping = (ConnectorMapping.objects.select_for_update(of=("self",))
               .select_related("target__instance", "plugin")
               .filter(organization=principal.organization, pk=mapping_id).first())
    if mapping is None:
        raise NotFound(f"No connector mapping {mapping_id} in this organization.",
                       title="Connector mapping not found")
    require_instance_role(principal, mapping.target.instance_id, access.EDITOR, EDITING)
    return mapping


def _plugin_of(organization, plugin_id, field):
    plugin = Plugin.objects.filter(organization=organization, plugin_id=plugin_id).first()
    if plugin is None:
        raise NotFound(f"No plugin {plugin_id} in this organization.", title="Plugin not found", field=field)
    return plugin


def resolve_mapping(principal, data, prefix=""):
    """Validate a MappingInput; the fields for a ConnectorMapping, with the plugin looked up in the caller's
    organization and the editor role on it checked. Errors name fields after `prefix` (`mappings[1].`)."""
    check(f"{prefix}selector", validate_selector, data.selector)
    check(f"{prefix}objectType", validate_object_type, data.object_type)
    if data.auto_add_to_plugin and not data.plugin_id:
        raise Invalid(f"{prefix}autoAddToPlugin: needs a pluginId to add the objects to.",
                      field=f"{prefix}autoAddToPlugin")
    plugin = None
    if data.plugin_id:
        plugin = _plugin_of(principal.organization, data.plugin_id, f"{prefix}pluginId")
        access.require_role(principal, PLUGIN, plugin.pk, access.EDITOR,
                            f"Mapping files into plugin {plugin.plugin_id} needs the editor role on it")
    return {"selector": data.selector, "object_type": data.object_type, "plugin": plugin,
            "auto_add_to_plugin": bool(data.auto_add_to_plugin)}


def _next_position(target):
    last = target.mappings.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def create_mapping(principal, target_id, data, now=None):
    """Append a mapping (a path glob -> an object type, optionally into a plugin) to the target's list."""
    now = now or timezone.now()
    with transaction.atomic():
        target = locked_target(principal, target_id, access.EDITOR, EDITING)
        fields = resolve_mapping(principal, data)
        refuse_archived(target.instance)
        mapping = ConnectorMapping.objects.create(organization=principal.organization, target=target,
                                                  position=_next_position(target), created_at=now,
                                                  updated_at=now, **fields)
    return _annotated(principal, mapping)


def update_mapping(principal, mapping_id, **changes):
    """Change selector, object_type, plugin_id (None clears it), auto_add_to_plugin and/or position.

    Any change to a mapping that (still) names a plugin needs the editor role on that plugin: a new selector,
    type or position changes what the sync puts into it as much as a new plugin does.
    """
    with transaction.atomic():
        mapping = _locked_mapping(principal, mapping_id)
        refuse_archived(mapping.target.instance)
        merged = MappingInput(
            selector=changes.get("selector", mapping.selector),
            object_type=changes.get("object_type", mapping.object_type),
            plugin_id=changes.get("plugin_id", getattr(mapping.plugin, "plugin_id", None)),
            auto_add_to_plugin=changes.get("auto_add_to_plugin", mapping.auto_add_to_plugin),
        )
        for name, value in resolve_mapping(principal, merged).items():
            setattr(mapping, name, value)
        if "position" in changes:
            check("position", validate_position, changes["position"])
            mapping.position = changes["position"]
        mapping.updated_at = timezone.now()
        mapping.save()
    return _annotated(principal, mapping)


def delete_mapping(principal, mapping_id):
    """Remove a mapping. Objects it brought in stay; the next sync treats their files as unmapped."""
    with transaction.atomic():
        mapping = _locked_mapping(principal, mapping_id)
        refuse_archived(mapping.target.instance)
        mapping.delete()
