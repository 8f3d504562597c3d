"""The connectors' routes, under /api/v1/: accounts, instances (and their grants), targets, mappings, sync
events and the GitHub setup."""

from django.urls import include, path

from connectors.api.views import (
    ConnectorAccountViewSet,
    ConnectorInstanceGrantViewSet,
    ConnectorInstanceViewSet,
    ConnectorMappingViewSet,
    ConnectorTargetViewSet,
    GitHubSetupViewSet,
    SyncEventViewSet,
)
from plexica.access.api.views import grant_routes

app_name = "connectors-api"

ACCOUNTS = ConnectorAccountViewSet
INSTANCES = ConnectorInstanceViewSet
TARGETS = ConnectorTargetViewSet
MAPPINGS = ConnectorMappingViewSet
EVENTS = SyncEventViewSet
ACCOUNT = "connector-accounts/<str:account_id>"
INSTANCE = "connector-instances/<str:instance_id>"
TARGET = "connector-targets/<str:target_id>"
MAPPING = "connector-mappings/<str:mapping_id>"
EVENT = "connector-sync-events/<str:sync_event_id>"

v1_patterns = [
    *grant_routes(INSTANCE, ConnectorInstanceGrantViewSet, "instance"),
    path("connector-accounts", ACCOUNTS.as_view({"get": "list", "post": "create"}), name="account-list"),
    path(ACCOUNT, ACCOUNTS.as_view({"get": "retrieve"}), name="account-detail"),
    path(f"{ACCOUNT}/disconnect", ACCOUNTS.as_view({"post": "disconnect"}), name="account-disconnect"),
    path("connector-instances", INSTANCES.as_view({"get": "list", "post": "create"}), name="instance-list"),
    path(INSTANCE, INSTANCES.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
         name="instance-detail"),
    path(f"{INSTANCE}/disable", INSTANCES.as_view({"post": "disable"}), name="instance-disable"),
    path(f"{INSTANCE}/enable", INSTANCES.as_view({"post": "enable"}), name="instance-enable"),
    path(f"{INSTANCE}/archive", INSTANCES.as_view({"post": "archive"}), name="instance-archive"),
    path(f"{INSTANCE}/targets", TARGETS.as_view({"get": "list", "post": "create"}), name="target-list"),
    path(TARGET, TARGETS.as_view({"get": "retrieve", "patch": "partial_update"}), name="target-detail"),
    path(f"{TARGET}/resync", TARGETS.as_view({"post": "resync"}), name="target-resync"),
    path(f"{TARGET}/mappings", MAPPINGS.as_view({"get": "list", "post": "create"}), name="mapping-list"),
    path(MAPPING, MAPPINGS.as_view({"patch": "partial_update", "delete": "destroy"}), name="mapping-detail"),
    path("connector-sync-events", EVENTS.as_view({"get": "list"}), name="sync-event-list"),
    path(EVENT, EVENTS.as_view({"get": "retrieve"}), name="sync-event-detail"),
    path(f"{EVENT}/retry", EVENTS.as_view({"post": "retry"}), name="sync-event-retry"),
    path("connectors/github/setup", GitHubSetupViewSet.as_view({"post": "create"}), name="github-setup"),
    path("integrations/", include("connectors.integrations.api.urls")),
]

urlpatterns = [path("v1/", include(v1_patterns))]
