"""The project's URLs plus one plugin-gateway view, to test the gateway dialect before its endpoints exist."""

from django.urls import path
from rest_framework.response import Response

from plexica.api.views import TenantAPIView
from plexica.urls import urlpatterns as project_urlpatterns


class GatewayWhoAmI(TenantAPIView):
    def get(self, request):
        return Response({"organization": request.tenant.slug, "kind": request.principal.kind})


urlpatterns = [path("api/plugin-gateway/whoami", GatewayWhoAmI.as_view()), *project_urlpatterns]
