"""Filters of the config object list, with its full-text search."""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connections
from django.db.models import Q

from marketplaces.config_objects.models import ConfigObject, ConfigObjectType
from plexica.api.query import BooleanFilter, CharFilter, ChoiceFilter, StrictFilterSet

# The text search configuration of the full-text filter; migration 0004's GIN index is built over exactly
# this expression (same configuration, weights and columns), so PostgreSQL can use it.
SEARCH_CONFIG = "english"


def search_document():
    """The tsvector of a config object: its title (weight A) and description (weight B)."""
    return (SearchVector("title", weight="A", config=SEARCH_CONFIG)
            + SearchVector("description", weight="B", config=SEARCH_CONFIG))


def full_text_search(queryset, text):
    """Objects matching `text`: web-search syntax on PostgreSQL; elsewhere every word, case-insensitive."""
    if connections[queryset.db].vendor == "postgresql":
        query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
        return queryset.alias(search_document=search_document()).filter(search_document=query)
    for word in text.split():
        word = word.strip("\"'")
        if word:
            queryset = queryset.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return queryset


class ConfigObjectFilterSet(StrictFilterSet):
    type = ChoiceFilter(choices=ConfigObjectType.choices)
    status = ChoiceFilter(choices=ConfigObject.Status.choices)
    sourceMode = ChoiceFilter(field_name="source_mode", choices=ConfigObject.SourceMode.choices)
    q = CharFilter(method="search", label="Full-text search in title and description")
    pluginId = CharFilter(method="in_plugin", label="Only active members of this plugin (plugin-...)")
    includeDeleted = BooleanFilter(method="keep", label="Also list soft-deleted objects")

    class Meta:
        model = ConfigObject
        fields = []

    def search(self, queryset, name, value):
        return full_text_search(queryset, value)

    def in_plugin(self, queryset, name, value):
        # One filter() call: both conditions apply to the same membership row.
        return queryset.filter(plugin_memberships__plugin__plugin_id=value,
                               plugin_memberships__removed_at__isnull=True)

    def keep(self, queryset, name, value):
        return queryset  # applied in filter_queryset: deleted objects are hidden unless this is true

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("includeDeleted") or self.form.cleaned_data.get("status") == "deleted":
            return queryset
        return queryset.filter(deleted_at__isnull=True)
