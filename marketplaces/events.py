"""The events of config objects, plugin bundles, marketplaces and releases.

Each is emitted in the transaction of its change (`plexica.events.log.emit`), only when something changed
(archiving an archived object, adding a member that is already one, pinning the pinned release emit
nothing). Subjects: ("config_object", cfo_), ("marketplace", mkt_), ("plugin", plugin id) for a bundle's
members, ("release", rel_).
"""

from plexica.events import types

TYPES = [
    ("config_object.created", "config_object", "A config object was created with its first version."),
    ("config_object.version_created", "config_object",
     "A config object got a new version (content that differs from its latest)."),
    ("config_object.archived", "config_object", "A config object was archived (it takes no new versions)."),
    ("config_object.deleted", "config_object",
     "A config object was deleted (soft), by a person or because its synced source was removed."),
    ("config_object.restored", "config_object", "An archived or deleted config object became active again."),
    ("marketplace.created", "marketplace", "A marketplace was created."),
    ("marketplace.updated", "marketplace", "A marketplace's name, description or logo changed."),
    ("marketplace.archived", "marketplace", "A marketplace was archived."),
    ("marketplace.restored", "marketplace", "An archived or deleted marketplace became active again."),
    ("marketplace.deleted", "marketplace", "A marketplace was deleted (soft)."),
    ("marketplace.plugin_added", "marketplace", "A marketplace started offering a plugin."),
    ("marketplace.plugin_removed", "marketplace", "A marketplace stopped offering a plugin."),
    ("bundle.config_object_added", "plugin", "A config object became a member of a plugin's bundle."),
    ("bundle.config_object_removed", "plugin", "A config object left a plugin's bundle."),
    ("release.created", "release", "A plugin release (a snapshot of its members' versions) was made."),
    ("release.pinned", "release", "A release was pinned: delivery serves it instead of the rolling latest."),
    ("release.unpinned", "release", "The pinned release was unpinned: delivery serves the rolling latest again."),
]


def register():
    for name, subject_type, description in TYPES:
        types.register(name, description, subject_type)
