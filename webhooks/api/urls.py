from django.urls import path

from webhooks.api import views

app_name = "webhooks-api"

urlpatterns = [
    path("webhooks/connectors/<str:provider>", views.ProviderWebhookView.as_view(), name="connector-webhook"),
]
