from rest_framework import serializers

from marketplaces.models import (
    ConfigObject,
    ConfigObjectType,
    ConfigObjectVersion,
    Marketplace,
    MarketplacePlugin,
    PluginConfigObject,
    validate_logo_url,
)
from marketplaces.services import VersionInput
from plexica.api.serializers import (
    WHITESPACE_CHARACTERS,
    IdField,
    PatternTextField,
    StrictModelSerializer,
    StrictSerializer,
)
from plexica.ids import PLUGIN_ID_PATTERN, public_id_pattern
from plexica.plugins.api.serializers import PluginSerializer

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


# Any JSON value but null (OpenAPI 3.0 has no type "null" to exclude).
NOT_NULL = {"anyOf": [{"type": "object"}, {"type": "array", "items": {}}, {"type": "string"},
                      {"type": "number"}, {"type": "boolean"}]}


class VersionInputSerializer(StrictSerializer):
    REQUEST_SCHEMA = {"anyOf": [
        {"required": ["rawSourceText"], "properties": {"rawSourceText": {"type": "string"}}},
        {"required": ["normalizedPayloadJson"], "properties": {"normalizedPayloadJson": NOT_NULL}},
    ]}
    rawSourceText = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    normalizedPayloadJson = serializers.JSONField(required=False, allow_null=True)
    schemaVersion = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    metadata = serializers.DictField(required=False, default=dict,
                                     help_text="Free-form; fileName, relativePath and sourceRevision are used.")

    def validate(self, attrs):
        if attrs.get("rawSourceText") is None and attrs.get("normalizedPayloadJson") is None:
            raise serializers.ValidationError("Give rawSourceText or normalizedPayloadJson (or both).")
        return attrs


def version_input(data, reason=""):
    metadata = data.get("metadata") or {}
    revision = metadata.get("sourceRevision")
    return VersionInput(
        raw_source_text=data.get("rawSourceText"), normalized_payload_json=data.get("normalizedPayloadJson"),
        schema_version=data.get("schemaVersion") or "", metadata=metadata, reason=reason or "",
        source_revision=revision[:200] if isinstance(revision, str) else "",
    )


class CreateConfigObjectSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=ConfigObjectType.choices)
    sourceMode = serializers.ChoiceField(choices=ConfigObject.SourceMode.choices,
                                         default=ConfigObject.SourceMode.CLOUD)
    pluginIds = serializers.ListField(child=IdField(PLUGIN_ID_PATTERN), required=False, default=list,
                                      max_length=100, help_text="Plugins (plugin-... ids) the object joins.")
    input = VersionInputSerializer()


class NewVersionSerializer(StrictSerializer):
    input = VersionInputSerializer()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    baseVersionId = IdField(public_id_pattern("ver"), required=False, max_length=32,
                            help_text="The latest version id you read (instead of If-Match).")


class LatestVersionSummarySerializer(StrictSerializer):
    id = serializers.CharField()
    createdAt = serializers.DateTimeField()
    createdVia = serializers.CharField()
    schemaVersion = serializers.CharField()
    sha256 = serializers.CharField()
    isDeletedVersion = serializers.BooleanField()


class ConfigObjectSerializer(StrictModelSerializer):
    sourceMode = serializers.CharField(source="source_mode")
    fileName = serializers.CharField(source="file_name")
    fileExtension = serializers.CharField(source="file_extension")
    relativePath = serializers.CharField(source="relative_path")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    deletedAt = serializers.DateTimeField(source="deleted_at", allow_null=True)
    latestVersion = serializers.SerializerMethodField()

    class Meta:
        model = ConfigObject
        fields = ["id", "type", "sourceMode", "title", "description", "fileName", "fileExtension", "relativePath",
                  "status", "createdBy", "createdAt", "updatedAt", "deletedAt", "latestVersion"]
        read_only_fields = fields

    def get_latestVersion(self, obj) -> LatestVersionSummarySerializer(allow_null=True):
        """Read from services.with_latest_version's annotations."""
        if getattr(obj, "latest_version_id", None) is None:
            return None
        return LatestVersionSummarySerializer({
            "id": obj.latest_version_id, "createdAt": obj.latest_version_created_at,
            "createdVia": obj.latest_version_created_via, "schemaVersion": obj.latest_version_schema_version,
            "sha256": obj.latest_version_sha256, "isDeletedVersion": obj.latest_version_is_deleted_version,
        }).data


class VersionSummarySerializer(StrictModelSerializer):
    configObjectId = serializers.CharField(source="config_object_id")
    schemaVersion = serializers.CharField(source="schema_version")
    createdVia = serializers.CharField(source="created_via")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    sourceRevision = serializers.CharField(source="source_revision")
    isDeletedVersion = serializers.BooleanField(source="is_deleted_version")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = ConfigObjectVersion
        fields = ["id", "configObjectId", "schemaVersion", "createdVia", "createdBy", "sourceRevision",
                  "isDeletedVersion", "sha256", "reason", "createdAt"]
        read_only_fields = fields


class VersionSerializer(VersionSummarySerializer):
    rawSourceText = serializers.CharField(source="raw_source_text", allow_null=True)
    normalizedPayloadJson = serializers.JSONField(source="normalized_payload_json", allow_null=True)

    class Meta(VersionSummarySerializer.Meta):
        fields = [*VersionSummarySerializer.Meta.fields, "metadata", "rawSourceText", "normalizedPayloadJson"]
        read_only_fields = fields


class VersionCompareSerializer(StrictSerializer):
    fromVersionId = serializers.CharField()
    toVersionId = serializers.CharField()
    identical = serializers.BooleanField()
    diff = serializers.CharField(help_text="A unified diff (difflib), empty when the versions are identical.")


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
