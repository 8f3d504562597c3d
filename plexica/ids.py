"""Prefixed, unguessable public ids (`org_...`, `key_...`): the only ids the outside world sees."""

import secrets
import string

from django.db import models
from django.utils.deconstruct import deconstructible

_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 22  # ~131 bits
# A plugin's id is chosen by its author, not generated: `plugin-crm`.
PLUGIN_ID_PATTERN = r"^plugin-[a-z0-9][a-z0-9-]*$"


@deconstructible
class PublicIdGenerator:
    def __init__(self, prefix):
        self.prefix = prefix

    def __call__(self):
        return f"{self.prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))

    def __eq__(self, other):
        return isinstance(other, PublicIdGenerator) and other.prefix == self.prefix


def public_id_pattern(prefix):
    return rf"^{prefix}_[A-Za-z0-9]{{{_RANDOM_LENGTH}}}$"


# The id format of each path parameter that names a public id, for the OpenAPI schema.
PATH_ID_PATTERNS = {
    name: public_id_pattern(prefix) for name, prefix in {
        "id": "key", "service_id": "svc", "config_object_id": "cfo", "version_id": "ver",
        "marketplace_id": "mkt", "grant_id": "grt", "release_id": "rel", "account_id": "cac",
        "instance_id": "cin", "target_id": "ctg", "mapping_id": "cmp", "sync_event_id": "sev",
        "endpoint_id": "whe", "message_id": "msg", "event_id": "evt", "definition_id": "idef", "integration_instance_id": "iins",
        "execution_id": "iexe",
    }.items()
}
PATH_ID_PATTERNS["plugin_id"] = PLUGIN_ID_PATTERN


def public_id_field(prefix):
    """A primary key holding `<prefix>_<random>`, generated on creation."""
    return models.CharField(
        primary_key=True, max_length=32, default=PublicIdGenerator(prefix), editable=False, verbose_name="ID"
    )
