"""The shared data routes, under /api/plugin-gateway/."""

from django.urls import include, path

from shareddata.api import views

app_name = "shareddata-api"

gateway_patterns = [
    path("shared-data", views.SetSharedDataView.as_view(), name="entry-set"),
    path("shared-data/<str:namespace>", views.ListKeysView.as_view(), name="key-list"),
    path("shared-data/<str:namespace>/<str:key>", views.SharedEntryView.as_view(), name="entry-detail"),
]

urlpatterns = [path("plugin-gateway/", include(gateway_patterns))]
