import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from marketplaces.config_objects.models import ConfigObject, ConfigObjectVersion
from marketplaces.config_objects.reencryption import encrypted_fields, reencrypt_all
from marketplaces.tasks import reencrypt_all_task

OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
VERSION_COLUMNS = ("marketplaces.ConfigObjectVersion.raw_source_text",
                   "marketplaces.ConfigObjectVersion.normalized_payload_json")


def _raw_columns(version_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT raw_source_text, normalized_payload_json FROM marketplaces_configobjectversion "
                       "WHERE id = %s", [version_id])
        return cursor.fetchone()


@pytest.fixture
def old_versions(org):
    """Three versions (one without JSON) written while OLD_KEY was the only key."""
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[OLD_KEY]):
        obj = ConfigObject.objects.create(organization=org, type="context", title="Notes")
        return [
            ConfigObjectVersion.objects.create(config_object=obj, sha256=str(n) * 64, raw_source_text=f"secret {n}",
                                               normalized_payload_json=None if n == 2 else {"apiKey": f"sk-{n}"})
            for n in range(3)
        ]


def _counts(reports, label):
    return next(report for report in reports if report.label == label)


def test_every_encrypted_field_is_discovered_by_its_class():
    labels = {f"{model._meta.label}.{field.name}" for model, field in encrypted_fields()}
    assert set(VERSION_COLUMNS) <= labels


def test_after_rotation_every_column_opens_with_the_new_key_alone(old_versions):
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        reports = reencrypt_all(batch_size=2)  # several batches
    text, payload = _counts(reports, VERSION_COLUMNS[0]), _counts(reports, VERSION_COLUMNS[1])
    assert (text.scanned, text.rewritten, text.current, text.undecryptable) == (3, 3, 0, 0)
    assert (payload.scanned, payload.rewritten) == (2, 2)  # NULL stays NULL, untouched

    new_alone = Fernet(NEW_KEY.encode())
    for n, version in enumerate(old_versions):
        raw_text, raw_json = _raw_columns(version.pk)
        assert new_alone.decrypt(raw_text.encode()).decode() == f"secret {n}"
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY.encode()).decrypt(raw_text.encode())
        if n == 2:
            assert raw_json is None
        else:
            assert json.loads(new_alone.decrypt(raw_json.encode())) == {"apiKey": f"sk-{n}"}
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY]):  # the old key is dropped: the model still reads
        assert ConfigObjectVersion.objects.get(pk=old_versions[0].pk).normalized_payload_json == {"apiKey": "sk-0"}


def test_running_it_again_rewrites_nothing(old_versions):
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        reencrypt_all()
        before = [_raw_columns(v.pk) for v in old_versions]
        again = _counts(reencrypt_all(), VERSION_COLUMNS[0])
    assert (again.scanned, again.rewritten, again.current) == (3, 0, 3)
    assert [_raw_columns(v.pk) for v in old_versions] == before


def test_a_value_no_key_opens_is_counted_not_lost(old_versions):
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY]):  # OLD_KEY dropped too early
        report = _counts(reencrypt_all(), VERSION_COLUMNS[0])
    assert (report.rewritten, report.undecryptable) == (0, 3)
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[OLD_KEY]):
        assert ConfigObjectVersion.objects.get(pk=old_versions[1].pk).raw_source_text == "secret 1"


def test_the_command_reports_counts_and_a_dry_run_changes_nothing(old_versions):
    before = _raw_columns(old_versions[0].pk)
    out = StringIO()
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("reencrypt", "--dry-run", stdout=out)
        assert "ConfigObjectVersion.raw_source_text: scanned 3, would rewrite 3" in out.getvalue()
        assert _raw_columns(old_versions[0].pk) == before

        out = StringIO()
        call_command("reencrypt", "--batch-size", "1", stdout=out)
    assert "ConfigObjectVersion.raw_source_text: scanned 3, rewrote 3, already current 0" in out.getvalue()
    assert "Done: rewrote 5 value(s)" in out.getvalue()
    Fernet(NEW_KEY.encode()).decrypt(_raw_columns(old_versions[0].pk)[0].encode())


def test_the_celery_task_runs_it_and_returns_counts_per_column(old_versions):
    with override_settings(PLEXICA_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        counts = reencrypt_all_task.apply().get()  # in-process, whatever the broker
    assert counts[VERSION_COLUMNS[0]]["rewritten"] == 3
    assert counts[VERSION_COLUMNS[1]] == {"scanned": 2, "rewritten": 2, "current": 0, "undecryptable": 0,
                                          "changedMeanwhile": 0}
