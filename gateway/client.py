"""The one pooled upstream HTTP client of this process, with the allowed-network policy at connect time."""

import threading

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from plexica.network import NetworkPolicyError, check_address, resolve


class _PolicyCheckedConnection:
    """Dial only addresses that pass the policy, so DNS answers cannot steer us elsewhere.

    Like socket.create_connection, every allowed address is tried in turn: a name whose first address
    does not answer (localhost as ::1 while the service listens on 127.0.0.1) still connects.
    """

    def _new_conn(self):
        name = self._dns_host
        allowed, refusals = [], []
        for candidate in resolve(name, self.port):
            try:
                allowed.append(str(check_address(candidate)))
            except NetworkPolicyError as exc:
                refusals.append(str(exc))
        if not allowed:
            raise NetworkPolicyError("; ".join(refusals) or f"host '{name}' has no address")
        last_error = None
        for address in allowed:
            self._dns_host = address
            try:
                return super()._new_conn()
            except (NewConnectionError, ConnectTimeoutError) as exc:
                last_error = exc
            finally:
                self._dns_host = name
        raise last_error


class PolicyHTTPConnection(_PolicyCheckedConnection, HTTPConnection):
    pass


class PolicyHTTPSConnection(_PolicyCheckedConnection, HTTPSConnection):
    pass


class PolicyHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PolicyHTTPConnection


class PolicyHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PolicyHTTPSConnection


_lock = threading.Lock()
_pool = None


def upstream_pool():
    """The process-wide keep-alive pool, built on first use (building one per request costs milliseconds)."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                manager = urllib3.PoolManager(
                    num_pools=200, maxsize=settings.GATEWAY_POOL_MAXSIZE, block=False, retries=False
                )
                manager.pool_classes_by_scheme = {"http": PolicyHTTPConnectionPool, "https": PolicyHTTPSConnectionPool}
                _pool = manager
    return _pool
