"""The one pooled HTTP client of integrations in this process (executions and OAuth2 token requests).

Every connection passes INTEGRATION_POLICY at connect time (public addresses, plus
INTEGRATION_ALLOWED_NETWORKS; never link-local or metadata), on the address actually dialled. Redirects
are never followed and nothing is retried here: the executor decides retries within the method's time.
"""

import json
import threading
from dataclasses import dataclass

from plexica.network import INTEGRATION_POLICY, resolve
from plexica.outbound_http import policy_pool_manager

POOL_MAXSIZE = 20
MAX_RESPONSE_BYTES = 10 * 1024 * 1024

_lock = threading.Lock()
_pool = None


def _resolve(host, port):
    return resolve(host, port)


def pool():
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = policy_pool_manager(INTEGRATION_POLICY, maxsize=POOL_MAXSIZE,
                                            resolver=lambda host, port: _resolve(host, port), name="Integration")
    return _pool


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        """The body as JSON; its text when it is not JSON; None when empty."""
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode("utf-8", "replace")


class ResponseTooLarge(Exception):
    pass


def request(method, url, *, headers=None, body=None, fields=None, timeout):
    """Send one request (`body` bytes, or `fields` as a form) and read the whole answer within `timeout`
    seconds (urllib3's timeout: connect and each read). Raises NetworkPolicyError, urllib3 HTTPError, or
    ResponseTooLarge."""
    import urllib3

    kwargs = {"headers": headers or {}, "timeout": urllib3.Timeout(connect=timeout, read=timeout),
              "redirect": False, "retries": False, "preload_content": False}
    if fields is not None:
        kwargs["fields"] = fields
        kwargs["encode_multipart"] = False
    else:
        kwargs["body"] = body
    answer = pool().request(method, url, **kwargs)
    try:
        data = answer.read(MAX_RESPONSE_BYTES + 1)
        if len(data) > MAX_RESPONSE_BYTES:
            raise ResponseTooLarge(f"The provider's answer is larger than {MAX_RESPONSE_BYTES} bytes.")
    finally:
        answer.release_conn()
    return Response(answer.status, {key.lower(): value for key, value in answer.headers.items()}, data)
