from django.urls import path

from shareddata.api import views

app_name = "shareddata-api"

urlpatterns = [
    path("shared-data", views.SetSharedDataView.as_view(), name="entry-set"),
    path("shared-data/<str:namespace>", views.ListKeysView.as_view(), name="key-list"),
    path("shared-data/<str:namespace>/<str:key>", views.SharedEntryView.as_view(), name="entry-detail"),
]
