"""The extensions seed's routes under /ext/."""

from django.urls import path

from observability.api import views

app_name = "observability-api"

urlpatterns = [
    path("status", views.ExtensionStatusView.as_view(), name="extension-status"),
    path("<str:plugin_id>/health", views.ExtensionHealthView.as_view(), name="extension-health"),
]
