"""Strict request bodies: the base classes every API serializer inherits.

DRF is lax on input: a CharField stores the number 0 as "0", a BooleanField takes 0, "yes" or "on", an
IntegerField takes "5" and 5.0, and a key that is no field is silently dropped (a typo in a PATCH changes
nothing and answers 200). A strict serializer checks the body itself, before DRF's fields see it:

- every key must be a writable field; any other key is a 400 naming it ("Unknown field.", or the reason in
  `READ_ONLY` for keys clients know from responses but may not set here, or "Read-only field." for a
  declared read-only field);
- each value must have its field's JSON type: a string for text and string choices, true/false for a
  boolean, an integer (not 5.0, "5" or true) for an integer, an object for a JSONObjectField; lists and
  dicts of those item by item;
- text is at most its field's max_length as sent (DRF would measure it after trimming the whitespace).

Nested strict serializers check their own part, so an error names its path (`mappings[1].foo`).

The OpenAPI schema says what DRF checks beyond drf-spectacular's reading (the extensions at the end): a
trimmed text field needs a character that is not whitespace, a PatternTextField or IdField states its
pattern, a list of nested bodies has its bounds, and a serializer's REQUEST_SCHEMA its rules across fields.
"""

import copy
import re
from collections.abc import Mapping

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import is_patched_serializer
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field."
READ_ONLY_FIELD = "Read-only field."
NOT_A_STRING = "Must be a string."
NOT_A_BOOLEAN = "Must be true or false."
NOT_AN_INTEGER = "Must be an integer."
NOT_AN_OBJECT = "Must be a JSON object."
# What Python's str.isspace() (so DRF's trimming) calls whitespace, as the inside of a [...] class for schema
# patterns: JSON Schema engines disagree on what \s is.
WHITESPACE_CHARACTERS = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_ONLY_WHITESPACE = f"[^{WHITESPACE_CHARACTERS}]"


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(serializers.JSONField):
    """Any JSON object, kept as given (a DictField would also take one, but says so in DRF's words)."""


class PatternTextField(serializers.CharField):
    """Text whose format the OpenAPI schema states as `pattern`, while its validators check it and say what is
    wrong. Nothing is trimmed, so the pattern is the whole rule; a value the validators let through must still
    match it (tests hold both to agree)."""

    default_error_messages = {"pattern": "Not in the format the API schema gives for this field."}

    def __init__(self, pattern, **kwargs):
        self.schema_pattern = pattern
        # JSON Schema's reading: `$` is the very end, Python's would also match before a final line feed.
        self.regex = re.compile(pattern.removesuffix("$") + r"\Z" if pattern.endswith("$") else pattern)
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validators(self, value):
        super().run_validators(value)
        if not self.regex.search(value):
            self.fail("pattern")


class IdField(serializers.CharField):
    """An id that names something of the organization (`cfo_...`, `plugin-...`), in the format `pattern` the
    OpenAPI schema states. The view looks it up, so one in another format is answered as an unknown one (a
    404, mostly). Nothing is trimmed: " cfo_..." finds nothing either."""

    def __init__(self, pattern, **kwargs):
        self.schema_pattern = pattern
        kwargs.setdefault("max_length", 100)
        super().__init__(trim_whitespace=False, **kwargs)


def _takes_strings_only(field):
    if isinstance(field, serializers.CharField):  # RegexField, SlugField, EmailField, URLField...
        return True
    if isinstance(field, serializers.ChoiceField) and not isinstance(field, serializers.MultipleChoiceField):
        return all(isinstance(value, str) for value in field.choices)
    return False


def _too_long(field, text):
    limit = getattr(field, "max_length", None)
    if limit is not None and len(text) > limit:
        return field.error_messages["max_length"].format(max_length=limit)
    return None


def json_type_error(field, value):
    """Why `value` (parsed JSON) is not of `field`'s kind: a message, a {key: [message]} of list or dict
    items, or None when it is (or the field checks it itself: null, nested serializers, JSON fields)."""
    if value is None:
        return None  # allow_null is DRF's to answer
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else NOT_A_BOOLEAN
    if isinstance(field, serializers.IntegerField):
        return None if isinstance(value, int) and not isinstance(value, bool) else NOT_AN_INTEGER
    if isinstance(field, JSONObjectField):
        return None if isinstance(value, Mapping) else NOT_AN_OBJECT
    if _takes_strings_only(field):
        return _too_long(field, value) if isinstance(value, str) else NOT_A_STRING
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        items = enumerate(value)
    elif isinstance(field, serializers.DictField) and isinstance(value, dict):
        items = value.items()
    else:
        return None
    errors = {}
    for key, item in items:
        problem = json_type_error(field.child, item)
        if problem:
            errors[key] = problem if isinstance(problem, dict) else [problem]
    return errors or None


class StrictInputMixin:
    # No docstring: drf-spectacular would show it as the description of every serializer without its own.
    # It refuses unknown keys and values of the wrong JSON type (see the module docstring).

    # Keys a client may know from responses but may not set in this body, with the reason.
    READ_ONLY = {}
    # JSON Schema keywords added to the request body's schema: the rules across fields that validate() checks
    # ({"oneOf": [...]}, {"not": {...}}); not for partial bodies (a PATCH).
    REQUEST_SCHEMA = {}

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # DRF's "Expected a dictionary"
        errors = {}
        for key, value in data.items():
            field = self.fields.get(key)
            if field is None or field.read_only:
                default = UNKNOWN_FIELD if field is None else READ_ONLY_FIELD
                errors[key] = [self.READ_ONLY.get(key) or default]
            elif problem := json_type_error(field, value):
                errors[key] = problem if isinstance(problem, dict) else [problem]
        if not errors:
            return super().to_internal_value(data)
        # The other fields are still checked, so one answer names every problem of the body.
        try:
            super().to_internal_value({key: value for key, value in data.items() if key not in errors})
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                errors = {**exc.detail, **errors}  # a removed value's "required" gives way to its own error
        raise serializers.ValidationError(errors)


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    pass


# The OpenAPI schema of what DRF checks and drf-spectacular does not say (request bodies only).


class TextSchema(OpenApiSerializerFieldExtension):
    """The pattern of a PatternTextField or IdField. And a text field that trims whitespace and may not be
    blank refuses " ": it needs a character that is not whitespace (NOT_ONLY_WHITESPACE), unless a pattern of
    its own says what it takes."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        if getattr(field, "schema_pattern", None):
            schema["pattern"] = field.schema_pattern
        elif field.trim_whitespace and not field.allow_blank:
            if not any(isinstance(validator, RegexValidator) for validator in field.validators):
                schema["pattern"] = NOT_ONLY_WHITESPACE
        return schema


class NestedListSchema(OpenApiSerializerFieldExtension):
    """A list of nested bodies (`many=True`) with its bounds: allow_empty=False, min_length and max_length
    as minItems and maxItems (drf-spectacular reads them on a ListField only)."""

    target_class = "rest_framework.serializers.ListSerializer"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if direction == "request" and schema is not None:
            minimum = max(field.min_length or 0, 0 if field.allow_empty else 1)
            if minimum:
                schema["minItems"] = minimum
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema


class RulesAcrossFieldsSchema(OpenApiSerializerExtension):
    """A strict serializer's REQUEST_SCHEMA, in its request body's schema."""

    target_class = StrictInputMixin
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        rules = self.target.REQUEST_SCHEMA
        if rules and direction == "request" and not is_patched_serializer(self.target, direction):
            schema.update(copy.deepcopy(rules))
        return schema
