"""The one pooled upstream HTTP client of this process, with the allowed-network policy at connect time."""

import threading

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from plexica.network import NetworkPolicyError, check_address, resolve


class _PolicyCheckedConnection:
    """Dial only an address that passes the policy, so DNS answers cannot steer us elsewhere."""

    def _new_conn(self):
        address = None
        refusals = []
        for candidate in resolve(self._dns_host, self.port):
            try:
                address = str(check_address(candidate))
                break
            except NetworkPolicyError as exc:
                refusals.append(str(exc))
        if address is None:
            raise NetworkPolicyError("; ".join(refusals) or f"host '{self._dns_host}' has no address")
        host, self._dns_host = self._dns_host, address
        try:
            return super()._new_conn()
        finally:
            self._dns_host = host


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
