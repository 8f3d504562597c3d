"""Prefixed, unguessable public ids (`org_...`, `key_...`): the only ids the outside world sees."""

import secrets
import string

from django.db import models
from django.utils.deconstruct import deconstructible

_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 22  # ~131 bits


@deconstructible
class PublicIdGenerator:
    def __init__(self, prefix):
        self.prefix = prefix

    def __call__(self):
        return f"{self.prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))

    def __eq__(self, other):
        return isinstance(other, PublicIdGenerator) and other.prefix == self.prefix


def public_id_field(prefix):
    """A primary key holding `<prefix>_<random>`, generated on creation."""
    return models.CharField(
        primary_key=True, max_length=32, default=PublicIdGenerator(prefix), editable=False, verbose_name="ID"
    )
