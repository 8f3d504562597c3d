from rest_framework import serializers

from plexica.plugins.models import Plugin


class PluginSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="plugin_id", read_only=True)
    lifecycleState = serializers.CharField(source="lifecycle_state", read_only=True)
    catalogStatus = serializers.CharField(source="catalog_status", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Plugin
        fields = ["id", "name", "description", "version", "manifest", "lifecycleState", "catalogStatus",
                  "createdAt", "updatedAt"]
        read_only_fields = fields
