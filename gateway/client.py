"""The one pooled upstream HTTP client of this process, with the allowed-network policy at connect time."""

import threading

from django.conf import settings

from plexica.network import GATEWAY_POLICY, resolve
from plexica.outbound_http import policy_pool_manager


def _resolve(host, port):
    # Looked up in this module at call time, so a test can point a name at addresses it chooses.
    return resolve(host, port)


_lock = threading.Lock()
_pool = None


def upstream_pool():
    """The process-wide keep-alive pool, built on first use (building one per request costs milliseconds)."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = policy_pool_manager(GATEWAY_POLICY, maxsize=settings.GATEWAY_POOL_MAXSIZE,
                                            resolver=_resolve, name="Gateway")
    return _pool
