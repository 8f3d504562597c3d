from django.urls import path

from marketplaces.api.release_views import PluginReleaseViewSet

app_name = "releases-api"

RELEASES = "plugins/<str:plugin_id>/releases"
VIEWS = PluginReleaseViewSet

urlpatterns = [
    path(RELEASES, VIEWS.as_view({"get": "list", "post": "create"}), name="release-list"),
    path(f"{RELEASES}/unpin", VIEWS.as_view({"post": "unpin"}), name="release-unpin"),
    path(f"{RELEASES}/<str:release_id>", VIEWS.as_view({"get": "retrieve"}), name="release-detail"),
    path(f"{RELEASES}/<str:release_id>/pin", VIEWS.as_view({"post": "pin"}), name="release-pin"),
]
