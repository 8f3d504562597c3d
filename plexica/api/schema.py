"""OpenAPI glue: the tenant header, the bearer scheme and the error dialects in the schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer

from plexica.api.openapi_errors import DESCRIPTIONS, error_serializer, error_statuses
from plexica.api.permissions import TENANT_HEADER
from plexica.ids import PATH_ID_PATTERNS


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

    def _get_response_bodies(self, direction="response"):
        """The view's answers plus every error status its checks can answer, in the surface's dialect."""
        responses = super()._get_response_bodies(direction)
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        for status in sorted(error_statuses(self.view, self.method, self.path, has_body)):
            if str(status) not in responses:
                body = error_serializer(self.path, status)
                upstream = getattr(self.view, "upstream_answer", None)
                if upstream is not None:  # the gateway's /call also passes the upstream's own errors on
                    body = PolymorphicProxySerializer(f"CallError{status}", [body, upstream], None)
                answer = OpenApiResponse(body, description=DESCRIPTIONS.get(status, ""))
                responses[str(status)] = self._get_response_for_code(answer, str(status), direction=direction)
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "plexica.api.authentication.ApiKeyAuthentication"
    name = "apiKey"  # sorts before "session": Swagger UI's Authorize dialog offers the key first

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "plx_…",
            "description": (
                "An API key of the organization, sent as `Authorization: Bearer plx_…` (created in the admin, "
                "with `POST /api/v1/api-keys` or `manage.py createapikey`; `make run` prints the demo's). "
                "Paste the key here, without `Bearer`."
            ),
        }


class AdminSessionScheme(OpenApiAuthenticationExtension):
    target_class = "plexica.api.authentication.AdminSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": (
                "The session of an admin logged in at /admin/ in this browser: Swagger UI sends its cookie by "
                "itself, so there is nothing to enter here. An API key pasted here would be sent as a cookie "
                "and answer 401: use `apiKey` above."
            ),
        }


def item_envelope(name, serializer):
    """Schema of a detail response: `{"item": ...}`."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(name, {"item": serializer})


def mutation_envelope(name, serializer):
    """Schema of a mutation response: `{"ok": true, "item": ...}`."""
    from drf_spectacular.utils import inline_serializer
    from rest_framework import serializers

    return inline_serializer(name, {"ok": serializers.BooleanField(default=True), "item": serializer})


def document_path_id_formats(result, generator, request, public):
    """Postprocessing hook: every path id carries its format (`cfo_` + 22 letters and digits, `plugin-...`);
    an id that does not match it is a 404, never a lookup."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else ():
                pattern = PATH_ID_PATTERNS.get(parameter["name"])
                if parameter["in"] == "path" and pattern and "pattern" not in parameter["schema"]:
                    parameter["schema"] = {**parameter["schema"], "type": "string", "pattern": pattern}
    return result


def document_closed_request_bodies(result, generator, request, public):
    """Postprocessing hook: request bodies are closed (`additionalProperties: false`), as the strict
    serializers are: an unknown field is a 400 naming it."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
    return result
