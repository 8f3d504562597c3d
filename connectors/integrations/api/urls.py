"""The integrations' routes, under /api/v1/integrations/ (the seed's paths, and an instance's grants)."""

from django.urls import path

from connectors.integrations.api import views
from plexica.access.api.views import grant_routes

DEFINITION = "definitions/<str:definition_id>"
INSTANCE = "instances/<str:integration_instance_id>"

urlpatterns = [
    path("definitions", views.DefinitionListView.as_view(), name="integration-definition-list"),
    path(DEFINITION, views.DefinitionDetailView.as_view(), name="integration-definition-detail"),
    path(f"{DEFINITION}/publish", views.transition_view("PUBLISHED", "publish").as_view(),
         name="integration-definition-publish"),
    path(f"{DEFINITION}/deprecate", views.transition_view("DEPRECATED", "deprecate").as_view(),
         name="integration-definition-deprecate"),
    path(f"{DEFINITION}/archive", views.transition_view("ARCHIVED", "archive").as_view(),
         name="integration-definition-archive"),
    path("instances", views.InstanceListView.as_view(), name="integration-instance-list"),
    path(INSTANCE, views.InstanceDetailView.as_view(), name="integration-instance-detail"),
    path(f"{INSTANCE}/auth/credentials", views.CredentialsView.as_view(), name="integration-instance-credentials"),
    path(f"{INSTANCE}/auth/oauth2/start", views.OAuthStartView.as_view(), name="integration-oauth2-start"),
    path(f"{INSTANCE}/auth/oauth2/callback", views.OAuthCallbackView.as_view(), name="integration-oauth2-callback"),
    path(f"{INSTANCE}/disconnect", views.DisconnectView.as_view(), name="integration-instance-disconnect"),
    path(f"{INSTANCE}/methods/<str:method_name>/execute", views.ExecuteView.as_view(),
         name="integration-method-execute"),
    path(f"{INSTANCE}/executions", views.ExecutionListView.as_view(), name="integration-execution-list"),
    path(f"{INSTANCE}/executions/<str:execution_id>", views.ExecutionDetailView.as_view(),
         name="integration-execution-detail"),
    *grant_routes(INSTANCE, views.InstanceGrantViewSet, "integration-instance"),
]
