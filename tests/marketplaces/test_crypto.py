import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from plexica.crypto import DecryptionFailed, decrypt_text, encrypt_text, rotate_token

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _version(org, **payload):
    obj = ConfigObject.objects.create(organization=org, type="context", title="Notes")
    return ConfigObjectVersion.objects.create(config_object=obj, sha256="0" * 64, **payload)


def _raw_columns(version_id):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT raw_source_text, normalized_payload_json FROM marketplaces_configobjectversion WHERE id = %s",
            [version_id],
        )
        return cursor.fetchone()


def test_payload_columns_hold_fernet_tokens_not_plaintext(org):
    version = _version(org, raw_source_text="top secret prompt", normalized_payload_json={"apiKey": "sk-live-123"})
    raw_text, raw_json = _raw_columns(version.pk)
    assert "top secret" not in raw_text and "sk-live" not in raw_json
    assert raw_text.startswith("gAAAA") and raw_json.startswith("gAAAA")
    stored = ConfigObjectVersion.objects.get(pk=version.pk)
    assert stored.raw_source_text == "top secret prompt"
    assert stored.normalized_payload_json == {"apiKey": "sk-live-123"}


def test_a_missing_payload_stays_null_in_the_database(org):
    version = _version(org, raw_source_text="only text")
    assert _raw_columns(version.pk)[1] is None
    assert ConfigObjectVersion.objects.get(pk=version.pk).normalized_payload_json is None


def test_a_value_written_under_an_old_key_still_reads_after_a_new_key_is_prepended(org):
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[OLD_KEY]):
        version = _version(org, raw_source_text="written long ago", normalized_payload_json=[1, "two"])
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        stored = ConfigObjectVersion.objects.get(pk=version.pk)
        assert (stored.raw_source_text, stored.normalized_payload_json) == ("written long ago", [1, "two"])
        fresh = encrypt_text("new secret")
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY]):
        assert decrypt_text(fresh) == "new secret"  # new writes use the newest key


def test_rotating_a_token_makes_it_readable_without_the_old_key():
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt_text("payload")
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        rotated = rotate_token(token)
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY]):
        assert decrypt_text(rotated) == "payload"
        with pytest.raises(DecryptionFailed):
            decrypt_text(token)
