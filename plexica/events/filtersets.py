"""Filters of the event list (`GET /api/v1/events`): strict, so a bad value is a 400 naming the parameter."""

from datetime import UTC, datetime, time

from django import forms
from django.utils.dateparse import parse_date, parse_datetime

from plexica.api.query import (
    MUST_NOT_BE_EMPTY,
    CharFilter,
    ChoiceFilter,
    ParameterField,
    StrictFilterSet,
    WholeNumberFilter,
    WholeNumberParameterField,
    whole_number_schema,
)
from plexica.events import patterns, services
from plexica.events.models import Event

ORDERS = [("desc", "Newest first"), ("asc", "Oldest first")]
_ONE_FILTER = patterns.FILTER_PATTERN.removeprefix("^").removesuffix("$")
# One or more type filters separated by commas (the parameter may also be repeated).
TYPE_FILTERS_PATTERN = rf"^{_ONE_FILTER}(,{_ONE_FILTER})*$"
DATE_TIME_HELP = "Must be an ISO 8601 date-time such as 2026-12-01T09:30:00Z (or a date: 2026-12-01)."


class RepeatedTextInput(forms.TextInput):
    """Every value of a repeated parameter (`type=a&type=b`), or None when it is absent."""

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
        values = [value for value in values if value is not None]
        return values or None


class TypeFiltersField(ParameterField):
    """Type filters with wildcards, comma-separated and/or repeated: a list of filters."""

    widget = RepeatedTextInput
    schema = {"type": "string", "minLength": 1, "maxLength": patterns.MAX_TYPE_LENGTH,
              "pattern": TYPE_FILTERS_PATTERN}

    def to_python(self, value):
        if value is None:
            return None
        filters = []
        for raw in value if isinstance(value, list) else [value]:
            if raw == "":
                raise forms.ValidationError(MUST_NOT_BE_EMPTY, code="invalid")
            for part in raw.split(","):
                problem = patterns.filter_error(part)
                if problem:
                    raise forms.ValidationError(f"{problem} (got {part[:80]!r})", code="invalid")
                filters.append(part)
        return filters


def parse_date_time(raw):
    """An ISO 8601 date-time (naive ones are UTC) or date (its midnight, UTC), as an aware UTC datetime."""
    try:
        value = parse_datetime(raw)
        if value is None:
            day = parse_date(raw)
            value = datetime.combine(day, time.min) if day is not None else None
    except ValueError:  # well-formed but impossible: 2026-02-30, 25:00
        value = None
    if value is None:
        raise ValueError(DATE_TIME_HELP)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable instant
        return (datetime.min if value.year == 1 else datetime.max).replace(tzinfo=UTC)


class DateTimeParameterField(ParameterField):
    schema = {"type": "string", "format": "date-time", "minLength": 1}

    def parse(self, raw):
        return parse_date_time(raw)


class PositionField(WholeNumberParameterField):
    schema = whole_number_schema(0)

    def parse(self, raw):
        value = super().parse(raw)
        if value < 0:
            raise ValueError("Must be a whole number from 0 (a position).")
        return value


class TypeFilter(CharFilter):
    field_class = TypeFiltersField


class DateTimeFilter(CharFilter):
    field_class = DateTimeParameterField


class PositionFilter(WholeNumberFilter):
    field_class = PositionField


class EventFilterSet(StrictFilterSet):
    type = TypeFilter(method="of_types", label=(
        "Only these types: filters in which `*` matches anything (`config_object.*`, `*.created`), "
        "comma-separated or with the parameter repeated; any of them matches."))
    subjectType = CharFilter(field_name="subject_type", label="Only events about this resource type (`plugin`).")
    subjectId = CharFilter(field_name="subject_id", label="Only events about the resource with this id.")
    since = DateTimeFilter(field_name="occurred_at", lookup_expr="gte",
                           label="Only events that occurred at or after this ISO 8601 date-time.")
    until = DateTimeFilter(field_name="occurred_at", lookup_expr="lt",
                           label="Only events that occurred before this ISO 8601 date-time.")
    after = PositionFilter(field_name="position", lookup_expr="gt", label=(
        "Only events after this position (the `position` of the last event seen): for polling, "
        "with `order=asc`."))
    order = ChoiceFilter(choices=ORDERS, method="keep", label="desc (newest first, the default) or asc.")

    class Meta:
        model = Event
        fields = []

    def of_types(self, queryset, name, value):
        return services.of_types(queryset, value)

    def keep(self, queryset, name, value):
        return queryset  # the view orders the page (the cursor needs to know the order)
