"""Strict query parameters: the filters every FilterSet declares, and readers for views that take one by hand.

A parameter that is given must hold a valid value: `includeDeleted=AAA`, `installationId=0.5` or `status=`
is a 400 naming it (a choice lists the allowed values), never quietly the unfiltered list. A boolean is
exactly `true` or `false`. Parameters nobody declared are ignored: clients and proxies add cache-busters.

The OpenAPI schema states each rule once, from here: the strict filters carry their schema (see
StrictFilterSetSchema), and views declare hand-read parameters with the `*_parameter` builders next to
the readers they call.
"""

import re

import django_filters
from django import forms
from django.core.exceptions import ImproperlyConfigured
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

MUST_NOT_BE_EMPTY = "Must not be empty (leave the parameter out instead)."
# ASCII digits only (int() also reads "٥" and str.isdigit() passes "²"); 18 digits always fit a bigint.
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")
LARGEST_WHOLE_NUMBER = 10**18 - 1

# What each rule accepts, as JSON Schema (the query string's text, typed as OpenAPI reads it).
TEXT_SCHEMA = {"type": "string", "minLength": 1}
BOOLEAN_SCHEMA = {"type": "boolean"}


def whole_number_schema(minimum=-LARGEST_WHOLE_NUMBER, maximum=LARGEST_WHOLE_NUMBER):
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


def choice_schema(allowed):
    return {"type": "string", "enum": list(allowed)}


# The rules, on the raw string: each returns the value or raises ValueError with the message.


def parse_text(raw):
    if raw == "":
        raise ValueError(MUST_NOT_BE_EMPTY)
    return raw


def parse_bool(raw):
    if raw == "true":
        return True
    if raw == "false":
        return False
    raise ValueError("Must be true or false.")


def parse_whole_number(raw, minimum=None, maximum=None):
    """A whole number; with bounds, one from `minimum` to `maximum` (give both)."""
    bounds = f" from {minimum} to {maximum}" if minimum is not None else ""
    if not _WHOLE_NUMBER.fullmatch(raw) or (bounds and not minimum <= int(raw) <= maximum):
        raise ValueError(f"Must be a whole number{bounds}.")
    return int(raw)


def parse_choice(raw, allowed):
    if raw not in allowed:
        raise ValueError(f"Must be one of: {', '.join(allowed)}.")
    return raw


# Readers for views: the parsed value, `default` when the parameter is absent, a 400 naming it when bad.


def query_param(request, name, parse, *args, default=None):
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return parse(raw, *args)
    except ValueError as exc:
        raise ValidationError({name: [str(exc)]}) from None


def query_text(request, name, default=None):
    return query_param(request, name, parse_text, default=default)


def query_bool(request, name, default=False):
    return query_param(request, name, parse_bool, default=default)


def query_whole_number(request, name, minimum, maximum, default=None):
    return query_param(request, name, parse_whole_number, minimum, maximum, default=default)


def query_choice(request, name, allowed, default=None):
    return query_param(request, name, parse_choice, list(allowed), default=default)


# The OpenAPI declarations of the readers above, for `@extend_schema(parameters=[...])`.


def text_parameter(name, description, pattern=None, required=False):
    """A `query_text` parameter; `pattern` when the view refuses other values with a 400 (not a 404)."""
    schema = {**TEXT_SCHEMA, "pattern": pattern} if pattern else TEXT_SCHEMA
    return OpenApiParameter(name, dict(schema), required=required, description=description)


def bool_parameter(name, description, default=False):
    return OpenApiParameter(name, dict(BOOLEAN_SCHEMA), description=description, default=default)


def whole_number_parameter(name, minimum, maximum, description, default=None):
    schema = whole_number_schema(minimum, maximum)
    return OpenApiParameter(name, schema, description=description, default=default)


def choice_parameter(name, allowed, description):
    return OpenApiParameter(name, choice_schema(allowed), description=description)


# Filters for FilterSets: the same rules as form fields.


class ParameterField(forms.Field):
    """The form field of a strict filter: the raw string (None when absent) through `parse`."""

    # The raw string: NullBooleanSelect, django-filter's default, reads "2" as true and "AAA" as absent.
    widget = forms.TextInput
    # What the OpenAPI schema says of the parameter, on top of the type drf-spectacular finds.
    schema = TEXT_SCHEMA

    def parse(self, raw):
        return parse_text(raw)

    def to_python(self, value):
        if value is None:
            return None
        try:
            return self.parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class BooleanParameterField(ParameterField):
    schema = BOOLEAN_SCHEMA

    def parse(self, raw):
        return parse_bool(raw)


class WholeNumberParameterField(ParameterField):
    schema = whole_number_schema()

    def parse(self, raw):
        return parse_whole_number(raw)


class ChoiceParameterField(ParameterField):
    schema = {"type": "string"}  # drf-spectacular lists the filter's choices as the enum

    def __init__(self, *, choices, **kwargs):
        super().__init__(**kwargs)
        self.allowed = [str(value) for value, _ in choices]

    def parse(self, raw):
        return parse_choice(raw, self.allowed)


class CharFilter(django_filters.CharFilter):
    field_class = ParameterField


class BooleanFilter(django_filters.BooleanFilter):
    field_class = BooleanParameterField


class WholeNumberFilter(django_filters.NumberFilter):
    field_class = WholeNumberParameterField


class ChoiceFilter(django_filters.ChoiceFilter):
    field_class = ChoiceParameterField


class StrictFilterSet(django_filters.FilterSet):
    """The base of every FilterSet: its filters must be the strict ones above (checked at class creation)."""

    @classmethod
    def get_filters(cls):
        filters = super().get_filters()
        lax = [name for name, found in filters.items() if not issubclass(found.field_class, ParameterField)]
        if lax:
            raise ImproperlyConfigured(
                f"{cls.__name__}: {', '.join(lax)} must use the strict filters of plexica.api.query."
            )
        return filters


class StrictFilterSetSchema(DjangoFilterExtension):
    """drf-spectacular's FilterSet parameters, each with its strict field's schema (text is never empty,
    a whole number has the bounds it is parsed with)."""

    priority = 1  # over drf-spectacular's own DjangoFilterExtension

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name,
                                                  filter_field)
        if issubclass(filter_field.field_class, ParameterField):
            for parameter in parameters:
                schema = {key: value for key, value in parameter["schema"].items() if key != "format"}
                parameter["schema"] = {**schema, **filter_field.field_class.schema}
        return parameters
