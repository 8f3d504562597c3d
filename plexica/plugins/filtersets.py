import django_filters
from django.db.models import Q

from plexica.plugins.models import Plugin


class PluginFilterSet(django_filters.FilterSet):
    lifecycleState = django_filters.ChoiceFilter(field_name="lifecycle_state", choices=Plugin.LifecycleState.choices)
    catalogStatus = django_filters.ChoiceFilter(field_name="catalog_status", choices=Plugin.CatalogStatus.choices)
    q = django_filters.CharFilter(method="search", label="Search in id, name and description")

    class Meta:
        model = Plugin
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(plugin_id__icontains=value) | Q(name__icontains=value) | Q(description__icontains=value)
        )
