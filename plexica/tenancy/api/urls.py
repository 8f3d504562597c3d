"""The tenancy routes, under /api/v1/: the caller, members, teams and API keys."""

from django.urls import include, path

from plexica.tenancy.api.views import ApiKeyViewSet, MemberViewSet, MeView, TeamViewSet

app_name = "tenancy-api"

v1_patterns = [
    path("me", MeView.as_view(), name="me"),
    path("members", MemberViewSet.as_view({"get": "list"}), name="member-list"),
    path("teams", TeamViewSet.as_view({"get": "list"}), name="team-list"),
    path("api-keys", ApiKeyViewSet.as_view({"get": "list", "post": "create"}), name="apikey-list"),
    path("api-keys/<str:pk>", ApiKeyViewSet.as_view({"get": "retrieve"}), name="apikey-detail"),
    path("api-keys/<str:pk>/revoke", ApiKeyViewSet.as_view({"post": "revoke"}), name="apikey-revoke"),
]

urlpatterns = [path("v1/", include(v1_patterns))]
