from rest_framework import serializers

from dependencies.ranges import MAX_RANGE_LENGTH, is_valid_range
from dependencies.resolver import Dependency
from plexica.api.serializers import StrictSerializer
from plexica.plugins.api.serializers import SemanticVersionField
from plexica.plugins.models import PLUGIN_ID_PATTERN, Capability

MAX_DEPENDENCIES_PER_REQUEST = 500
_PLUGIN_ID_MESSAGE = "Must look like plugin-{name}: lowercase letters, digits and hyphens."


def validate_range(value):
    # A range too long is the max_length check's to name, without echoing a kilobyte back.
    if len(value) <= MAX_RANGE_LENGTH and not is_valid_range(value):
        raise serializers.ValidationError(
            f"'{value}' is not a valid npm version range (for example ^1.0.0, ~2.3.4, >=1.0.0 <2, 1.x || 2.x)."
        )
    return value


class DependencySerializer(StrictSerializer):
    # The strict base refuses non-strings: a RegexField alone fails one with its "plugin-{name}" message,
    # which DRF str.format()s (a KeyError, so a 500), and a CharField takes the range 1 as "1".
    pluginId = serializers.RegexField(
        PLUGIN_ID_PATTERN, max_length=100, error_messages={"invalid": _PLUGIN_ID_MESSAGE}
    )
    dependsOnPluginId = serializers.RegexField(
        PLUGIN_ID_PATTERN, max_length=100, error_messages={"invalid": _PLUGIN_ID_MESSAGE}
    )
    # Blank allowed: npm reads the empty range as *.
    version = serializers.CharField(max_length=MAX_RANGE_LENGTH, allow_blank=True,
                                    validators=[validate_range])
    required = serializers.BooleanField(required=False, default=True)

    def validate(self, data):
        if data["pluginId"] == data["dependsOnPluginId"]:
            raise serializers.ValidationError({"dependsOnPluginId": "A plugin cannot depend on itself."})
        return data


class RegisterDependenciesSerializer(StrictSerializer):
    dependencies = DependencySerializer(many=True, allow_empty=False, max_length=MAX_DEPENDENCIES_PER_REQUEST)

    def validate_dependencies(self, entries):
        first_seen, errors = {}, [{} for _ in entries]
        for index, entry in enumerate(entries):
            key = (entry["pluginId"], entry["dependsOnPluginId"])
            if key in first_seen:
                errors[index] = {"dependsOnPluginId": [
                    f"Repeats dependencies[{first_seen[key]}] ({key[0]} → {key[1]}); name each dependency once."
                ]}
            first_seen.setdefault(key, index)
        if any(errors):
            raise serializers.ValidationError(errors)
        return entries

    def dependency_list(self):
        return [
            Dependency(e["pluginId"], e["dependsOnPluginId"], e["version"], e["required"])
            for e in self.validated_data["dependencies"]
        ]


class DependenciesRegisteredSerializer(StrictSerializer):
    success = serializers.BooleanField()
    message = serializers.CharField()


class ResolveResponseSerializer(StrictSerializer):
    valid = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())
    installOrder = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="Present when valid: dependencies first, the plugin itself last.",
    )


class DependencyListSerializer(StrictSerializer):
    pluginId = serializers.CharField()
    dependencies = DependencySerializer(many=True)
    count = serializers.IntegerField()


class DependentsSerializer(StrictSerializer):
    pluginId = serializers.CharField()
    dependents = serializers.ListField(child=serializers.CharField())
    count = serializers.IntegerField()


class BlockerSerializer(StrictSerializer):
    pluginId = serializers.CharField()
    reason = serializers.CharField()


class CanUninstallSerializer(StrictSerializer):
    canUninstall = serializers.BooleanField()
    blockedBy = BlockerSerializer(many=True)


class InstallSerializer(StrictSerializer):
    version = SemanticVersionField()
    capabilities = serializers.ListField(
        child=serializers.ChoiceField(choices=Capability.choices), required=False,
        max_length=len(Capability.values),
        help_text="Grant only these of the capabilities the manifest requests (default: all of them); one it "
                  "does not request is a 400 naming it.",
    )

    def validate_capabilities(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each capability once.")
        return value
