"""Re-encryption after a key rotation: rewrite every encrypted column under the newest key. No HTTP.

Rotation is: prepend a new key to PLEXICA_ENCRYPTION_KEYS (old rows still decrypt), run this, then drop
the old key. Every model field that is an EncryptedTextField (EncryptedJSONField included) in any installed
app is covered, so fields added later need nothing here. Tokens are rewritten with queryset `.update()` of
the raw stored token (immutable versions are never saved as instances), compare-and-set on the old token so
a concurrent write is not overwritten. A token already under the newest key is left alone: running it twice
rewrites nothing the second time.
"""

from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import TextField, Value
from django.db.models.functions import Cast

from plexica.crypto import DecryptionFailed, EncryptedTextField, rotate_token

DEFAULT_BATCH_SIZE = 500
_RAW = "_raw_token"


@dataclass
class ColumnReport:
    """What one run did to one encrypted column."""

    label: str
    scanned: int = 0
    rewritten: int = 0
    current: int = 0  # already under the newest key
    undecryptable: int = 0  # no configured key opens them (a key was dropped too early)
    changed_meanwhile: int = 0  # written by someone else between our read and our update; already fresh

    def as_dict(self):
        return {"scanned": self.scanned, "rewritten": self.rewritten, "current": self.current,
                "undecryptable": self.undecryptable, "changedMeanwhile": self.changed_meanwhile}


def encrypted_fields():
    """(model, field) for every concrete encrypted field of every installed model."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found


@lru_cache(maxsize=8)
def _newest(key):
    return Fernet(key)


def _is_current(token):
    try:
        _newest(settings.PLEXICA_ENCRYPTION_KEYS[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def _rotate(token):
    try:
        return rotate_token(token)
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionFailed(str(exc)) from exc


def reencrypt_column(model, field, batch_size=DEFAULT_BATCH_SIZE, dry_run=False):
    """Rewrite one encrypted column under the newest key, `batch_size` rows per transaction."""
    report = ColumnReport(f"{model._meta.label}.{field.name}")
    # Cast to a plain text column: the raw token, without the field's decryption on read.
    rows = (model._default_manager.order_by("pk").filter(**{f"{field.name}__isnull": False})
            .annotate(**{_RAW: Cast(field.name, TextField())}))
    last_pk = None
    while True:
        batch = rows if last_pk is None else rows.filter(pk__gt=last_pk)
        batch = list(batch.values_list("pk", _RAW)[:batch_size])
        if not batch:
            return report
        last_pk = batch[-1][0]
        with transaction.atomic():
            for pk, token in batch:
                report.scanned += 1
                if _is_current(token):
                    report.current += 1
                    continue
                try:
                    fresh = _rotate(token)
                except DecryptionFailed:
                    report.undecryptable += 1
                    continue
                if dry_run:
                    report.rewritten += 1
                    continue
                # Value(..., TextField()) is written as is: the field's get_prep_value would encrypt it again.
                unchanged = rows.filter(pk=pk, **{_RAW: token})
                updated = unchanged.update(**{field.name: Value(fresh, TextField())})
                if updated:
                    report.rewritten += 1
                else:
                    report.changed_meanwhile += 1


def reencrypt_all(batch_size=DEFAULT_BATCH_SIZE, dry_run=False):
    """Re-encrypt every encrypted column of every model; a ColumnReport per column."""
    return [reencrypt_column(model, field, batch_size=batch_size, dry_run=dry_run)
            for model, field in encrypted_fields()]
