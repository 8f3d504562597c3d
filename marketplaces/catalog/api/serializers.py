"""Request and response bodies of the catalog API: plugins with their member counts and marketplaces, plugin
membership of config objects, marketplaces and their plugins, and the resolved views."""

from rest_framework import serializers

from marketplaces.catalog.models import Marketplace, MarketplacePlugin, PluginConfigObject, validate_logo_url
from marketplaces.catalog.services.plugins import marketplace_ids
from marketplaces.config_objects.api.serializers import ConfigObjectSerializer
from plexica.api.serializers import (
    WHITESPACE_CHARACTERS,
    IdField,
    JSONObjectField,
    PatternTextField,
    StrictModelSerializer,
    StrictSerializer,
)
from plexica.ids import PLUGIN_ID_PATTERN, public_id_pattern
from plexica.plugins.api.serializers import PluginSerializer, SemanticVersionField

# validate_logo_url as a pattern, for the OpenAPI schema: a root-relative path (not //host) or an https URL
# whose host is given in ASCII (IPv6 literals not included), without whitespace, control characters or "\".
_URL_CHARACTER = rf"[^\x00-\x1f\\{WHITESPACE_CHARACTERS}]"
# Printable ASCII but # / ? [ \ ] (and : and @ for a host); ":" may follow in a port, "@" in user info.
_HOST_CHARACTER = r'[!"$-.0-9;->A-Z^-~]'
_PORT_CHARACTER = r'[!"$-.0-9:->A-Z^-~]'
_USER_CHARACTER = r'[!"$-.0-9:->@-Z^-~]'
LOGO_URL_PATTERN = (
    rf"^(?:/(?!/){_URL_CHARACTER}*"
    rf"|[Hh][Tt][Tt][Pp][Ss]://(?:{_USER_CHARACTER}*@)?{_HOST_CHARACTER}+(?::{_PORT_CHARACTER}*)?"
    rf"(?:[/?#]{_URL_CHARACTER}*)?)$"
)


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


class PluginMembershipSerializer(StrictModelSerializer):
    """A config object's active membership of a plugin."""

    pluginId = serializers.CharField(source="plugin.plugin_id")
    pluginName = serializers.CharField(source="plugin.name")
    configObjectId = serializers.CharField(source="config_object_id")
    configObjectType = serializers.CharField(source="config_object.type")
    configObjectTitle = serializers.CharField(source="config_object.title")
    addedBy = serializers.CharField(source="added_by.username", allow_null=True, default=None)
    addedAt = serializers.DateTimeField(source="added_at")

    class Meta:
        model = PluginConfigObject
        fields = ["pluginId", "pluginName", "configObjectId", "configObjectType", "configObjectTitle", "source",
                  "addedBy", "addedAt"]
        read_only_fields = fields


class AddPluginSerializer(StrictSerializer):
    pluginId = IdField(PLUGIN_ID_PATTERN)


class AddConfigObjectSerializer(StrictSerializer):
    configObjectId = IdField(public_id_pattern("cfo"), max_length=32)


class MarketplaceSerializer(StrictModelSerializer):
    logoUrl = serializers.CharField(source="logo_url")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    deletedAt = serializers.DateTimeField(source="deleted_at", allow_null=True)

    class Meta:
        model = Marketplace
        fields = ["id", "name", "description", "logoUrl", "status", "createdBy", "createdAt", "updatedAt",
                  "deletedAt"]
        read_only_fields = fields


class MarketplaceInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    logoUrl = PatternTextField(LOGO_URL_PATTERN, required=False, allow_blank=True, default="",
                               max_length=2048, validators=[validate_logo_url],
                               help_text="An https URL or a root-relative path.")

    def changes(self):
        names = {"name": "name", "description": "description", "logoUrl": "logo_url"}
        return {names[key]: value for key, value in self.validated_data.items()}


class MarketplacePluginSerializer(StrictModelSerializer):
    marketplaceId = serializers.CharField(source="marketplace_id")
    pluginId = serializers.CharField(source="plugin.plugin_id")
    pluginName = serializers.CharField(source="plugin.name")
    addedBy = serializers.CharField(source="added_by.username", allow_null=True, default=None)
    addedAt = serializers.DateTimeField(source="added_at")

    class Meta:
        model = MarketplacePlugin
        fields = ["marketplaceId", "pluginId", "pluginName", "addedBy", "addedAt"]
        read_only_fields = fields


class ResolvedPluginSerializer(StrictSerializer):
    plugin = PluginSerializer()
    configObjects = ConfigObjectSerializer(source="config_objects", many=True,
                                           help_text="Active members, each with its latest version summary.")


class ResolvedMarketplaceSerializer(StrictSerializer):
    marketplace = MarketplaceSerializer()
    plugins = ResolvedPluginSerializer(many=True)
