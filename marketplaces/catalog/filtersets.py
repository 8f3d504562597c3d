"""Filters of the marketplace list."""

from django.db.models import Q

from marketplaces.catalog.models import Marketplace
from plexica.api.query import BooleanFilter, CharFilter, ChoiceFilter, StrictFilterSet


class MarketplaceFilterSet(StrictFilterSet):
    status = ChoiceFilter(choices=Marketplace.Status.choices)
    q = CharFilter(method="search", label="Search in name and description")
    includeDeleted = BooleanFilter(method="keep", label="Also list soft-deleted marketplaces")

    class Meta:
        model = Marketplace
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))

    def keep(self, queryset, name, value):
        return queryset  # applied in filter_queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return queryset if self.form.cleaned_data.get("includeDeleted") else queryset.filter(deleted_at__isnull=True)
