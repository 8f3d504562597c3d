"""The ASGI process: only the long-lived paths (the event stream; MCP later) are routed here by the
reverse proxy, everything else stays on WSGI (plexica.wsgi under gunicorn). PLEXICA_ASGI=1, set before
the settings load, gives this process a bounded database pool (settings.ASGI_PROCESS)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")
os.environ.setdefault("PLEXICA_ASGI", "1")
application = get_asgi_application()

from plexica.checks import require_secrets  # noqa: E402  (settings are loaded now)

require_secrets()
