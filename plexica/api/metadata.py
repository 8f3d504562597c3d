"""OPTIONS answers for every API view."""

from rest_framework.metadata import BaseMetadata


class EndpointMetadata(BaseMetadata):
    """An endpoint's name, description and methods; its bodies are documented in the OpenAPI schema.

    DRF's SimpleMetadata would instead build a serializer per method against a clone of the request,
    which runs the permission checks a second time and fails on views without a serializer.
    """

    def determine_metadata(self, request, view):
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "methods": sorted(view.allowed_methods),
            "schema": "/api/schema/",
        }
