"""The gateway's events: an org admin exposed a plugin's tool to the organization's members, or stopped.

Emitted in the transaction of the change (`plexica.events.log.emit`); the subject is ("tool", the tool's name).
"""

from plexica.events import types
from plexica.events.log import emit

SUBJECT = "tool"

TYPES = [
    ("tool.exposed", "An organization admin exposed a plugin endpoint's tool to the organization's members."),
    ("tool.unexposed", "An organization admin stopped exposing a plugin endpoint's tool to members."),
]


def register():
    for name, description in TYPES:
        types.register(name, description, SUBJECT)


def _data(entry):
    return {"tool": entry["name"], "pluginId": entry["pluginId"], "serviceName": entry["serviceName"],
            "method": entry["method"], "path": entry["path"]}


def tool_exposed(actor, entry):
    emit(actor, "tool.exposed", subject=(SUBJECT, entry["name"]), data=_data(entry))


def tool_unexposed(actor, entry):
    emit(actor, "tool.unexposed", subject=(SUBJECT, entry["name"]), data=_data(entry))
