import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from plexica.environment import env_bool, env_int, env_list, env_url


def test_env_bool_reads_the_usual_spellings(monkeypatch):
    for raw, expected in [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False), ("", False)]:
        monkeypatch.setenv("FLAG", raw)
        assert env_bool("FLAG") is expected


def test_env_bool_rejects_other_values_naming_the_variable(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG")


def test_env_int_rejects_non_numbers_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("LIMIT", "ten")
    with pytest.raises(ImproperlyConfigured, match="LIMIT must be a whole number"):
        env_int("LIMIT", 1)
    monkeypatch.setenv("LIMIT", "0")
    with pytest.raises(ImproperlyConfigured, match="LIMIT must be at least 1"):
        env_int("LIMIT", 1, minimum=1)


def test_env_list_and_url(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,,")
    assert env_list("HOSTS") == ["a.example", "b.example"]
    monkeypatch.setenv("DB", "mysql://x")
    with pytest.raises(ImproperlyConfigured, match="DB must be a URL"):
        env_url("DB", schemes=("postgres",))


def _start_django(env, code="import django; django.setup()"):
    """Import the settings in a fresh interpreter, as start-up would; returns (exit code, stderr)."""
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "plexica.settings"}
    result = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True)
    return result.returncode, result.stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "1", "PLEXICA_ENCRYPTION_KEYS": "not-a-key"}, "PLEXICA_ENCRYPTION_KEYS"),
        ({"DEBUG": "perhaps"}, "DEBUG"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://localhost/x"}, "DATABASE_URL"),
        ({"DEBUG": "1", "REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"DEBUG": "1", "RATELIMIT_ORG_PER_MINUTE": "lots"}, "RATELIMIT_ORG_PER_MINUTE"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(env, named):
    code, stderr = _start_django(env)
    assert code != 0
    assert "ImproperlyConfigured" in stderr and named in stderr


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PLEXICA_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyYnl0ZXM="}, "SECRET_KEY"),
        ({"SECRET_KEY": "s" * 50}, "PLEXICA_ENCRYPTION_KEYS"),
    ],
)
@pytest.mark.parametrize("server", ["plexica.wsgi", "plexica.asgi"])
def test_a_server_without_its_secrets_refuses_to_start_naming_them(env, named, server):
    code, stderr = _start_django({"DEBUG": "0", **env}, code=f"import {server}")
    assert code != 0
    assert "ImproperlyConfigured" in stderr and f"{named} must be set when DEBUG is off" in stderr


def test_offline_commands_work_on_a_bare_checkout_without_secrets():
    code, stderr = _start_django({}, code=(
        "import django, sys; django.setup(); from django.core.management import call_command; "
        "call_command('makemigrations', '--check', '--dry-run', verbosity=0)"))
    assert code == 0, stderr


def test_debug_mode_starts_with_nothing_else_set():
    code, stderr = _start_django({"DEBUG": "1"})
    assert code == 0, stderr
