from django.urls import path

from marketplaces.api.views import ConfigObjectVersionViewSet, ConfigObjectViewSet

app_name = "marketplaces-api"

OBJECT = "config-objects/<str:config_object_id>"
VERSIONS = ConfigObjectVersionViewSet

urlpatterns = [
    path("config-objects", ConfigObjectViewSet.as_view({"get": "list", "post": "create"}), name="config-object-list"),
    path(OBJECT, ConfigObjectViewSet.as_view({"get": "retrieve", "delete": "destroy"}), name="config-object-detail"),
    path(f"{OBJECT}/archive", ConfigObjectViewSet.as_view({"post": "archive"}), name="config-object-archive"),
    path(f"{OBJECT}/restore", ConfigObjectViewSet.as_view({"post": "restore"}), name="config-object-restore"),
    path(f"{OBJECT}/versions", VERSIONS.as_view({"get": "list", "post": "create"}), name="version-list"),
    path(f"{OBJECT}/versions/latest", VERSIONS.as_view({"get": "latest"}), name="version-latest"),
    path(f"{OBJECT}/versions/compare", VERSIONS.as_view({"get": "compare"}), name="version-compare"),
    path(f"{OBJECT}/versions/<str:version_id>", VERSIONS.as_view({"get": "retrieve"}), name="version-detail"),
]
