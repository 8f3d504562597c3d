"""Event types and the filters that select them.

A type is two or more dot-separated segments of letters, digits, `_` and `-`:
`config_object.version_created`, `plugin-crm.contact.created`. A filter is a type in which `*` stands for
any run of characters, dots included: `config_object.*`, `*.created`, `plugin-crm.*`, or `*` for every type.
"""

import re
from functools import lru_cache

from django.db.models import Q

MAX_TYPE_LENGTH = 200
TYPE_PATTERN = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$"
FILTER_PATTERN = r"^(\*|[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*)$"
_TYPE = re.compile(TYPE_PATTERN)
_FILTER = re.compile(FILTER_PATTERN)


def type_error(value):
    """Why `value` is not a valid event type, or None when it is."""
    if not isinstance(value, str) or not value:
        return "An event type is a non-empty string."
    if len(value) > MAX_TYPE_LENGTH:
        return f"An event type is at most {MAX_TYPE_LENGTH} characters."
    if not _TYPE.fullmatch(value):
        return ("An event type is two or more dot-separated parts of letters, digits, '_' and '-' "
                "(e.g. 'contact.created').")
    return None


def filter_error(value):
    """Why `value` is not a valid type filter, or None when it is."""
    if not isinstance(value, str) or not value:
        return "A type filter is a non-empty string."
    if len(value) > MAX_TYPE_LENGTH:
        return f"A type filter is at most {MAX_TYPE_LENGTH} characters."
    if not _FILTER.fullmatch(value):
        return ("A type filter is an event type in which '*' matches anything "
                "(e.g. 'config_object.*', '*.created', '*').")
    return None


@lru_cache(maxsize=1024)
def _compiled(pattern):
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def matches(pattern, event_type):
    """True when the filter `pattern` selects `event_type`."""
    if "*" not in pattern:
        return pattern == event_type
    return bool(_compiled(pattern).match(event_type))


def matches_any(patterns, event_type):
    return any(matches(pattern, event_type) for pattern in patterns)


def type_q(pattern, field="type"):
    """The queryset condition for the filter `pattern` on `field` (an index-friendly prefix when it can)."""
    if pattern == "*":
        return Q()
    if "*" not in pattern:
        return Q(**{field: pattern})
    head, _, rest = pattern.partition("*")
    if rest == "":
        return Q(**{f"{field}__startswith": head})
    condition = Q(**{f"{field}__regex": _compiled(pattern).pattern})
    return condition & Q(**{f"{field}__startswith": head}) if head else condition
