"""The event types the platform emits, registered by the apps from their `AppConfig.ready()`.

Custom events (`POST /api/v1/events`) need no registration: a plugin key emits types under its own plugin
id (`plugin-crm.contact.created`), an organization key or an admin any type outside the registered
prefixes. The registry documents the platform's types (admin filters, the schema) and keeps custom events
from impersonating them.
"""

from dataclasses import dataclass

_TYPES = {}


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    subject_type: str = ""


def register(name, description, subject_type=""):
    if name in _TYPES:
        raise ValueError(f"event type {name!r} is registered twice")
    _TYPES[name] = EventType(name, description, subject_type)
    return _TYPES[name]


def get(name):
    return _TYPES.get(name)


def all_types():
    return sorted(_TYPES.values(), key=lambda t: t.name)


def reserved_prefixes():
    """The first segments of registered types: custom events may not use them."""
    return {name.split(".", 1)[0] for name in _TYPES}
