"""OAuth2 for integration instances: the authorization-code grant with PKCE (start, callback), the
client-credentials grant, and the access token an execution uses, refreshed ahead of its expiry.

authlib builds the authorization URL, the PKCE challenge and the token requests; they travel through the
integrations' pooled client (connectors/integrations/client.py), so the token URL passes the network policy
at connect time like every other call to a provider.

Rules:
- `start` (organization admins): a random `state` (stored as its SHA-256, bound to the instance and its
  organization, single-use, expiring after OAUTH_STATE_TTL) and a PKCE S256 verifier (stored encrypted).
- `callback`: the state is consumed atomically (a replay, an expired state or another instance's state is
  refused), then the code is exchanged at `tokenUrl` with the verifier and the redirect URI.
- `access_token`: the stored token until its refresh time, expiry minus min(15 minutes, half its lifetime);
  then one refresh, single-flight across processes (a Redis lock; a process lock without Redis) with the
  instance re-read under the lock, so 50 concurrent executions make one token request. Once more after a 401
  (`force_refresh` with the token that was refused). `invalid_grant` moves the instance to AUTH_ERROR; a
  transient failure (5xx, 429, a connection error) is retried until the deadline. A token answer without a
  refresh token keeps the old one.
- Client id and secret come from the instance's config (`clientId`, `clientSecret`: the organization's own
  OAuth app), else the definition's.
"""

import hashlib
import logging
import threading
import time
from datetime import timedelta

from authlib.common.security import generate_token
from authlib.oauth2.auth import encode_client_secret_basic
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import LockError
from urllib3.exceptions import HTTPError

from connectors.integrations import client, instances
from connectors.integrations.errors import AuthFailed, ExecutionFailed, ValidationFailed
from connectors.integrations.models import AuthType, IntegrationInstance, OAuthState
from plexica.access.services import require_org_admin
from plexica.errors import Conflict
from plexica.network import INTEGRATION_POLICY, NetworkPolicyError, check_url
from plexica.tenancy.principal import Principal
from plexica.work import backoff

logger = logging.getLogger("plexica.integrations")

Status = IntegrationInstance.Status
STATE_TTL = timedelta(minutes=10)
TOKEN_TIMEOUT = 10.0  # seconds for a token exchange outside an execution (callback, connect)
REFRESH_MARGIN_CAP = 15 * 60
LOCK_KEY = "plexica:integration:refresh:{}"
LOCK_TTL = 30  # seconds; a crashed holder frees the lock after this
TRANSIENT = {429, 500, 502, 503, 504}

_process_locks = {}
_process_locks_guard = threading.Lock()


def _hash(state):
    return hashlib.sha256(state.encode()).hexdigest()


def _oauth2_config(instance):
    definition = instance.definition
    if definition.auth_type != AuthType.OAUTH2 or not definition.oauth2_config:
        raise Conflict(f"The definition's authType is {definition.auth_type}: this instance does not use OAuth2.",
                       code="CONFLICT", authType=definition.auth_type)
    return definition.oauth2_config


def _client_credentials(instance):
    """(client id, client secret): the instance's own OAuth app when its config names one, else the
    definition's."""
    config = instance.config or {}
    if config.get("clientId"):
        return config["clientId"], config.get("clientSecret") or ""
    definition = instance.definition
    client_id = definition.oauth_client_id or (definition.oauth2_config or {}).get("clientId") or ""
    return client_id, definition.oauth_client_secret or ""


def _require_client(instance):
    client_id, secret = _client_credentials(instance)
    if not client_id:
        raise Conflict("No OAuth client id: set clientId (and clientSecret) in the instance's config, or on the "
                       "definition.", code="CONFLICT")
    return client_id, secret


def _check_redirect_uri(redirect_uri):
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(redirect_uri)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment \
            or not redirect_uri.isprintable():
        raise ValidationFailed("redirectUri: An absolute http(s) URL without a fragment.",
                               [{"pointer": "/redirectUri", "message": "An absolute http(s) URL without a fragment."}],
                               field="redirectUri")


# The authorization-code grant


def start(principal, instance_id, redirect_uri):
    """(authorizationUrl, state) for an organization admin to send the user to."""
    require_org_admin(principal, "Connecting an integration instance")
    _check_redirect_uri(redirect_uri)
    instance = instances.get(principal, instance_id)
    config = _oauth2_config(instance)
    if config.get("grant") == "client_credentials":
        raise Conflict("The definition uses the client credentials grant: connect with PUT auth/credentials {} "
                       "instead.", code="CONFLICT", grant="client_credentials")
    if instance.status == Status.PENDING_CONFIGURATION:
        raise Conflict(f"The instance needs configuration first ({instance.status_reason}).",
                       code="INSTANCE_NOT_CONFIGURED", status=instance.status)
    client_id, _secret = _require_client(instance)
    try:  # the user's browser goes there, but it is the same provider: the same policy as its token URL
        check_url(config["authorizationUrl"], INTEGRATION_POLICY)
    except NetworkPolicyError as exc:
        raise AuthFailed(f"The authorization URL is not allowed by the integrations' network policy: {exc}.",
                         status=409) from None
    state, verifier = generate_token(43), generate_token(64)
    now = timezone.now()
    with transaction.atomic():
        OAuthState.objects.filter(instance=instance, expires_at__lte=now).delete()
        OAuthState.objects.create(organization=principal.organization, instance=instance, state_hash=_hash(state),
                                  code_verifier=verifier, redirect_uri=redirect_uri, expires_at=now + STATE_TTL,
                                  created_by=principal.user)
    url = prepare_grant_uri(config["authorizationUrl"], client_id, "code", redirect_uri=redirect_uri,
                            scope=config.get("scope") or None, state=state,
                            code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256")
    return url, state


def _consume_state(principal, instance, state):
    """The state's row, deleted (once, whoever races for it); refused when unknown, expired or another
    instance's."""
    refused = ValidationFailed("state: Unknown, already used or expired authorization state: start again.",
                               [{"pointer": "/state", "message": "Unknown, already used or expired."}], field="state")
    with transaction.atomic():
        row = OAuthState.objects.select_for_update().filter(
            state_hash=_hash(state), organization=principal.organization, instance=instance).first()
        if row is None:
            raise refused
        deleted, _ = OAuthState.objects.filter(pk=row.pk).delete()
    if not deleted or row.is_expired:
        raise refused
    return row


def callback(principal, instance_id, code, state):
    """Exchange `code` for tokens and store them: the instance becomes CONNECTED."""
    require_org_admin(principal, "Connecting an integration instance")
    instance = instances.get(principal, instance_id)
    config = _oauth2_config(instance)
    row = _consume_state(principal, instance, state)
    client_id, secret = _require_client(instance)
    token = _token_request(instance, config["tokenUrl"], client_id, secret, "authorization_code",
                           deadline=time.time() + TOKEN_TIMEOUT, code=code, redirect_uri=row.redirect_uri,
                           code_verifier=row.code_verifier)
    with transaction.atomic():
        locked = instances.get(principal, instance_id, lock=True)
        _store(principal, locked, token, previous=None, reconnect=True)
    return locked


def connect_client_credentials(principal, instance_id):
    """The client-credentials grant: fetch a token now, so the instance is CONNECTED (or the provider's refusal
    is the answer)."""
    require_org_admin(principal, "Connecting an integration instance")
    instance = instances.get(principal, instance_id)
    config = _oauth2_config(instance)
    if config.get("grant") != "client_credentials":
        raise Conflict("The definition uses the authorization code grant: connect through auth/oauth2/start.",
                       code="CONFLICT", grant=config.get("grant"))
    client_id, secret = _require_client(instance)
    token = _token_request(instance, config["tokenUrl"], client_id, secret, "client_credentials",
                           deadline=time.time() + TOKEN_TIMEOUT, scope=config.get("scope") or None)
    with transaction.atomic():
        locked = instances.get(principal, instance_id, lock=True)
        _store(principal, locked, token, previous=None, reconnect=True)
    return locked


# Token requests


def _token_request(instance, token_url, client_id, secret, grant_type, *, deadline, **params):
    """The provider's token answer (a dict with access_token), retrying transient failures until `deadline`.
    Raises AuthFailed (refused: invalid_grant, invalid_client...) or ExecutionFailed."""
    body = prepare_token_request(grant_type, **{key: value for key, value in params.items() if value is not None})
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    if secret:
        _uri, headers, body = encode_client_secret_basic(_BasicClient(client_id, secret), "POST", token_url,
                                                         headers, body)
    else:  # a public client (PKCE only): the id goes in the form
        body = f"{body}&client_id={_quote(client_id)}"
    try:
        check_url(token_url, INTEGRATION_POLICY)
    except NetworkPolicyError as exc:
        raise AuthFailed(f"The token URL is not allowed by the integrations' network policy: {exc}.",
                         status=409) from None
    attempt = 0
    while True:
        attempt += 1
        left = deadline - time.time()
        if left <= 0:
            raise ExecutionFailed("The provider's token endpoint did not answer in time.", status=504)
        try:
            answer = client.request("POST", token_url, headers=headers, body=body.encode(), timeout=left)
        except NetworkPolicyError as exc:
            raise AuthFailed(f"The token URL is not allowed by the integrations' network policy: {exc}.",
                             status=409) from None
        except (HTTPError, OSError, client.ResponseTooLarge) as exc:
            problem = f"The provider's token endpoint could not be reached ({type(exc).__name__})."
            answer = None
        if answer is not None:
            payload = answer.json()
            if answer.status == 200 and isinstance(payload, dict) and isinstance(payload.get("access_token"), str):
                return payload
            if answer.status not in TRANSIENT:
                error = payload.get("error") if isinstance(payload, dict) else None
                raise AuthFailed(f"The provider refused the {grant_type.replace('_', ' ')} request"
                                 f"{f' ({error})' if error else ''}.",
                                 details={"statusCode": answer.status, "response": payload}, headers={})
            problem = f"The provider's token endpoint answered {answer.status}."
        pause = backoff.delay(attempt, 0.2, 2.0, jitter=backoff.EQUAL)
        if pause >= deadline - time.time() - 0.05:
            raise ExecutionFailed(f"{problem} Gave up at the deadline after {attempt} attempts.",
                                  status=504 if answer is None else 502)
        time.sleep(pause)


class _BasicClient:
    """What authlib's client_secret_basic encoder reads."""

    def __init__(self, client_id, client_secret):
        self.client_id, self.client_secret = client_id, client_secret


def _quote(value):
    from urllib.parse import quote

    return quote(value, safe="")


def _store(principal, instance, token, *, previous, reconnect=False):
    """Save a token answer as the instance's credentials (the instance locked); `previous` credentials lend
    their refresh token when the answer has none."""
    now = time.time()
    lifetime = token.get("expires_in")
    try:
        lifetime = int(lifetime) if lifetime is not None else None
    except (TypeError, ValueError):
        lifetime = None
    credentials = {
        "accessToken": token["access_token"],
        "tokenType": token.get("token_type") or "Bearer",
        "refreshToken": token.get("refresh_token") or (previous or {}).get("refreshToken"),
        "scope": token.get("scope") if isinstance(token.get("scope"), str) else (previous or {}).get("scope", ""),
        "obtainedAt": now,
        "lifetime": lifetime,
    }
    expires_at = timezone.now() + timedelta(seconds=lifetime) if lifetime else None
    instances.store_credentials(principal, instance, credentials, expires_at=expires_at, reconnect=reconnect)


def refresh_due_at(instance):
    """Epoch seconds after which the token should be refreshed (None: it never expires)."""
    if instance.token_expires_at is None:
        return None
    expires = instance.token_expires_at.timestamp()
    lifetime = (instance.credentials or {}).get("lifetime") or max(0.0, expires - time.time())
    return expires - min(REFRESH_MARGIN_CAP, lifetime / 2)


def _needs_refresh(instance, *, force_refresh, stale_token):
    credentials = instance.credentials or {}
    if not credentials.get("accessToken"):
        return True
    if force_refresh and credentials.get("accessToken") == stale_token:
        return True  # the provider refused this very token; another process may have replaced it already
    due = refresh_due_at(instance)
    return due is not None and time.time() >= due


# The token an execution uses


def access_token(instance, *, principal=None, deadline=None, force_refresh=False, stale_token=None):
    """A valid access token for `instance` (refreshing it when due or when `stale_token` was refused)."""
    if instance.status == Status.AUTH_ERROR:
        raise AuthFailed(f"The instance needs reconnecting: {instance.status_reason or 'its token was refused'}.",
                         status=409, details={"instanceStatus": Status.AUTH_ERROR})
    if not _needs_refresh(instance, force_refresh=force_refresh, stale_token=stale_token):
        return instance.credentials["accessToken"]
    deadline = deadline or time.time() + TOKEN_TIMEOUT
    with _refresh_lock(instance.pk, deadline):
        fresh = IntegrationInstance.objects.select_related("definition").get(pk=instance.pk)
        if fresh.status == Status.AUTH_ERROR:
            raise AuthFailed(f"The instance needs reconnecting: {fresh.status_reason}.", status=409,
                             details={"instanceStatus": Status.AUTH_ERROR})
        if not _needs_refresh(fresh, force_refresh=force_refresh, stale_token=stale_token):
            _adopt(instance, fresh)
            return fresh.credentials["accessToken"]
        _refresh(principal or Principal.system(fresh.organization), fresh, deadline)
        _adopt(instance, fresh)
        return fresh.credentials["accessToken"]


def _adopt(instance, fresh):
    instance.credentials, instance.token_expires_at = fresh.credentials, fresh.token_expires_at
    instance.credentials_version, instance.status = fresh.credentials_version, fresh.status


def _refresh(principal, instance, deadline):
    """One token request (refresh_token, or client_credentials again) and its result stored."""
    config = _oauth2_config(instance)
    client_id, secret = _require_client(instance)
    previous = instance.credentials or {}
    try:
        if config.get("grant") == "client_credentials":
            token = _token_request(instance, config["tokenUrl"], client_id, secret, "client_credentials",
                                   deadline=deadline, scope=config.get("scope") or None)
        elif previous.get("refreshToken"):
            token = _token_request(instance, config["tokenUrl"], client_id, secret, "refresh_token",
                                   deadline=deadline, refresh_token=previous["refreshToken"])
        else:
            raise AuthFailed("The token expired and the provider gave no refresh token: reconnect the instance.",
                             details={"statusCode": None, "response": None})
    except AuthFailed as failure:
        if failure.status == 409:  # the network policy refused the token URL: the config's fault, not the grant's
            raise
        _auth_error(principal, instance, failure)
        raise AuthFailed(f"{failure.message} The instance is now AUTH_ERROR: reconnect it.",
                         status=409, details={**failure.extra, "instanceStatus": Status.AUTH_ERROR}) from None
    with transaction.atomic():
        locked = IntegrationInstance.objects.select_for_update().select_related("definition").get(pk=instance.pk)
        _store(principal, locked, token, previous=previous)
    _adopt(instance, locked)
    logger.info("integration instance %s: token refreshed", instance.pk)


def _auth_error(principal, instance, failure):
    with transaction.atomic():
        locked = IntegrationInstance.objects.select_for_update().select_related("definition").get(pk=instance.pk)
        instances.set_status(principal, locked, Status.AUTH_ERROR, failure.message)
    _adopt(instance, locked)


class _refresh_lock:
    """One refresher per instance at a time: across processes through Redis, within this one without it."""

    def __init__(self, instance_id, deadline):
        self.instance_id, self.deadline = instance_id, deadline
        self.lock = None

    def __enter__(self):
        wait = max(0.01, self.deadline - time.time())
        if settings.REDIS_URL:
            from django_redis import get_redis_connection

            self.lock = get_redis_connection("default").lock(LOCK_KEY.format(self.instance_id), timeout=LOCK_TTL,
                                                             sleep=0.02, blocking_timeout=wait)
        else:
            with _process_locks_guard:
                self.lock = _process_locks.setdefault(self.instance_id, threading.Lock())
        acquired = self.lock.acquire(blocking_timeout=wait) if settings.REDIS_URL else self.lock.acquire(timeout=wait)
        if not acquired:
            self.lock = None
            raise ExecutionFailed("Another process is refreshing the instance's token and did not finish in time.",
                                  status=504)
        return self

    def __exit__(self, *exc):
        if self.lock is None:
            return
        try:
            self.lock.release()
        except LockError:  # a Redis lock that expired under a slow refresh: another holder may have it now
            logger.warning("integration instance %s: the refresh lock expired before release", self.instance_id)
