import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")
application = get_wsgi_application()

from plexica.checks import require_secrets  # noqa: E402  (settings are loaded now)

require_secrets()
