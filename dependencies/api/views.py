"""Plugin gateway endpoints 11-15 (the seed's wire format) and the lifecycle actions of /api/v1/plugins."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from dependencies import lifecycle, services
from dependencies.api.serializers import (
    CanUninstallSerializer,
    DependenciesRegisteredSerializer,
    DependencyListSerializer,
    DependentsSerializer,
    InstallSerializer,
    RegisterDependenciesSerializer,
    ResolveResponseSerializer,
)
from plexica.api.permissions import IsOrgAdmin, TenantAccess
from plexica.api.query import bool_parameter, query_bool
from plexica.api.schema import mutation_envelope
from plexica.api.views import TenantAPIView, mutation_response
from plexica.plugins.api.serializers import PluginSerializer

RECURSIVE = bool_parameter("recursive", "Include transitive ones too (default false).")


def recursive_flag(request):
    return query_bool(request, "recursive")


class DependencyView(TenantAPIView):
    schema_tags = ["plugin gateway: dependencies"]


class RegisterDependenciesView(DependencyView):
    @extend_schema(
        operation_id="registerDependencies", request=RegisterDependenciesSerializer,
        responses={201: DependenciesRegisteredSerializer},
        description="Replace the dependency list of each plugin named in the body, all or nothing.",
    )
    def post(self, request):
        serializer = RegisterDependenciesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.register_dependencies(request.principal, serializer.dependency_list())
        return Response({"success": True, "message": "Dependencies registered"}, status=201)


class ResolveDependenciesView(DependencyView):
    @extend_schema(
        operation_id="resolveDependencies", request=None,
        responses={200: ResolveResponseSerializer, 400: ResolveResponseSerializer},
        description="Check the plugin's transitive dependencies against the organization's installed plugins.",
    )
    def post(self, request, plugin_id):
        resolution = services.resolve_dependencies(request.principal, plugin_id)
        return Response(resolution.as_wire(), status=200 if resolution.valid else 400)


class PluginDependenciesView(DependencyView):
    @extend_schema(
        operation_id="getDependencies", parameters=[RECURSIVE],
        responses={200: DependencyListSerializer},
    )
    def get(self, request, plugin_id):
        found = services.get_dependencies(request.principal, plugin_id, recursive_flag(request))
        return Response(
            {"pluginId": plugin_id, "dependencies": [d.as_wire() for d in found], "count": len(found)}
        )


class DependentsView(DependencyView):
    @extend_schema(
        operation_id="getDependents", parameters=[RECURSIVE], responses={200: DependentsSerializer},
    )
    def get(self, request, plugin_id):
        found = services.get_dependents(request.principal, plugin_id, recursive_flag(request))
        return Response({"pluginId": plugin_id, "dependents": found, "count": len(found)})


class CanUninstallView(DependencyView):
    @extend_schema(
        operation_id="canUninstallPlugin", request=None, responses={200: CanUninstallSerializer},
        description="Installed plugins that require this one, directly or through others; optional ones do not block.",
    )
    def post(self, request, plugin_id):
        blockers = services.uninstall_blockers(request.principal, plugin_id)
        return Response({"canUninstall": not blockers, "blockedBy": [b.as_wire() for b in blockers]})


# --- /api/v1/plugins/{pluginId}/install|enable|disable|uninstall -------------------------------------


class LifecycleView(TenantAPIView):
    """An organization admin moves a plugin through its lifecycle (see plexica.plugins.lifecycle)."""

    schema_tags = ["plugins"]
    error_statuses = (409,)  # dependencies unmet, dependents installed, or not a valid transition
    action_name = None

    def perform(self, request, plugin_id, version=None, capabilities=None):
        plugin = lifecycle.change_lifecycle(request.principal, plugin_id, self.action_name, version=version,
                                            capabilities=capabilities)
        return mutation_response(PluginSerializer(plugin).data)


_ENVELOPES = {"install": "PluginInstalled", "enable": "PluginEnabled", "disable": "PluginDisabled",
              "uninstall": "PluginUninstalled"}


def _lifecycle_schema(action, description, request=None):
    return extend_schema(
        operation_id=f"{action}Plugin", request=request, description=description,
        responses={200: mutation_envelope(_ENVELOPES[action], PluginSerializer())},
    )


class InstallPluginView(LifecycleView):
    action_name = lifecycle.Action.INSTALL
    # change_lifecycle admits org admins only; IsOrgAdmin (the same rule) answers before the body is read.
    permission_classes = [TenantAccess, IsOrgAdmin]

    @_lifecycle_schema(
        "install", "registered or uninstalled -> installed, at `version`. 409 with the resolve errors when "
        "required dependencies are not satisfied. Grants the capabilities the manifest requests, or only the "
        "`capabilities` named (a subset of those; another is a 400 naming it); installing again after an "
        "uninstall sets them to that set once more.", InstallSerializer,
    )
    def post(self, request, plugin_id):
        serializer = InstallSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.perform(request, plugin_id, serializer.validated_data["version"],
                            serializer.validated_data.get("capabilities"))


class EnablePluginView(LifecycleView):
    action_name = lifecycle.Action.ENABLE

    @_lifecycle_schema("enable", "installed or disabled -> active.")
    def post(self, request, plugin_id):
        return self.perform(request, plugin_id)


class DisablePluginView(LifecycleView):
    action_name = lifecycle.Action.DISABLE

    @_lifecycle_schema("disable", "active -> disabled.")
    def post(self, request, plugin_id):
        return self.perform(request, plugin_id)


class UninstallPluginView(LifecycleView):
    action_name = lifecycle.Action.UNINSTALL

    @_lifecycle_schema(
        "uninstall", "installed, active or disabled -> uninstalled; deregisters the plugin's services. "
        "409 with `blockedBy` while installed plugins require it.",
    )
    def post(self, request, plugin_id):
        return self.perform(request, plugin_id)
