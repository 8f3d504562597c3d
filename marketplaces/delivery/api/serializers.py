"""Request and response bodies of the release and delivery API."""

from rest_framework import serializers

from marketplaces.catalog.services.plugins import marketplace_ids
from marketplaces.delivery.models import PluginRelease
from marketplaces.delivery.services import MAX_STATE_ITEMS, PUBLIC_ID, RemovedReason, UpdateStatus
from plexica.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from plexica.ids import PLUGIN_ID_PATTERN
from plexica.plugins.api.serializers import PluginSerializer


class ServedItemSerializer(StrictSerializer):
    """One config object version a release holds (or a manifest serves); no payload."""

    configObjectId = serializers.CharField(source="config_object_id")
    type = serializers.CharField()
    title = serializers.CharField(help_text="The object's current title.")
    versionId = serializers.CharField(source="version_id")
    sha256 = serializers.CharField(help_text="SHA-256 of the version's canonical content.")


class ReleaseSerializer(StrictModelSerializer):
    """A release without its items (as lists show it)."""

    pluginId = serializers.CharField(source="plugin.plugin_id")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    pinned = serializers.SerializerMethodField(help_text="True while delivery serves this release.")
    pinnedAt = serializers.DateTimeField(source="pinned_at", allow_null=True)
    itemCount = serializers.IntegerField(source="item_count", help_text="Config object versions it holds.")

    class Meta:
        model = PluginRelease
        fields = ["id", "pluginId", "name", "notes", "createdBy", "createdAt", "pinned", "pinnedAt",
                  "itemCount"]
        read_only_fields = fields

    def get_pinned(self, release) -> bool:
        return release.pinned_at is not None


class ReleaseDetailSerializer(ReleaseSerializer):
    """A release with every item it holds; it never changes, even when its objects are edited or deleted."""

    items = ServedItemSerializer(source="served_items", many=True)

    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "items"]
        read_only_fields = fields


class CreateReleaseSerializer(StrictSerializer):
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                 help_text="A label such as 2026.11 or 1.4.0.")
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000,
                                  trim_whitespace=False)
    pin = serializers.BooleanField(required=False, default=False,
                                   help_text="Pin it (and unpin any other) in the same transaction.")


class DeliveryPluginSerializer(PluginSerializer):
    """A plugin the caller may install, with the release delivery serves and the marketplaces offering it."""

    pinnedReleaseId = serializers.CharField(
        source="pinned_release_id", allow_null=True,
        help_text="The pinned release delivery serves; null: the rolling latest.")
    marketplaces = serializers.SerializerMethodField(help_text="Active marketplaces you can see offering it.")

    class Meta(PluginSerializer.Meta):
        fields = [*PluginSerializer.Meta.fields, "pinnedReleaseId", "marketplaces"]
        read_only_fields = fields

    def get_marketplaces(self, plugin) -> list[str]:
        return marketplace_ids(plugin)


class ManifestReleaseSerializer(StrictSerializer):
    id = serializers.CharField()
    name = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    pinned = serializers.SerializerMethodField(help_text="False when it was asked for with ?release=.")

    def get_pinned(self, release) -> bool:
        return release.pinned_at is not None


class ManifestSerializer(StrictSerializer):
    plugin = DeliveryPluginSerializer()
    release = ManifestReleaseSerializer(allow_null=True, help_text="The release served; null: the latest.")
    items = ServedItemSerializer(many=True)


class PayloadSerializer(StrictSerializer):
    """One delivered config object version with its payload, decrypted."""

    configObjectId = serializers.CharField(source="item.config_object_id")
    type = serializers.CharField(source="item.type")
    title = serializers.CharField(source="item.title")
    versionId = serializers.CharField(source="item.version_id")
    sha256 = serializers.CharField(source="item.sha256")
    schemaVersion = serializers.CharField(source="version.schema_version")
    rawSourceText = serializers.CharField(source="version.raw_source_text", allow_null=True)
    normalizedPayloadJson = serializers.JSONField(source="version.normalized_payload_json", allow_null=True)
    fileName = serializers.CharField(source="file_name", help_text="Empty when unknown.")
    relativePath = serializers.CharField(source="relative_path", help_text="Empty when unknown.")


class DownloadSerializer(ManifestSerializer):
    items = PayloadSerializer(many=True)


class ClientStateItemSerializer(StrictSerializer):
    # The formats marketplaces.delivery.services.clean_state_items checks (a client may keep ids it no longer sees).
    pluginId = IdField(PLUGIN_ID_PATTERN, help_text="plugin-...")
    configObjectId = IdField(f"^{PUBLIC_ID['configObjectId'].pattern}$", max_length=32, help_text="cfo_...")
    versionId = IdField(f"^{PUBLIC_ID['versionId'].pattern}$", max_length=32,
                        help_text="ver_...: the version the client installed.")


class ClientStateInputSerializer(StrictSerializer):
    """Documents the body; marketplaces.delivery.services.clean_state_items checks it (fast for thousands of items)."""

    items = ClientStateItemSerializer(
        many=True, max_length=MAX_STATE_ITEMS,
        help_text=f"Everything the client installed (at most {MAX_STATE_ITEMS}).")


class ClientStateSerializer(StrictSerializer):
    clientId = serializers.CharField(source="client_id")
    items = ClientStateItemSerializer(many=True)
    updatedAt = serializers.DateTimeField(source="updated_at")


class UpdateCheckSerializer(StrictSerializer):
    pluginId = serializers.CharField(source="plugin_id")
    configObjectId = serializers.CharField(source="config_object_id")
    status = serializers.ChoiceField(choices=UpdateStatus.choices)
    installedVersionId = serializers.CharField(source="installed_version_id", allow_null=True,
                                               help_text="Null for new items.")
    versionId = serializers.CharField(source="version_id", allow_null=True,
                                      help_text="The version served now (null: removed or not accessible).")
    sha256 = serializers.CharField(allow_null=True)
    releaseId = serializers.CharField(source="release_id", allow_null=True,
                                      help_text="The pinned release serving it; null: the rolling latest.")
    reason = serializers.ChoiceField(choices=RemovedReason.choices, allow_null=True,
                                     help_text="Why it was removed upstream; null otherwise.")


class UpdateCountsSerializer(StrictSerializer):
    up_to_date = serializers.IntegerField()
    update_available = serializers.IntegerField()
    removed_upstream = serializers.IntegerField()
    no_longer_accessible = serializers.IntegerField()
    new = serializers.IntegerField()


class UpdateReportSerializer(StrictSerializer):
    clientId = serializers.CharField(source="state.client_id")
    stateUpdatedAt = serializers.DateTimeField(source="state.updated_at")
    checkedAt = serializers.DateTimeField(source="checked_at")
    counts = UpdateCountsSerializer()
    items = UpdateCheckSerializer(many=True)
