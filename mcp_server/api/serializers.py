"""The extensions seed's MCP HTTP bodies (`/ext/mcp_http/*`)."""

from rest_framework import serializers

from plexica.api.serializers import StrictSerializer


class MetaSerializer(serializers.Serializer):
    server = serializers.CharField()
    version = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    mcp = serializers.DictField(help_text="The real MCP endpoint: its path and protocol revisions.")


class ClientInfoSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    version = serializers.CharField(max_length=100, required=False, allow_blank=True)


class HandshakeSerializer(StrictSerializer):
    client = ClientInfoSerializer(required=False)


class ServerInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()


class HandshakeAnswer(serializers.Serializer):
    server = ServerInfoSerializer()
    session_id = serializers.CharField(help_text="An id for the client's logs: the server keeps no session, "
                                       "so later calls need only the key.")


class ToolSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    parameters = serializers.DictField(help_text="The tool's input JSON Schema (2020-12).")
    output = serializers.DictField(required=False, help_text="The result's JSON Schema, when the tool has one.")


class ToolListSerializer(serializers.Serializer):
    tools = ToolSerializer(many=True)


class InvokeSerializer(StrictSerializer):
    tool = serializers.CharField(max_length=128)
    parameters = serializers.DictField(required=False, default=dict)


class InvokeAnswer(serializers.Serializer):
    success = serializers.BooleanField()
    result = serializers.JSONField(required=False, help_text="The tool's result (success).")
    error = serializers.DictField(required=False, help_text="code, status, message and details (failure).")
