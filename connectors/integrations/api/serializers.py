"""Request and response bodies of /api/v1/integrations (the seed's field names). Request serializers check
JSON types and refuse unknown fields; the services check everything else (schemas, URLs, lifecycle)."""

from rest_framework import serializers

from connectors.integrations.models import (
    AuthType,
    IntegrationDefinition,
    IntegrationExecution,
    IntegrationInstance,
)
from plexica.api.serializers import JSONObjectField, StrictSerializer

JSON_SCHEMA_HELP = "A JSON Schema (2020-12); `$ref` only inside the schema (remote references are never fetched)."


def iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


# Requests


class MethodField(JSONObjectField):
    pass


class DefinitionWriteSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, trim_whitespace=False)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    version = serializers.CharField(max_length=64, trim_whitespace=False, help_text="Semantic version, e.g. 1.0.0.")
    type = serializers.CharField(required=False, max_length=32, trim_whitespace=False, default="http")
    authType = serializers.ChoiceField(choices=AuthType.values, required=False, default=AuthType.NONE)
    methods = serializers.ListField(child=JSONObjectField(), required=False, default=list, max_length=200, help_text=(
        "Each: {name, description, paramSchema, resultSchema, rateLimits {requestsPerMinute, burstLimit}, "
        "timeoutMs (100 to 300000, 10000 by default), request {method, path, query, headers, body}, idempotent}. "
        "In the request, `{param}` inside a string takes the parameter's text (URL-encoded in path and query), "
        "a string that is exactly `\"{param}\"` its JSON value; a query entry whose parameter is missing is "
        "dropped. `idempotent` (true by default for GET, HEAD, PUT, DELETE) decides retries."))
    configSchema = JSONObjectField(required=False, default=dict, help_text=JSON_SCHEMA_HELP)
    defaultConfig = JSONObjectField(required=False, default=dict, help_text="e.g. {\"baseUrl\": ..., \"apiVersion\": ...}")
    oauth2Config = JSONObjectField(required=False, allow_null=True, default=None, help_text=(
        "{authorizationUrl, tokenUrl, scope, grant: authorization_code (PKCE S256) | client_credentials}"))
    apiKeyConfig = JSONObjectField(required=False, allow_null=True, default=None, help_text=(
        "{in: header | query, name, prefix}; by default the key goes in `Authorization: Bearer <key>`."))
    resultCheck = serializers.ChoiceField(choices=IntegrationDefinition.ResultCheck.values, required=False,
                                          default="warn", help_text=(
                                              "A result that does not match resultSchema: `warn` returns it with "
                                              "warnings, `error` answers EXECUTION_ERROR."))
    oauthClientId = serializers.CharField(required=False, allow_blank=True, max_length=200, trim_whitespace=False)
    oauthClientSecret = serializers.CharField(required=False, allow_blank=True, max_length=500,
                                              trim_whitespace=False, write_only=True)
    platform = serializers.BooleanField(required=False, default=False,
                                        help_text="A platform definition, offered to every organization (superusers).")

    FIELDS = {"name": "name", "description": "description", "version": "version", "type": "type",
              "authType": "auth_type", "methods": "methods", "configSchema": "config_schema",
              "defaultConfig": "default_config", "oauth2Config": "oauth2_config", "apiKeyConfig": "api_key_config",
              "resultCheck": "result_check", "oauthClientId": "oauth_client_id",
              "oauthClientSecret": "oauth_client_secret"}

    def service_fields(self, given_only=False):
        data = self.validated_data
        keys = self.initial_data.keys() if given_only else data.keys()
        return {model: data[api] for api, model in self.FIELDS.items() if api in data and api in keys}


class DefinitionUpdateSerializer(DefinitionWriteSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("platform")
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class InstanceCreateSerializer(StrictSerializer):
    integrationDefinitionId = serializers.CharField(max_length=100, trim_whitespace=False)
    name = serializers.CharField(max_length=200, trim_whitespace=False)
    config = JSONObjectField(required=False, default=dict, help_text=(
        "Merged over the definition's defaultConfig and validated against its configSchema; `clientId` and "
        "`clientSecret` name the organization's own OAuth app."))


class InstanceUpdateSerializer(StrictSerializer):
    integrationDefinitionId = serializers.CharField(required=False, max_length=100, trim_whitespace=False,
                                                    help_text="Another PUBLISHED version of the same definition.")
    name = serializers.CharField(required=False, max_length=200, trim_whitespace=False)
    config = JSONObjectField(required=False, help_text="Replaces the stored config.")


class CredentialsSerializer(StrictSerializer):
    apiKey = serializers.CharField(required=False, max_length=4096, trim_whitespace=False)
    username = serializers.CharField(required=False, max_length=500, trim_whitespace=False)
    password = serializers.CharField(required=False, max_length=4096, trim_whitespace=False)


class OAuthStartSerializer(StrictSerializer):
    redirectUri = serializers.CharField(max_length=2000, trim_whitespace=False)


class OAuthCallbackSerializer(StrictSerializer):
    code = serializers.CharField(max_length=4096, trim_whitespace=False)
    state = serializers.CharField(max_length=200, trim_whitespace=False)


class ExecuteSerializer(StrictSerializer):
    parameters = JSONObjectField(required=False, default=dict, help_text="Validated against the method's paramSchema.")


# Responses


class DefinitionSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    version = serializers.CharField()
    type = serializers.CharField()
    authType = serializers.ChoiceField(choices=AuthType.values)
    status = serializers.ChoiceField(choices=IntegrationDefinition.Status.choices)
    platform = serializers.BooleanField(help_text="The platform's (offered to every organization).")
    updatedAt = serializers.DateTimeField()


class DefinitionSerializer(DefinitionSummarySerializer):
    methods = serializers.ListField(child=JSONObjectField())
    configSchema = JSONObjectField()
    defaultConfig = JSONObjectField()
    oauth2Config = JSONObjectField(allow_null=True)
    apiKeyConfig = JSONObjectField(allow_null=True)
    resultCheck = serializers.CharField()
    oauthClientId = serializers.CharField()
    hasOauthClientSecret = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    publishedAt = serializers.DateTimeField(allow_null=True)


def definition_summary(definition):
    return {"id": definition.pk, "name": definition.name, "description": definition.description,
            "version": definition.version, "type": definition.type, "authType": definition.auth_type,
            "status": definition.status, "platform": definition.is_platform, "updatedAt": iso(definition.updated_at)}


def definition_body(definition):
    return {**definition_summary(definition), "methods": definition.methods, "configSchema": definition.config_schema,
            "defaultConfig": definition.default_config, "oauth2Config": definition.oauth2_config,
            "apiKeyConfig": definition.api_key_config, "resultCheck": definition.result_check,
            "oauthClientId": definition.oauth_client_id,
            "hasOauthClientSecret": bool(definition.oauth_client_secret),
            "createdAt": iso(definition.created_at), "publishedAt": iso(definition.published_at)}


class InstanceSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    integrationDefinitionId = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=IntegrationInstance.Status.choices)
    statusReason = serializers.CharField()
    lastUsedAt = serializers.DateTimeField(allow_null=True)
    lastConnectedAt = serializers.DateTimeField(allow_null=True)
    updatedAt = serializers.DateTimeField()


class InstanceSerializer(InstanceSummarySerializer):
    config = JSONObjectField(help_text="The instance's own config (clientSecret masked).")
    hasCredentials = serializers.BooleanField(help_text="Credentials are never returned.")
    createdAt = serializers.DateTimeField()


def instance_summary(instance):
    return {"id": instance.pk, "integrationDefinitionId": instance.definition_id, "name": instance.name,
            "status": instance.status, "statusReason": instance.status_reason,
            "lastUsedAt": iso(instance.last_used_at), "lastConnectedAt": iso(instance.last_connected_at),
            "updatedAt": iso(instance.updated_at)}


def instance_body(instance):
    from connectors.integrations.instances import public_config

    return {**instance_summary(instance), "config": public_config(instance), "hasCredentials": instance.has_credentials,
            "createdAt": iso(instance.created_at)}


class OAuthStartAnswer(serializers.Serializer):
    authorizationUrl = serializers.URLField()
    state = serializers.CharField()


class OAuthCallbackAnswer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["SUCCESS"])
    integrationInstanceId = serializers.CharField()


class ExecuteAnswer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["SUCCESS"])
    data = serializers.JSONField(help_text="The provider's answer (JSON, or its text).")
    warnings = serializers.ListField(child=JSONObjectField(), required=False, help_text=(
        "With resultCheck `warn`: where the answer breaks the method's resultSchema."))
    executionId = serializers.CharField()


class ExecutionSerializer(serializers.Serializer):
    id = serializers.CharField()
    integrationInstanceId = serializers.CharField()
    method = serializers.CharField()
    status = serializers.ChoiceField(choices=IntegrationExecution.Status.choices)
    outcome = serializers.CharField(help_text="SUCCESS or the error code; empty while it runs.")
    async_ = serializers.BooleanField()
    attempts = serializers.IntegerField()
    durationMs = serializers.IntegerField(allow_null=True)
    actor = JSONObjectField()
    requestId = serializers.CharField()
    createdAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField(allow_null=True)
    finishedAt = serializers.DateTimeField(allow_null=True)
    result = JSONObjectField(allow_null=True, help_text=(
        "A finished execution's answer: {status: SUCCESS, data, warnings} or {error: {code, message, details}}; "
        "a successful asynchronous execution's data is kept for its caller to read."))

    def get_fields(self):
        fields = super().get_fields()
        fields["async"] = fields.pop("async_")
        return fields


def execution_body(execution, *, with_data=False):
    result = None
    if execution.status == IntegrationExecution.Status.SUCCEEDED:
        result = {"status": "SUCCESS", "warnings": execution.warnings or []}
        if with_data and execution.result is not None:
            result["data"] = execution.result.get("data")
    elif execution.status == IntegrationExecution.Status.FAILED:
        result = {"error": {"code": execution.outcome, "message": execution.message,
                            "details": execution.details or {}}}
    return {"id": execution.pk, "integrationInstanceId": execution.instance_id, "method": execution.method,
            "status": execution.status, "outcome": execution.outcome, "async": execution.is_async,
            "attempts": execution.attempts, "durationMs": execution.duration_ms,
            "actor": {"type": execution.actor_type, "id": execution.actor_id}, "requestId": execution.request_id,
            "createdAt": iso(execution.created_at), "startedAt": iso(execution.started_at),
            "finishedAt": iso(execution.finished_at), "result": result}
