"""Secrets required to serve. settings.py leaves them empty when DEBUG is off and they are not set, so
that offline commands (`makemigrations --check`, `spectacular`) work on a bare checkout; every serving
process (WSGI, ASGI, `manage.py serve`, the Celery worker) calls require_secrets() and stops."""

from django.conf import settings
from django.core.checks import Warning, register
from django.core.exceptions import ImproperlyConfigured

_WHY = {
    "SECRET_KEY": "SECRET_KEY must be set when DEBUG is off",
    "PLEXICA_ENCRYPTION_KEYS": (
        "PLEXICA_ENCRYPTION_KEYS must be set when DEBUG is off (comma-separated Fernet keys, newest first)"
    ),
}


def missing_secrets():
    """Messages naming each required secret that is not configured."""
    return [_WHY[name] for name in settings.PLEXICA_MISSING_SECRETS]


def require_secrets():
    """Stop a serving process that lacks its secrets, naming the variables."""
    missing = missing_secrets()
    if missing:
        raise ImproperlyConfigured("; ".join(missing))


@register()
def secrets_check(app_configs, **kwargs):
    # A warning for manage.py: commands that serve call require_secrets() and stop.
    return [Warning(message, id=f"plexica.W00{n}") for n, message in enumerate(missing_secrets(), start=1)]


@register()
def metrics_token_check(app_configs, **kwargs):
    if settings.METRICS_ENABLED and settings.REDIS_URL and not settings.METRICS_TOKEN:
        return [Warning("METRICS_TOKEN is not set: in full mode GET /metrics refuses every scrape (401) until it is",
                        hint="Set METRICS_TOKEN and send it as Authorization: Bearer <token> from Prometheus.",
                        id="plexica.W010")]
    return []
