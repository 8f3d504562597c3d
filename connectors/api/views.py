"""Admin API of the GitHub connector (`/api/v1/connector-...`, `/api/v1/connectors/github/setup`).

Each view parses, calls one function of connectors.services and renders; the services check who may do
what (accounts and the one-call setup are for org admins; instances, and the targets, mappings and sync
events under them, follow access grants on the instance: viewer reads, editor changes and resyncs, manager
archives, deletes and shares). The permission classes turn plugin keys (and, on the admin-only endpoints,
members) away before a body is read.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from connectors.api.serializers import (
    ConnectorAccountInputSerializer,
    ConnectorAccountSerializer,
    ConnectorInstanceInputSerializer,
    ConnectorInstancePatchSerializer,
    ConnectorInstanceSerializer,
    ConnectorMappingInputSerializer,
    ConnectorMappingSerializer,
    ConnectorTargetInputSerializer,
    ConnectorTargetPatchSerializer,
    ConnectorTargetSerializer,
    GitHubSetupResultSerializer,
    GitHubSetupSerializer,
    SyncEventSerializer,
)
from connectors.filtersets import (
    ConnectorAccountFilterSet,
    ConnectorInstanceFilterSet,
    ConnectorTargetFilterSet,
    SyncEventFilterSet,
)
from connectors.models import (
    ConnectorAccount,
    ConnectorInstance,
    ConnectorMapping,
    ConnectorTarget,
    SyncEvent,
)
from connectors.services import accounts, instances, mappings, setup, sync_events, targets
from connectors.sharing import CONNECTOR_INSTANCE
from plexica.access.api.views import grant_viewset
from plexica.api.openapi_errors import STATE_CONFLICTS
from plexica.api.permissions import IsOrgAdmin, IsOrgPerson, TenantAccess
from plexica.api.schema import item_envelope, mutation_envelope
from plexica.api.views import TenantViewSet, item_response, mutation_response


def _path(name, what):
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=what)


ACCOUNT_SCHEMA = ConnectorAccountSerializer()
INSTANCE_SCHEMA = ConnectorInstanceSerializer()
TARGET_SCHEMA = ConnectorTargetSerializer()
MAPPING_SCHEMA = ConnectorMappingSerializer()
ACCOUNT_ID = _path("account_id", "A connector account id (cac_...).")
INSTANCE_ID = _path("instance_id", "A connector instance id (cin_...).")
TARGET_ID = _path("target_id", "A connector target id (ctg_...).")
MAPPING_ID = _path("mapping_id", "A connector mapping id (cmp_...).")
SYNC_EVENT_ID = _path("sync_event_id", "A sync event id (sev_...).")
SYNC_EVENT_QUEUED = {202: mutation_envelope("SyncEventQueued", SyncEventSerializer())}


class ConnectorAPI(TenantViewSet):
    schema_tags = ["connectors"]
    error_statuses = STATE_CONFLICTS
    permission_classes = [TenantAccess, IsOrgPerson]


class ConnectorAdminAPI(ConnectorAPI):
    permission_classes = [TenantAccess, IsOrgAdmin]


class ConnectorAccountViewSet(mixins.ListModelMixin, ConnectorAdminAPI):
    """GitHub App installations connected to the organization."""

    queryset = ConnectorAccount.objects.all()
    serializer_class = ConnectorAccountSerializer
    filterset_class = ConnectorAccountFilterSet
    cursor_ordering = ("-created_at", "id")

    def get_queryset(self):
        return accounts.account_queryset(self.request.principal)

    @extend_schema(operation_id="listConnectorAccounts")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createConnectorAccount", request=ConnectorAccountInputSerializer,
                   responses={201: mutation_envelope("ConnectorAccountCreated", ACCOUNT_SCHEMA),
                              200: mutation_envelope("ConnectorAccountReconnected", ACCOUNT_SCHEMA)})
    def create(self, request):
        serializer = ConnectorAccountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        account, created = accounts.connect_account(
            request.principal, data["installationId"], account_login=data["accountLogin"],
            account_type=data["accountType"], display_name=data["displayName"])
        return mutation_response(ConnectorAccountSerializer(account).data, status=201 if created else 200)

    @extend_schema(operation_id="getConnectorAccount", parameters=[ACCOUNT_ID],
                   responses=item_envelope("ConnectorAccountItem", ConnectorAccountSerializer()))
    def retrieve(self, request, account_id):
        account = accounts.get_account(request.principal, account_id)
        return item_response(ConnectorAccountSerializer(account).data)

    @extend_schema(operation_id="disconnectConnectorAccount", request=None, parameters=[ACCOUNT_ID],
                   responses=mutation_envelope("ConnectorAccountDisconnected", ConnectorAccountSerializer()))
    def disconnect(self, request, account_id):
        account = accounts.disconnect_account(request.principal, account_id)
        return mutation_response(ConnectorAccountSerializer(account).data)


class ConnectorInstanceViewSet(mixins.ListModelMixin, ConnectorAPI):
    """Named uses of a connector account; their targets are the repositories they sync."""

    queryset = ConnectorInstance.objects.all()
    serializer_class = ConnectorInstanceSerializer
    filterset_class = ConnectorInstanceFilterSet
    cursor_ordering = ("name",)  # names are unique in an organization

    def get_queryset(self):
        return instances.instance_queryset(self.request.principal)

    def _changed(self, instance, status=200):
        return mutation_response(ConnectorInstanceSerializer(instance).data, status=status)

    @extend_schema(operation_id="listConnectorInstances")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createConnectorInstance", request=ConnectorInstanceInputSerializer,
                   responses={201: mutation_envelope("ConnectorInstanceCreated", INSTANCE_SCHEMA)})
    def create(self, request):
        serializer = ConnectorInstanceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = instances.create_instance(request.principal, serializer.validated_data["accountId"],
                                             **serializer.changes())
        return self._changed(instance, status=201)

    @extend_schema(operation_id="getConnectorInstance", parameters=[INSTANCE_ID],
                   responses=item_envelope("ConnectorInstanceItem", ConnectorInstanceSerializer()))
    def retrieve(self, request, instance_id):
        instance = instances.get_instance(request.principal, instance_id)
        return item_response(ConnectorInstanceSerializer(instance).data)

    @extend_schema(operation_id="updateConnectorInstance",
                   request=ConnectorInstancePatchSerializer(partial=True), parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceUpdated", ConnectorInstanceSerializer()))
    def partial_update(self, request, instance_id):
        serializer = ConnectorInstancePatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._changed(instances.update_instance(request.principal, instance_id, **serializer.changes()))

    @extend_schema(operation_id="deleteConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses={204: None})
    def destroy(self, request, instance_id):
        instances.delete_instance(request.principal, instance_id)
        return Response(status=204)

    @extend_schema(operation_id="disableConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceDisabled", ConnectorInstanceSerializer()))
    def disable(self, request, instance_id):
        return self._changed(instances.disable_instance(request.principal, instance_id))

    @extend_schema(operation_id="enableConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceEnabled", ConnectorInstanceSerializer()))
    def enable(self, request, instance_id):
        return self._changed(instances.enable_instance(request.principal, instance_id))

    @extend_schema(operation_id="archiveConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceArchived", ConnectorInstanceSerializer()))
    def archive(self, request, instance_id):
        return self._changed(instances.archive_instance(request.principal, instance_id))


class ConnectorTargetViewSet(mixins.ListModelMixin, ConnectorAPI):
    """Repository branches an instance syncs from, each with its mappings."""

    queryset = ConnectorTarget.objects.all()
    serializer_class = ConnectorTargetSerializer
    filterset_class = ConnectorTargetFilterSet
    cursor_ordering = ("-created_at", "id")

    def get_queryset(self):
        return targets.target_queryset(self.request.principal, self.kwargs["instance_id"])

    def _changed(self, target, status=200):
        return mutation_response(ConnectorTargetSerializer(target).data, status=status)

    @extend_schema(operation_id="listConnectorTargets", parameters=[INSTANCE_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createConnectorTarget", request=ConnectorTargetInputSerializer,
                   parameters=[INSTANCE_ID],
                   responses={201: mutation_envelope("ConnectorTargetCreated", ConnectorTargetSerializer())})
    def create(self, request, instance_id):
        serializer = ConnectorTargetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = targets.create_target(request.principal, instance_id, **serializer.changes())
        return self._changed(target, status=201)

    @extend_schema(operation_id="getConnectorTarget", parameters=[TARGET_ID],
                   responses=item_envelope("ConnectorTargetItem", ConnectorTargetSerializer()))
    def retrieve(self, request, target_id):
        return item_response(ConnectorTargetSerializer(targets.get_target(request.principal, target_id)).data)

    @extend_schema(operation_id="updateConnectorTarget", request=ConnectorTargetPatchSerializer(partial=True),
                   parameters=[TARGET_ID],
                   responses=mutation_envelope("ConnectorTargetUpdated", ConnectorTargetSerializer()))
    def partial_update(self, request, target_id):
        serializer = ConnectorTargetPatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._changed(targets.update_target(request.principal, target_id, **serializer.changes()))

    @extend_schema(operation_id="resyncConnectorTarget", request=None, parameters=[TARGET_ID],
                   responses=SYNC_EVENT_QUEUED)
    def resync(self, request, target_id):
        event = targets.resync_target(request.principal, target_id)
        return mutation_response(SyncEventSerializer(event).data, status=202)


class ConnectorMappingViewSet(mixins.ListModelMixin, ConnectorAPI):
    """A target's mappings (path glob -> config object type, maybe into a plugin), in evaluation order."""

    queryset = ConnectorMapping.objects.all()
    serializer_class = ConnectorMappingSerializer
    cursor_ordering = ("position", "created_at", "id")

    def get_queryset(self):
        return mappings.mapping_queryset(self.request.principal, self.kwargs["target_id"])

    def _changed(self, mapping, status=200):
        return mutation_response(ConnectorMappingSerializer(mapping).data, status=status)

    @extend_schema(operation_id="listConnectorMappings", parameters=[TARGET_ID])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createConnectorMapping", request=ConnectorMappingInputSerializer,
                   parameters=[TARGET_ID],
                   responses={201: mutation_envelope("ConnectorMappingCreated", MAPPING_SCHEMA)})
    def create(self, request, target_id):
        serializer = ConnectorMappingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = mappings.create_mapping(request.principal, target_id, serializer.mapping_input())
        return self._changed(mapping, status=201)

    @extend_schema(operation_id="updateConnectorMapping",
                   request=ConnectorMappingInputSerializer(partial=True), parameters=[MAPPING_ID],
                   responses=mutation_envelope("ConnectorMappingUpdated", ConnectorMappingSerializer()))
    def partial_update(self, request, mapping_id):
        serializer = ConnectorMappingInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._changed(mappings.update_mapping(request.principal, mapping_id, **serializer.changes()))

    @extend_schema(operation_id="deleteConnectorMapping", request=None, parameters=[MAPPING_ID],
                   responses={204: None})
    def destroy(self, request, mapping_id):
        mappings.delete_mapping(request.principal, mapping_id)
        return Response(status=204)


class SyncEventViewSet(mixins.ListModelMixin, ConnectorAPI):
    """Sync events of the organization's targets, newest first."""

    queryset = SyncEvent.objects.all()
    serializer_class = SyncEventSerializer
    filterset_class = SyncEventFilterSet
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self):
        return sync_events.sync_event_queryset(self.request.principal)

    @extend_schema(operation_id="listSyncEvents")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="getSyncEvent", parameters=[SYNC_EVENT_ID],
                   responses=item_envelope("SyncEventItem", SyncEventSerializer()))
    def retrieve(self, request, sync_event_id):
        event = sync_events.get_sync_event(request.principal, sync_event_id)
        return item_response(SyncEventSerializer(event).data)

    @extend_schema(operation_id="retrySyncEvent", request=None, parameters=[SYNC_EVENT_ID],
                   responses=SYNC_EVENT_QUEUED)
    def retry(self, request, sync_event_id):
        event = sync_events.retry_sync_event(request.principal, sync_event_id)
        return mutation_response(SyncEventSerializer(event).data, status=202)


class GitHubSetupViewSet(ConnectorAdminAPI):
    """Account + instance + target + mappings in one call, all or nothing, with a first sync queued."""

    queryset = ConnectorInstance.objects.all()
    serializer_class = GitHubSetupSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(operation_id="setupGitHubConnector", request=GitHubSetupSerializer,
                   responses={201: mutation_envelope("GitHubConnectorSetUp", GitHubSetupResultSerializer())})
    def create(self, request):
        serializer = GitHubSetupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        done = setup.setup_github(
            request.principal, data["installationId"], data["connectorInstanceName"], data["repositoryId"],
            data["repositoryFullName"], data["branch"], serializer.mapping_inputs())
        result = {"accountId": done.account.pk, "accountCreated": done.account_created,
                  "instanceId": done.instance.pk, "targetId": done.target.pk,
                  "mappingIds": [mapping.pk for mapping in done.mappings],
                  "syncEventId": done.sync_event.pk}
        return mutation_response(GitHubSetupResultSerializer(result).data, status=201)


ConnectorInstanceGrantViewSet = grant_viewset(
    "ConnectorInstance", CONNECTOR_INSTANCE, "instance_id",
    lambda request, pk: instances.instance_pk(request.principal, pk),
    "connectors", "A connector instance id (cin_...).",
)
