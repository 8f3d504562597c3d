"""The one pooled HTTP client of outbound webhook deliveries in this process.

Every connection passes WEBHOOK_POLICY at connect time (public addresses, plus WEBHOOK_ALLOWED_NETWORKS;
never link-local or metadata). Redirects are never followed (a 3xx is the answer), there are no retries
here (the delivery schedule retries), the whole request is bounded by WEBHOOK_TIMEOUT_SECONDS, and at most
RESPONSE_KEEP_BYTES of the answer are kept (a little more is read to reuse the connection).
"""

import threading
import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from plexica.network import WEBHOOK_POLICY, NetworkPolicyError, resolve
from plexica.outbound_http import policy_pool_manager

RESPONSE_KEEP_BYTES = 4096
# Read this much more of a longer answer so the connection can be reused; past it, the connection is dropped.
RESPONSE_DRAIN_BYTES = 64 * 1024
POOL_MAXSIZE = 10


@dataclass(frozen=True)
class Answer:
    """What one POST got: the status and the start of the body, or the error that stopped it."""

    status_code: int | None
    body: str
    headers: dict
    error: str
    duration_ms: int

    @property
    def ok(self):
        return self.status_code is not None and 200 <= self.status_code < 300


def _resolve(host, port):
    # Looked up in this module at call time, so a test can point a name at addresses it chooses.
    return resolve(host, port)


_lock = threading.Lock()
_pool = None


def webhook_pool():
    """The process-wide keep-alive pool of webhook deliveries, built on first use."""
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                _pool = policy_pool_manager(WEBHOOK_POLICY, maxsize=POOL_MAXSIZE, resolver=_resolve, name="Webhook")
    return _pool


def _read_capped(response):
    kept = response.read(RESPONSE_KEEP_BYTES, decode_content=False) or b""
    rest = response.read(RESPONSE_DRAIN_BYTES, decode_content=False) if len(kept) == RESPONSE_KEEP_BYTES else b""
    if len(rest) == RESPONSE_DRAIN_BYTES:
        response.close()  # longer still: not worth reading to keep the connection
    else:
        response.release_conn()
    return kept.decode("utf-8", errors="replace")


def post(url, body, headers, *, timeout=None):
    """POST `body` (bytes) to `url`; never raises for what the network or the receiver does."""
    timeout = float(timeout if timeout is not None else settings.WEBHOOK_TIMEOUT_SECONDS)
    started = time.monotonic()
    status, text, answer_headers, error = None, "", {}, ""
    try:
        response = webhook_pool().request(
            "POST", url, body=body, headers=headers, redirect=False, retries=False, preload_content=False,
            timeout=urllib3.Timeout(total=timeout),
        )
        status = response.status
        answer_headers = {name.lower(): value for name, value in response.headers.items()}
        text = _read_capped(response)
    except NetworkPolicyError as exc:
        error = f"Refused by the network policy: {exc}"
    except Urllib3Timeout:
        error = f"No answer within {timeout:g} s"
    except (HTTPError, OSError, ValueError) as exc:  # refused, reset, bad URL, TLS...
        error = f"{type(exc).__name__}: {exc}"[:1000]
    duration_ms = int((time.monotonic() - started) * 1000)
    if status is not None and not 200 <= status < 300 and not error:
        error = f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    return Answer(status, text, answer_headers, error, duration_ms)
