from rest_framework import serializers

from marketplaces.plugin_catalog import marketplace_ids
from plexica.api.serializers import JSONObjectField, StrictSerializer
from plexica.plugins.api.serializers import PluginSerializer, SemanticVersionField
from plexica.plugins.models import PLUGIN_ID_PATTERN


class CatalogPluginSerializer(PluginSerializer):
    """A plugin with its active config-object member count and the active marketplaces offering it."""

    memberCount = serializers.IntegerField(source="member_count", read_only=True,
                                           help_text="Active, non-deleted config objects in the plugin.")
    marketplaces = serializers.SerializerMethodField(help_text="Ids of the active marketplaces offering it.")

    class Meta(PluginSerializer.Meta):
        fields = [*PluginSerializer.Meta.fields, "memberCount", "marketplaces"]
        read_only_fields = fields

    def get_marketplaces(self, plugin) -> list[str]:
        return marketplace_ids(plugin)


class PluginInputSerializer(StrictSerializer):
    """Create (all fields) or patch (partial; pluginId, lifecycleState and catalogStatus cannot change)."""

    READ_ONLY = {
        "lifecycleState": "The lifecycle state changes only through install, enable, disable and uninstall.",
        "catalogStatus": "The catalog status changes only through archive and restore.",
    }

    pluginId = serializers.RegexField(
        PLUGIN_ID_PATTERN, max_length=100,
        error_messages={"invalid": "A plugin id is 'plugin-' followed by lowercase letters, digits and hyphens."},
    )
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    version = SemanticVersionField(required=False,
                                   help_text="A semantic version; only while the plugin is not installed.")
    manifest = JSONObjectField(required=False, help_text="Any JSON object (not null).")

    def changes(self):
        return {key: value for key, value in self.validated_data.items() if key != "pluginId"}


class PluginPatchSerializer(PluginInputSerializer):
    """The fields a patch may change; pluginId, lifecycleState and catalogStatus are refused by name."""

    READ_ONLY = {**PluginInputSerializer.READ_ONLY,
                 "pluginId": "The plugin id cannot be changed.", "id": "The plugin id cannot be changed."}

    pluginId = None

