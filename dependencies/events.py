"""The dependency events: a plugin's declared dependencies changed.

Emitted in the transaction of the change (`plexica.events.log.emit`); the subject is ("plugin", plugin id).
"""

from plexica.events import types

TYPES = [
    ("dependencies.registered",
     "A plugin's dependency list was replaced by a different one (data: the new list)."),
]


def register():
    for name, description in TYPES:
        types.register(name, description, "plugin")
