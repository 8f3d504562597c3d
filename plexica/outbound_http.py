"""Pooled outbound HTTP with an allowed-network policy checked at connect time.

`policy_pool_manager(policy)` builds a urllib3 PoolManager whose connections dial only addresses that
`policy` allows (plexica.network), checked on the address actually dialled, so a DNS answer that changed
since registration (rebinding) cannot steer a call to a forbidden network. A refusal raises
NetworkPolicyError from the request, carrying the policy's reason. Each subsystem keeps one manager per
process (the gateway's upstream pool, outbound webhooks' pool): building one costs milliseconds.
"""

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from plexica.network import NetworkPolicyError, check_address, resolve


class PolicyCheckedConnection:
    """Dial only addresses that pass `policy`, so DNS answers cannot steer us elsewhere.

    Like socket.create_connection, every allowed address is tried in turn: a name whose first address
    does not answer (localhost as ::1 while the service listens on 127.0.0.1) still connects.
    Subclasses set `policy` and `resolve_host(host, port) -> [address, ...]`.
    """

    policy = None

    @staticmethod
    def resolve_host(host, port):
        return resolve(host, port)

    def _new_conn(self):
        name = self._dns_host
        allowed, refusals = [], []
        for candidate in self.resolve_host(name, self.port):
            try:
                allowed.append(str(check_address(candidate, self.policy)))
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


def policy_pool_classes(policy, resolver=None, name="Policy"):
    """{"http": pool class, "https": pool class} whose connections check `policy` at connect time,
    resolving names with `resolver(host, port)` (plexica.network.resolve when None)."""
    attrs = {"policy": policy}
    if resolver is not None:
        attrs["resolve_host"] = staticmethod(resolver)
    http = type(f"{name}HTTPConnection", (PolicyCheckedConnection, HTTPConnection), dict(attrs))
    https = type(f"{name}HTTPSConnection", (PolicyCheckedConnection, HTTPSConnection), dict(attrs))
    return {
        "http": type(f"{name}HTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type(f"{name}HTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


def policy_pool_manager(policy, *, maxsize, resolver=None, num_pools=200, name="Policy"):
    """A keep-alive PoolManager (no retries, `maxsize` connections per host) whose connections pass
    `policy` at connect time."""
    manager = urllib3.PoolManager(num_pools=num_pools, maxsize=maxsize, block=False, retries=False)
    manager.pool_classes_by_scheme = policy_pool_classes(policy, resolver, name)
    return manager
