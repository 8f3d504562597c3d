from django.urls import path

from plexica.tenancy.api.views import ApiKeyViewSet, MemberViewSet, MeView, TeamViewSet

app_name = "tenancy-api"

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
    path("members", MemberViewSet.as_view({"get": "list"}), name="member-list"),
    path("teams", TeamViewSet.as_view({"get": "list"}), name="team-list"),
    path("api-keys", ApiKeyViewSet.as_view({"get": "list", "post": "create"}), name="apikey-list"),
    path("api-keys/<str:pk>", ApiKeyViewSet.as_view({"get": "retrieve"}), name="apikey-detail"),
    path("api-keys/<str:pk>/revoke", ApiKeyViewSet.as_view({"post": "revoke"}), name="apikey-revoke"),
]
