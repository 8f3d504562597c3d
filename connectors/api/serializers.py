from rest_framework import serializers

from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from connectors.services.mappings import MappingInput
from connectors.services.validation import (
    MAX_GITHUB_ID,
    SELECTOR_MAX_LENGTH,
    validate_branch,
    validate_repository_full_name,
    validate_selector,
)
from marketplaces.config_objects.models import ConfigObjectType
from plexica.api.serializers import (
    WHITESPACE_CHARACTERS,
    IdField,
    PatternTextField,
    StrictModelSerializer,
    StrictSerializer,
)
from plexica.ids import public_id_pattern
from plexica.plugins.models import PLUGIN_ID_PATTERN

POSITIVE_ID = {"min_value": 1, "max_value": MAX_GITHUB_ID}
# The values alone (labels = values): a choice set distinct from config objects' `type` in the OpenAPI schema,
# so it gets its own enum component (ObjectTypeEnum) instead of two names for one set.
OBJECT_TYPES = [(value, value) for value in ConfigObjectType.values]
PLUGIN_ID_ERRORS = {"invalid": "A plugin id is 'plugin-' followed by lowercase letters, digits and hyphens."}
# autoAddToPlugin: true needs a pluginId (the mapping validate() methods); "not true" is false (an enum of
# one value would become a component of its own).
AUTO_ADD_NEEDS_PLUGIN = {"anyOf": [
    {"properties": {"autoAddToPlugin": {"not": {"enum": [True]}}}},
    {"required": ["pluginId"], "properties": {"pluginId": {"type": "string"}}},
]}

# The services' validators as patterns, for the OpenAPI schema (tests/api/test_schema_constraints.py holds
# each to its validator). [\s\S] is any character: `.` stops at line breaks, differently in each engine.
# validate_repository_full_name: owner/name as GitHub spells it, the name never "." or "..".
REPOSITORY_FULL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$"
# validate_branch (`git check-ref-format --branch`): no space, control or ~^:?*[\ character, no "..", "@{" or
# "//", no part starting with "." or ending in ".lock", not "@", not starting with "-" or "/", nor ending in
# "/" or ".".
BRANCH_PATTERN = (
    r"^(?!-|/|\.|@$)(?![\s\S]*(?:\.\.|@\{|//|/\.|\.lock/|\.lock$|[/.]$))[^\x00-\x20\x7f~^:?*\[\\]+$"
)
# validate_selector: not only whitespace, relative (no leading "/"), no control character, no ".." segment.
SELECTOR_PATTERN = rf"^(?!/)(?!(?:[\s\S]*/)?\.\.(?:/|$))(?=[\s\S]*[^{WHITESPACE_CHARACTERS}])[^\x00-\x1f]+$"


# Accounts


class ConnectorAccountSerializer(StrictModelSerializer):
    installationId = serializers.IntegerField(source="installation_id")
    accountLogin = serializers.CharField(source="account_login")
    accountType = serializers.CharField(source="account_type")
    displayName = serializers.CharField(source="display_name")
    instanceCount = serializers.IntegerField(source="instance_count",
                                             help_text="Instances using this account.")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    disconnectedAt = serializers.DateTimeField(source="disconnected_at", allow_null=True)

    class Meta:
        model = ConnectorAccount
        fields = ["id", "provider", "installationId", "accountLogin", "accountType", "displayName", "status",
                  "instanceCount", "createdBy", "createdAt", "updatedAt", "disconnectedAt"]
        read_only_fields = fields


class ConnectorAccountInputSerializer(StrictSerializer):
    installationId = serializers.IntegerField(**POSITIVE_ID, help_text="The GitHub App installation id.")
    accountLogin = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    accountType = serializers.ChoiceField(choices=ConnectorAccount.AccountType.choices, required=False,
                                          allow_blank=True, default="")
    displayName = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


# Instances


class ConnectorInstanceSerializer(StrictModelSerializer):
    accountId = serializers.CharField(source="account_id")
    lastSyncedAt = serializers.DateTimeField(source="last_synced_at", allow_null=True)
    lastSyncStatus = serializers.CharField(source="last_sync_status")
    lastSyncRevision = serializers.CharField(source="last_sync_revision")
    targetCount = serializers.IntegerField(source="target_count")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = ConnectorInstance
        fields = ["id", "accountId", "provider", "name", "description", "status", "lastSyncedAt",
                  "lastSyncStatus", "lastSyncRevision", "targetCount", "createdBy", "createdAt", "updatedAt"]
        read_only_fields = fields


class ConnectorInstanceInputSerializer(StrictSerializer):
    """Create (accountId and name) or patch (name, description); the status changes through its actions."""

    READ_ONLY = {"status": "The status changes only through disable, enable and archive."}

    accountId = IdField(public_id_pattern("cac"), max_length=32,
                        help_text="The connector account (cac_...) it uses.")
    name = serializers.CharField(max_length=200, help_text="Unique in the organization.")
    description = serializers.CharField(required=False, allow_blank=True, default="")

    def changes(self):
        names = {"name": "name", "description": "description"}
        return {names[key]: value for key, value in self.validated_data.items() if key in names}


class ConnectorInstancePatchSerializer(ConnectorInstanceInputSerializer):
    READ_ONLY = {**ConnectorInstanceInputSerializer.READ_ONLY,
                 "accountId": "The account of an instance cannot be changed."}

    accountId = None


# Mappings


class ConnectorMappingSerializer(StrictModelSerializer):
    targetId = serializers.CharField(source="target_id")
    objectType = serializers.CharField(source="object_type")
    pluginId = serializers.CharField(source="plugin.plugin_id", allow_null=True, default=None)
    autoAddToPlugin = serializers.BooleanField(source="auto_add_to_plugin")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = ConnectorMapping
        fields = ["id", "targetId", "selector", "objectType", "pluginId", "autoAddToPlugin", "position",
                  "createdAt", "updatedAt"]
        read_only_fields = fields


class ConnectorMappingInputSerializer(StrictSerializer):
    """A mapping to create, or (partial) the fields of one to change."""

    REQUEST_SCHEMA = AUTO_ADD_NEEDS_PLUGIN

    READ_ONLY = {"targetId": "A mapping cannot move to another target; create one there instead."}

    selector = PatternTextField(SELECTOR_PATTERN, max_length=SELECTOR_MAX_LENGTH,
                                validators=[validate_selector],
                                help_text="A path glob from the repository root: sales/skills/**.")
    objectType = serializers.ChoiceField(choices=OBJECT_TYPES)
    pluginId = serializers.RegexField(PLUGIN_ID_PATTERN, max_length=100, required=False, allow_null=True,
                                      error_messages=PLUGIN_ID_ERRORS,
                                      help_text="A plugin of the organization the objects belong with.")
    autoAddToPlugin = serializers.BooleanField(required=False, default=False,
                                               help_text="Add synced objects to the plugin; needs pluginId.")
    position = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1,
                                        help_text="Order of evaluation; the first matching mapping wins.")

    def validate(self, attrs):
        if not self.partial and attrs.get("autoAddToPlugin") and not attrs.get("pluginId"):
            raise serializers.ValidationError({"autoAddToPlugin": "Needs a pluginId to add the objects to."})
        return attrs

    def mapping_input(self):
        data = self.validated_data
        return MappingInput(data["selector"], data["objectType"], plugin_id=data.get("pluginId"),
                                     auto_add_to_plugin=data["autoAddToPlugin"])

    def changes(self):
        names = {"selector": "selector", "objectType": "object_type", "pluginId": "plugin_id",
                 "autoAddToPlugin": "auto_add_to_plugin", "position": "position"}
        # A partial serializer still fills defaults; only what the caller sent changes.
        return {names[key]: value for key, value in self.validated_data.items() if key in self.initial_data}


# Targets


class ConnectorTargetSerializer(StrictModelSerializer):
    instanceId = serializers.CharField(source="instance_id")
    repositoryId = serializers.IntegerField(source="repository_id")
    repositoryFullName = serializers.CharField(source="repository_full_name")
    disabledReason = serializers.CharField(source="disabled_reason")
    lastSyncedAt = serializers.DateTimeField(source="last_synced_at", allow_null=True)
    lastSyncedSha = serializers.CharField(source="last_synced_sha")
    mappings = ConnectorMappingSerializer(many=True, help_text="In evaluation order.")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = ConnectorTarget
        fields = ["id", "instanceId", "repositoryId", "repositoryFullName", "branch", "ref", "status",
                  "disabledReason", "lastSyncedAt", "lastSyncedSha", "mappings", "createdAt", "updatedAt"]
        read_only_fields = fields


class ConnectorTargetInputSerializer(StrictSerializer):
    """A target to create."""

    repositoryId = serializers.IntegerField(**POSITIVE_ID, help_text="GitHub's numeric repository id.")
    repositoryFullName = PatternTextField(REPOSITORY_FULL_NAME_PATTERN, max_length=200,
                                          validators=[validate_repository_full_name],
                                          help_text="owner/name")
    branch = PatternTextField(BRANCH_PATTERN, max_length=255, validators=[validate_branch])

    NAMES = {"repositoryId": "repository_id", "repositoryFullName": "repository_full_name",
             "branch": "branch", "status": "status", "disabledReason": "disabled_reason"}

    def changes(self):
        return {self.NAMES[key]: value for key, value in self.validated_data.items()}


class ConnectorTargetPatchSerializer(ConnectorTargetInputSerializer):
    """The fields a patch may change: the repository's name, the branch, and the status (to disable it)."""

    READ_ONLY = {"repositoryId": "A target's repository cannot change (a renamed repository keeps its id).",
                 "instanceId": "A target cannot move to another instance.",
                 "ref": "The ref follows the branch."}

    repositoryId = None
    # Values as labels: its own enum component, apart from the response's (see OBJECT_TYPES).
    status = serializers.ChoiceField(choices=[(v, v) for v in ConnectorTarget.Status.values], required=False,
                                     help_text="Disable the target (it stops syncing) or activate it again.")
    disabledReason = serializers.CharField(required=False, allow_blank=True, max_length=300,
                                           help_text="Why it is disabled; cleared when it becomes active.")


# Sync events


class SyncEventSerializer(StrictModelSerializer):
    targetId = serializers.CharField(source="target_id")
    instanceId = serializers.CharField(source="target.instance_id")
    eventType = serializers.CharField(source="event_type")
    deliveryId = serializers.CharField(source="delivery_id")
    headSha = serializers.CharField(source="head_sha")
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)
    summary = serializers.JSONField(help_text="created/updated/deleted/skipped counts and per-file errors.")
    createdBy = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = SyncEvent
        fields = ["id", "targetId", "instanceId", "eventType", "trigger", "deliveryId", "headSha", "status",
                  "attempts", "nextAttemptAt", "startedAt", "finishedAt", "summary", "error", "createdBy",
                  "createdAt", "updatedAt"]
        read_only_fields = fields


# Setup


class SetupMappingSerializer(StrictSerializer):
    REQUEST_SCHEMA = AUTO_ADD_NEEDS_PLUGIN

    selector = PatternTextField(SELECTOR_PATTERN, max_length=SELECTOR_MAX_LENGTH,
                                validators=[validate_selector])
    objectType = serializers.ChoiceField(choices=OBJECT_TYPES)
    pluginId = serializers.RegexField(PLUGIN_ID_PATTERN, max_length=100, required=False, allow_null=True,
                                      error_messages=PLUGIN_ID_ERRORS)
    autoAddToPlugin = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if attrs.get("autoAddToPlugin") and not attrs.get("pluginId"):
            raise serializers.ValidationError({"autoAddToPlugin": "Needs a pluginId to add the objects to."})
        return attrs


class GitHubSetupSerializer(StrictSerializer):
    installationId = serializers.IntegerField(**POSITIVE_ID, help_text="The GitHub App installation id.")
    connectorInstanceName = serializers.CharField(max_length=200, help_text="Unique in the organization.")
    repositoryId = serializers.IntegerField(**POSITIVE_ID, help_text="GitHub's numeric repository id.")
    repositoryFullName = PatternTextField(REPOSITORY_FULL_NAME_PATTERN, max_length=200,
                                          validators=[validate_repository_full_name],
                                          help_text="owner/name")
    branch = PatternTextField(BRANCH_PATTERN, max_length=255, validators=[validate_branch])
    mappings = SetupMappingSerializer(many=True, allow_empty=False, max_length=100,
                                      help_text="In evaluation order; the first matching mapping wins.")

    def mapping_inputs(self):
        return [MappingInput(selector=m["selector"], object_type=m["objectType"],
                                      plugin_id=m.get("pluginId"), auto_add_to_plugin=m["autoAddToPlugin"])
                for m in self.validated_data["mappings"]]


class GitHubSetupResultSerializer(StrictSerializer):
    accountId = serializers.CharField()
    accountCreated = serializers.BooleanField(help_text="False when the organization's account of this "
                                                        "installation was reused.")
    instanceId = serializers.CharField()
    targetId = serializers.CharField()
    mappingIds = serializers.ListField(child=serializers.CharField(), help_text="In the order given.")
    syncEventId = serializers.CharField(help_text="The first sync, queued.")
