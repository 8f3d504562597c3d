from drf_spectacular.utils import extend_schema

from plexica.api.schema import item_envelope
from rest_framework import mixins

from plexica.api.permissions import IsOrgAdmin, TenantAccess
from plexica.api.views import TenantViewSet, item_response
from plexica.plugins.api.serializers import PluginSerializer
from plexica.plugins.filtersets import PluginFilterSet
from plexica.plugins.models import Plugin


@extend_schema(tags=["plugins"])
class PluginViewSet(mixins.ListModelMixin, TenantViewSet):
    """The organization's plugin catalog."""

    queryset = Plugin.objects.all()
    serializer_class = PluginSerializer
    permission_classes = [TenantAccess, IsOrgAdmin]
    filterset_class = PluginFilterSet
    cursor_ordering = ("plugin_id",)
    lookup_field = "plugin_id"
    lookup_url_kwarg = "plugin_id"

    @extend_schema(responses=item_envelope("PluginItem", PluginSerializer()))
    def retrieve(self, request, *args, **kwargs):
        return item_response(self.get_serializer(self.get_object()).data)
