"""The ASGI process: only the long-lived paths (the event stream, MCP) are routed here by the reverse proxy,
everything else stays on WSGI (plexica.wsgi under gunicorn). PLEXICA_ASGI=1, set before the settings load,
gives this process a bounded database pool (settings.ASGI_PROCESS).

`ASGI_MOUNTS` (settings) names ASGI applications served beside Django by path: `/mcp` is the MCP server's.
Each may have a `manager` with a `run()` async context (the MCP session manager); the lifespan enters them at
startup and leaves them at shutdown (uvicorn's `--lifespan on`, the default)."""

import contextlib
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plexica.settings")
os.environ.setdefault("PLEXICA_ASGI", "1")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402  (settings are loaded now)
from django.utils.module_loading import import_string  # noqa: E402

from plexica.checks import require_secrets  # noqa: E402

require_secrets()


class Application:
    """Django for every path but the mounted ones; the lifespan runs the mounts' managers."""

    def __init__(self, django_app, mounts):
        self.django_app = django_app
        self.mounts = mounts  # {path: ASGI app}

    def mount_for(self, path):
        for prefix, app in self.mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                return app
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        mounted = self.mount_for(scope.get("path", "")) if scope["type"] == "http" else None
        await (mounted or self.django_app)(scope, receive, send)

    async def lifespan(self, receive, send):
        async with contextlib.AsyncExitStack() as stack:
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    try:
                        for app in self.mounts.values():
                            if getattr(app, "manager", None) is not None:
                                await stack.enter_async_context(app.manager.run())
                    except Exception as exc:
                        await send({"type": "lifespan.startup.failed", "message": str(exc)})
                        return
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await stack.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return


application = Application(django_application,
                          {path: import_string(target)() for path, target in settings.ASGI_MOUNTS.items()})
