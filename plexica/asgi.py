import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")
application = get_asgi_application()

from plexica.checks import require_secrets  # noqa: E402  (settings are loaded now)

require_secrets()
