"""Encryption at rest: MultiFernet over settings.PLEXICA_ENCRYPTION_KEYS, and model fields that use it.

The first key encrypts; every key decrypts, so a new key is prepended to rotate and old rows still read.
Tokens are random per write, so encrypted columns cannot be filtered or indexed by value.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class DecryptionFailed(Exception):
    """A stored token that none of the configured keys opens (a key was dropped too early)."""


@lru_cache(maxsize=8)
def _multifernet(keys):
    if not keys:
        raise ImproperlyConfigured("PLEXICA_ENCRYPTION_KEYS is empty: nothing to encrypt or decrypt with")
    return MultiFernet([Fernet(key) for key in keys])


def _current():
    # Looked up on every call (cached per key list), so overridden settings and rotations take effect.
    return _multifernet(tuple(settings.PLEXICA_ENCRYPTION_KEYS))


def encrypt_text(value):
    """The Fernet token (str) of `value` under the newest key."""
    return _current().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token):
    """The plaintext of a token written under any configured key."""
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionFailed("No configured PLEXICA_ENCRYPTION_KEYS entry decrypts this value.") from exc


def rotate_token(token):
    """The token re-encrypted under the newest key (for a re-encryption job after rotation)."""
    return _current().rotate(token.encode("ascii")).decode("ascii")


class EncryptedTextField(models.TextField):
    """A str stored as a Fernet token in a text column; None stays NULL."""

    def from_db_value(self, value, expression, connection):
        return None if value is None else self.decode(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt_text(self.encode(value))

    def encode(self, value):
        return str(value)

    def decode(self, token):
        return decrypt_text(token)


class EncryptedJSONField(EncryptedTextField):
    """Any JSON value (serialized, then encrypted) stored as a Fernet token; None stays NULL."""

    def encode(self, value):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def decode(self, token):
        return json.loads(decrypt_text(token))

    def get_prep_value(self, value):
        # TextField.get_prep_value would str() the value; JSON is serialized by encode() instead.
        return None if value is None else encrypt_text(self.encode(value))

    def to_python(self, value):
        return value

    def value_to_string(self, obj):
        return self.encode(self.value_from_object(obj))
