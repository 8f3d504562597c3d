"""The API key events: a key was issued or revoked.

Emitted in the transaction of the change (`plexica.events.log.emit`); the subject is ("api_key", key_ id).
The data identifies the key (id, name, visible prefix, kind, binding, scopes, expiry), never its token
or the token's hash.
"""

from plexica.events import types
from plexica.events.log import emit

SUBJECT = "api_key"

TYPES = [
    ("api_key.created", "An API key was issued (its token is shown once, never in an event)."),
    ("api_key.revoked", "An API key was revoked: it stopped working at once."),
]


def register():
    for name, description in TYPES:
        types.register(name, description, SUBJECT)


def key_facts(key):
    """What an event says about `key` (no token, no hash)."""
    return {
        "keyId": key.pk, "name": key.name, "prefix": key.prefix, "kind": str(key.kind),
        "pluginId": key.plugin.plugin_id if key.plugin_id else None, "membershipId": key.membership_id,
        "scopes": list(key.scopes), "expiresAt": key.expires_at.isoformat() if key.expires_at else None,
    }


def emit_key_event(actor, type_, key, *, organization):
    emit(actor, type_, subject=(SUBJECT, key.pk), organization=organization, data=key_facts(key))
