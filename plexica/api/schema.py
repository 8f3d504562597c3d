"""OpenAPI glue: the tenant header, the bearer scheme and the error dialects in the schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from plexica.api.permissions import TENANT_HEADER


class PlexicaAutoSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if getattr(self.view, "tenant_scoped", False):
            parameters.append(
                OpenApiParameter(
                    TENANT_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    required=True,
                    description="Slug of the organization the request acts in, e.g. `acme-corp`.",
                )
            )
        return parameters

    def get_tags(self):
        tags = getattr(self.view, "schema_tags", None)
        return list(tags) if tags else super().get_tags()


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "plexica.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "plx_…",
            "description": "An API key of the organization (created in the admin or with `manage.py createapikey`).",
        }


class AdminSessionScheme(OpenApiAuthenticationExtension):
    target_class = "plexica.api.authentication.AdminSessionAuthentication"
    name = "adminSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def item_envelope(name, serializer):
    """Schema of a detail response: `{"item": ...}`."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(name, {"item": serializer})


def mutation_envelope(name, serializer):
    """Schema of a mutation response: `{"ok": true, "item": ...}`."""
    from drf_spectacular.utils import inline_serializer
    from rest_framework import serializers

    return inline_serializer(name, {"ok": serializers.BooleanField(default=True), "item": serializer})
