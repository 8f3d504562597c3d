"""Plugin gateway endpoints 1-5: register, deregister, discover, list, heartbeat (the seed's wire format)."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from plexica.api.query import choice_parameter, query_choice, query_text, text_parameter
from plexica.api.views import TenantAPIView
from registry import services
from registry.api.serializers import (
    DiscoverResponseSerializer,
    RegisteredSerializer,
    RegisterServiceSerializer,
    ServiceListSerializer,
    ServiceSummarySerializer,
    SuccessSerializer,
)
from registry.models import ServiceStatus


class RegistryView(TenantAPIView):
    schema_tags = ["plugin gateway: services"]


class RegisterServiceView(RegistryView):
    error_statuses = (409,)  # another plugin owns the service name

    @property
    def max_body_bytes(self):
        return settings.REGISTRY_MAX_BODY_BYTES

    @extend_schema(
        operation_id="registerService", request=RegisterServiceSerializer,
        responses={201: RegisteredSerializer},
        description="Create or update a service (upsert on pluginId + serviceName; the service keeps its id).",
    )
    def post(self, request):
        serializer = RegisterServiceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        service, _ = services.register_service(request.principal, serializer.registration())
        return Response(
            {"success": True, "serviceId": service.pk, "message": "Service registered successfully"}, status=201
        )


class DeregisterServiceView(RegistryView):
    @extend_schema(operation_id="deregisterService", responses={200: SuccessSerializer})
    def delete(self, request, plugin_id, service_name):
        services.deregister_service(request.principal, plugin_id, service_name)
        return Response({"success": True, "message": "Service deregistered successfully"})


class DiscoverServiceView(RegistryView):
    @extend_schema(operation_id="discoverService", responses={200: DiscoverResponseSerializer})
    def get(self, request, service_name):
        return Response({"service": services.discover_service(request.principal, service_name)})


class ListServicesView(RegistryView):
    @extend_schema(
        operation_id="listServices",
        parameters=[
            text_parameter("pluginId", "Only this plugin's services."),
            choice_parameter("status", ServiceStatus.values, "Only services in this state."),
        ],
        responses={200: ServiceListSerializer},
    )
    def get(self, request):
        status = query_choice(request, "status", ServiceStatus.values)
        found = services.list_services(request.principal, query_text(request, "pluginId"), status)
        return Response({"services": ServiceSummarySerializer(found, many=True).data, "count": len(found)})


class HeartbeatView(RegistryView):
    @extend_schema(operation_id="serviceHeartbeat", request=None, responses={200: SuccessSerializer})
    def post(self, request, service_id):
        services.record_heartbeat(request.principal, service_id)
        return Response({"success": True, "message": "Heartbeat received"})
