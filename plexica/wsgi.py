import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")
application = get_wsgi_application()

from django.urls import get_resolver  # noqa: E402  (settings are loaded now)

from plexica.checks import require_secrets  # noqa: E402

require_secrets()

# What is loaded by now (Django, every app, the URLconf and the views it imports) lives as long as the worker.
# Frozen, the garbage collector stops walking those objects on each full collection, which otherwise pauses a
# request that builds many objects (/ext/status of 500 plugins) by about 100 ms every few requests.
get_resolver().url_patterns  # noqa: B018  (loads the URLconf now instead of on the first request)
gc.freeze()
