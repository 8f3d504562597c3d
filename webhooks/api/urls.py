"""The webhooks app's routes under /api/v1/: the public inbound ingress."""

from django.urls import include, path

from webhooks.inbound.api import views as inbound

app_name = "webhooks-api"

v1_patterns = [
    path("webhooks/connectors/<str:provider>", inbound.ProviderWebhookView.as_view(), name="connector-webhook"),
]

urlpatterns = [path("v1/", include(v1_patterns))]
