"""The status API's bodies, for the schema (observability.status builds them as plain dicts)."""

from rest_framework import serializers

STATES = ["registered", "installed", "loaded", "degraded", "failed", "disabled", "uninstalled"]
HEALTH = ["healthy", "degraded", "unhealthy"]


class ExtensionInfoSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField(allow_blank=True)


class ExtensionMetricsSerializer(serializers.Serializer):
    requests_total = serializers.FloatField(help_text="Gateway calls that reached the plugin's services.")
    errors_total = serializers.FloatField(help_text="Of those, the ones that failed (a 5xx, or refused).")
    latency_ms_sum = serializers.FloatField(help_text="Their total time, in milliseconds.")


class ExtensionCheckSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    outcome = serializers.ChoiceField(["pass", "warn", "fail"])


class ExtensionServiceHealthSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    status = serializers.ChoiceField(["HEALTHY", "DEGRADED", "UNAVAILABLE"])
    health = serializers.ChoiceField(HEALTH)
    last_heartbeat = serializers.DateTimeField()
    last_check = ExtensionCheckSerializer(allow_null=True, help_text="The platform's last active health check "
                                          "of the service (null before the first).")


class ExtensionSerializer(serializers.Serializer):
    state = serializers.ChoiceField(STATES, help_text="From the lifecycle, then the services' health (README).")
    info = ExtensionInfoSerializer()
    capabilities = serializers.ListField(child=serializers.CharField())
    loaded_ms = serializers.IntegerField(allow_null=True,
                                         help_text="From the last install to the first healthy service.")
    metrics = ExtensionMetricsSerializer()
    lifecycle_state = serializers.ChoiceField(["registered", "installed", "active", "disabled", "uninstalled"])
    health = serializers.ChoiceField(HEALTH)
    services = ExtensionServiceHealthSerializer(many=True)


class ExtensionStatusSerializer(serializers.Serializer):
    extensions = serializers.DictField(child=ExtensionSerializer(), help_text="By plugin id.")
    discovery_sources = serializers.ListField(child=serializers.CharField())
    total_extensions = serializers.IntegerField()
    loaded_extensions = serializers.IntegerField(help_text="Plugins loaded or degraded.")
    failed_extensions = serializers.IntegerField()


class ExtensionHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(HEALTH)
    timestamp = serializers.DateTimeField()
    version = serializers.CharField()
    checks = serializers.DictField(child=serializers.ChoiceField(HEALTH), help_text="By service name.")
    state = serializers.ChoiceField(STATES)
