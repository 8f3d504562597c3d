"""The webhooks app's routes under /api/v1/: the public inbound ingress, the organization's outbound
endpoints (outbound/api/endpoints.py) and their messages and attempts (outbound/api/messages.py)."""

from django.urls import include, path

from webhooks.inbound.api import views as inbound
from webhooks.outbound.api import endpoints, messages

app_name = "webhooks-api"

v1_patterns = [
    path("webhooks/connectors/<str:provider>", inbound.ProviderWebhookView.as_view(), name="connector-webhook"),
    *endpoints.urlpatterns,
    *messages.urlpatterns,
]

urlpatterns = [path("v1/", include(v1_patterns))]
