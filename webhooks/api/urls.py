"""The webhooks app's routes under /api/v1/: the public inbound ingress."""

from django.urls import path

from webhooks.inbound.api import views as inbound

app_name = "webhooks-api"

urlpatterns = [
    path("webhooks/connectors/<str:provider>", inbound.ProviderWebhookView.as_view(), name="connector-webhook"),
]
