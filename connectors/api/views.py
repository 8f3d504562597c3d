"""Admin API of the GitHub connector (`/api/v1/connector-...`, `/api/v1/connectors/github/setup`).

Accounts and the one-call setup are for org admins. Instances, and the targets, mappings and sync events under
them, follow access grants on the instance (marketplaces.access): viewer reads, editor changes and resyncs,
manager archives, deletes and shares.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from connectors import services
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
from marketplaces import access
from marketplaces.api.grant_views import grant_viewset
from marketplaces.models import ResourceType
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


INSTANCE = ResourceType.CONNECTOR_INSTANCE


def require_instance_role(request, instance_id, role, doing=None):
    """403 unless the caller holds `role` on the connector instance (the instance must exist: 404)."""
    instance = services.get_instance(request.tenant, instance_id)
    access.require_role(request.principal, INSTANCE, instance.pk, role, doing)
    return instance


def require_target_role(request, target_id, role, doing=None):
    """The target (404 if missing) after checking `role` on its instance."""
    target = services.get_target(request.tenant, target_id)
    access.require_role(request.principal, INSTANCE, target.instance_id, role, doing)
    return target


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
        return services.account_queryset(self.request.tenant)

    def _item(self, account, status=200):
        account = services.get_account(self.request.tenant, account.pk)
        return mutation_response(ConnectorAccountSerializer(account).data, status=status)

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
        account, created = services.connect_account(
            request.principal, data["installationId"], account_login=data["accountLogin"],
            account_type=data["accountType"], display_name=data["displayName"])
        return self._item(account, status=201 if created else 200)

    @extend_schema(operation_id="getConnectorAccount", parameters=[ACCOUNT_ID],
                   responses=item_envelope("ConnectorAccountItem", ConnectorAccountSerializer()))
    def retrieve(self, request, account_id):
        account = services.get_account(request.tenant, account_id)
        return item_response(ConnectorAccountSerializer(account).data)

    @extend_schema(operation_id="disconnectConnectorAccount", request=None, parameters=[ACCOUNT_ID],
                   responses=mutation_envelope("ConnectorAccountDisconnected", ConnectorAccountSerializer()))
    def disconnect(self, request, account_id):
        return self._item(services.disconnect_account(request.principal, account_id))


class ConnectorInstanceViewSet(mixins.ListModelMixin, ConnectorAPI):
    """Named uses of a connector account; their targets are the repositories they sync."""

    queryset = ConnectorInstance.objects.all()
    serializer_class = ConnectorInstanceSerializer
    filterset_class = ConnectorInstanceFilterSet
    cursor_ordering = ("name",)  # names are unique in an organization

    def get_queryset(self):
        return access.restrict(services.instance_queryset(self.request.tenant), self.request.principal, INSTANCE)

    def _item(self, instance, status=200):
        instance = services.get_instance(self.request.tenant, instance.pk)
        return mutation_response(ConnectorInstanceSerializer(instance).data, status=status)

    @extend_schema(operation_id="listConnectorInstances")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="createConnectorInstance", request=ConnectorInstanceInputSerializer,
                   responses={201: mutation_envelope("ConnectorInstanceCreated", INSTANCE_SCHEMA)})
    def create(self, request):
        serializer = ConnectorInstanceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access.require_org_admin(request.principal, "Creating a connector instance")
        instance = services.create_instance(request.principal, serializer.validated_data["accountId"],
                                            **serializer.changes())
        return self._item(instance, status=201)

    @extend_schema(operation_id="getConnectorInstance", parameters=[INSTANCE_ID],
                   responses=item_envelope("ConnectorInstanceItem", ConnectorInstanceSerializer()))
    def retrieve(self, request, instance_id):
        instance = require_instance_role(request, instance_id, access.VIEWER)
        return item_response(ConnectorInstanceSerializer(instance).data)

    @extend_schema(operation_id="updateConnectorInstance",
                   request=ConnectorInstancePatchSerializer(partial=True), parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceUpdated", ConnectorInstanceSerializer()))
    def partial_update(self, request, instance_id):
        serializer = ConnectorInstancePatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        require_instance_role(request, instance_id, access.EDITOR, "Editing a connector instance needs the editor role")
        return self._item(services.update_instance(request.principal, instance_id, **serializer.changes()))

    @extend_schema(operation_id="deleteConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses={204: None})
    def destroy(self, request, instance_id):
        require_instance_role(request, instance_id, access.MANAGER, "Deleting a connector instance needs the manager role")
        services.delete_instance(request.principal, instance_id)
        return Response(status=204)

    @extend_schema(operation_id="disableConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceDisabled", ConnectorInstanceSerializer()))
    def disable(self, request, instance_id):
        require_instance_role(request, instance_id, access.EDITOR, "Disabling a connector instance needs the editor role")
        return self._item(services.disable_instance(request.principal, instance_id))

    @extend_schema(operation_id="enableConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceEnabled", ConnectorInstanceSerializer()))
    def enable(self, request, instance_id):
        require_instance_role(request, instance_id, access.EDITOR, "Enabling a connector instance needs the editor role")
        return self._item(services.enable_instance(request.principal, instance_id))

    @extend_schema(operation_id="archiveConnectorInstance", request=None, parameters=[INSTANCE_ID],
                   responses=mutation_envelope("ConnectorInstanceArchived", ConnectorInstanceSerializer()))
    def archive(self, request, instance_id):
        require_instance_role(request, instance_id, access.MANAGER, "Archiving a connector instance needs the manager role")
        return self._item(services.archive_instance(request.principal, instance_id))


class ConnectorTargetViewSet(mixins.ListModelMixin, ConnectorAPI):
    """Repository branches an instance syncs from, each with its mappings."""

    queryset = ConnectorTarget.objects.all()
    serializer_class = ConnectorTargetSerializer
    filterset_class = ConnectorTargetFilterSet
    cursor_ordering = ("-created_at", "id")

    def get_queryset(self):
        instance = require_instance_role(self.request, self.kwargs["instance_id"], access.VIEWER)
        return services.target_queryset(self.request.tenant).filter(instance=instance)

    def _item(self, target, status=200):
        target = services.get_target(self.request.tenant, target.pk)
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
        require_instance_role(request, instance_id, access.EDITOR, "Adding a target needs the editor role")
        target = services.create_target(request.principal, instance_id, **serializer.changes())
        return self._item(target, status=201)

    @extend_schema(operation_id="getConnectorTarget", parameters=[TARGET_ID],
                   responses=item_envelope("ConnectorTargetItem", ConnectorTargetSerializer()))
    def retrieve(self, request, target_id):
        return item_response(ConnectorTargetSerializer(require_target_role(request, target_id, access.VIEWER)).data)

    @extend_schema(operation_id="updateConnectorTarget", request=ConnectorTargetPatchSerializer(partial=True),
                   parameters=[TARGET_ID],
                   responses=mutation_envelope("ConnectorTargetUpdated", ConnectorTargetSerializer()))
    def partial_update(self, request, target_id):
        serializer = ConnectorTargetPatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        require_target_role(request, target_id, access.EDITOR, "Editing a target needs the editor role")
        return self._item(services.update_target(request.principal, target_id, **serializer.changes()))

    @extend_schema(operation_id="resyncConnectorTarget", request=None, parameters=[TARGET_ID],
                   responses=SYNC_EVENT_QUEUED)
    def resync(self, request, target_id):
        require_target_role(request, target_id, access.EDITOR, "Resyncing a target needs the editor role")
        event = services.resync_target(request.principal, target_id)
        event = services.get_sync_event(request.tenant, event.pk)
        return mutation_response(SyncEventSerializer(event).data, status=202)


MAPPING_EDIT = "Changing a target's mappings needs the editor role on its connector instance"


class ConnectorMappingViewSet(mixins.ListModelMixin, ConnectorAPI):
    """A target's mappings (path glob -> config object type, maybe into a plugin), in evaluation order."""

    queryset = ConnectorMapping.objects.all()
    serializer_class = ConnectorMappingSerializer
    cursor_ordering = ("position", "created_at", "id")

    def get_queryset(self):
        target = require_target_role(self.request, self.kwargs["target_id"], access.VIEWER)
        return services.mapping_queryset(self.request.tenant).filter(target=target)

    def _require_mapping_role(self, mapping_id):
        mapping = services.mapping_queryset(self.request.tenant).select_related("target").filter(pk=mapping_id).first()
        if mapping is not None:  # a missing one is the service's 404
            access.require_role(self.request.principal, INSTANCE, mapping.target.instance_id, access.EDITOR,
                                MAPPING_EDIT)

    def _item(self, mapping, status=200):
        mapping = services.mapping_queryset(self.request.tenant).get(pk=mapping.pk)
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
        require_target_role(request, target_id, access.EDITOR, MAPPING_EDIT)
        mapping = services.create_mapping(request.principal, target_id, serializer.mapping_input())
        return self._item(mapping, status=201)

    @extend_schema(operation_id="updateConnectorMapping",
                   request=ConnectorMappingInputSerializer(partial=True), parameters=[MAPPING_ID],
                   responses=mutation_envelope("ConnectorMappingUpdated", ConnectorMappingSerializer()))
    def partial_update(self, request, mapping_id):
        serializer = ConnectorMappingInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        self._require_mapping_role(mapping_id)
        return self._item(services.update_mapping(request.principal, mapping_id, **serializer.changes()))

    @extend_schema(operation_id="deleteConnectorMapping", request=None, parameters=[MAPPING_ID],
                   responses={204: None})
    def destroy(self, request, mapping_id):
        self._require_mapping_role(mapping_id)
        services.delete_mapping(request.principal, mapping_id)
        return Response(status=204)


class SyncEventViewSet(mixins.ListModelMixin, ConnectorAPI):
    """Sync events of the organization's targets, newest first."""

    queryset = SyncEvent.objects.all()
    serializer_class = SyncEventSerializer
    filterset_class = SyncEventFilterSet
    cursor_ordering = ("-created_at", "-id")

    def get_queryset(self):
        events = services.sync_event_queryset(self.request.tenant)
        return access.restrict(events, self.request.principal, INSTANCE, field="target__instance_id")

    @extend_schema(operation_id="listSyncEvents")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(operation_id="getSyncEvent", parameters=[SYNC_EVENT_ID],
                   responses=item_envelope("SyncEventItem", SyncEventSerializer()))
    def retrieve(self, request, sync_event_id):
        event = services.get_sync_event(request.tenant, sync_event_id)
        access.require_role(request.principal, INSTANCE, event.target.instance_id, access.VIEWER)
        return item_response(SyncEventSerializer(event).data)

    @extend_schema(operation_id="retrySyncEvent", request=None, parameters=[SYNC_EVENT_ID],
                   responses=SYNC_EVENT_QUEUED)
    def retry(self, request, sync_event_id):
        event = services.get_sync_event(request.tenant, sync_event_id)
        access.require_role(request.principal, INSTANCE, event.target.instance_id, access.EDITOR,
                            "Retrying a sync needs the editor role on its connector instance")
        event = services.retry_sync_event(request.principal, sync_event_id)
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
        setup = services.setup_github(
            request.principal, data["installationId"], data["connectorInstanceName"], data["repositoryId"],
            data["repositoryFullName"], data["branch"], serializer.mapping_inputs())
        result = {"accountId": setup.account.pk, "accountCreated": setup.account_created,
                  "instanceId": setup.instance.pk, "targetId": setup.target.pk,
                  "mappingIds": [mapping.pk for mapping in setup.mappings],
                  "syncEventId": setup.sync_event.pk}
        return mutation_response(GitHubSetupResultSerializer(result).data, status=201)


ConnectorInstanceGrantViewSet = grant_viewset(
    "ConnectorInstance", INSTANCE, "instance_id",
    lambda request, pk: services.get_instance(request.tenant, pk).pk,
    "connectors", "A connector instance id (cin_...).",
)
