from django.db.models import Q

from plexica.api.query import CharFilter, ChoiceFilter, StrictFilterSet
from plexica.plugins.models import Plugin


class PluginFilterSet(StrictFilterSet):
    lifecycleState = ChoiceFilter(field_name="lifecycle_state", choices=Plugin.LifecycleState.choices)
    catalogStatus = ChoiceFilter(field_name="catalog_status", choices=Plugin.CatalogStatus.choices)
    q = CharFilter(method="search", label="Search in id, name and description")

    class Meta:
        model = Plugin
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(plugin_id__icontains=value) | Q(name__icontains=value) | Q(description__icontains=value)
        )
