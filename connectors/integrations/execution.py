"""Executing an instance's method: the rules checked where the call arrives, and the run in a Celery worker.

`execute()` (the entry of the API, the admin and the MCP tools) checks, in order: the instance is the caller's
organization's (404), the caller may execute its methods (403, see below), it may execute (CONNECTED, its
definition not ARCHIVED: 409), the method exists (404), the
parameters validate against `paramSchema` (400 VALIDATION_ERROR, every failing JSON pointer), the method's
rate limit (GCRA per instance and method, `requestsPerMinute` sustained, `burstLimit` burst, shared by all
processes through Redis: 429 RATE_LIMIT_EXCEEDED) and its circuit breaker (503 CIRCUIT_OPEN). It then
records an IntegrationExecution and enqueues `connectors.run_integration_execution`; a synchronous call
waits for the worker's outcome until the method's `timeoutMs` deadline, an asynchronous one answers at once.

Who executes: org admins (owners and admins, org keys, superusers, the system) and plugin keys execute every
instance of their organization; a member (a session or a member's key) needs the editor role on the instance
(an access grant to them, one of their teams or the whole organization): 403 `RESOURCE_ACCESS_DENIED` naming
the role otherwise. `executable_instances()` is the same rule as a queryset.

`run()` (the worker) fills in the method's declarative request, authenticates it (OAuth2 bearer token,
refreshed ahead of expiry and once on a 401; API key; basic), and sends it through the integrations'
pooled client within the deadline: idempotent methods are retried on connection errors, 5xx and 429 with
backoff; a provider's Retry-After is obeyed only while it fits in the time left. The outcome (SUCCESS or
the seed's error code, with the status, message and details the API answers) is stored on the execution.
"""

import base64
import json
import logging
import math
import time
from datetime import timedelta
from urllib.parse import urljoin

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from connectors.integrations import client, instances, schemas, templating
from connectors.integrations.errors import (
    AuthFailed,
    CircuitOpen,
    ExecutionFailed,
    IntegrationFailure,
    NotConnected,
    ProviderError,
    RateLimitExceeded,
    ValidationFailed,
)
from connectors.integrations.models import AuthType, IntegrationDefinition, IntegrationExecution
from connectors.sharing import INTEGRATION_INSTANCE
from plexica.access import services as access
from plexica.errors import NotFound
from plexica.events.log import actor_of, request_id_var
from plexica.network import INTEGRATION_POLICY, NetworkPolicyError, check_url
from plexica.observability.metrics import count_integration_execution
from plexica.tenancy.principal import Principal
from plexica.work import backoff
from plexica.work.breaker import Breaker
from plexica.work.queue import enqueue
from plexica.work.ratelimit import Bucket, hit_many

logger = logging.getLogger("plexica.integrations")

Status = IntegrationExecution.Status
Instance = instances.IntegrationInstance
TASK = "connectors.run_integration_execution"
BREAKER_FAILURES = 5
BREAKER_COOLDOWN = 30
RETRY_BASE = 0.1
RETRY_CAP = 2.0
MAX_ATTEMPTS = 5
DONE_KEY = "plexica:integration:done:{}"
DONE_TTL = 120
# Seconds past the deadline a waiting request gives the worker to store its outcome.
WAIT_GRACE = 1.0
BLPOP_SLICE = 1.0  # seconds a synchronous execution blocks on Redis at a time (the client's socket timeout is 2)


def breaker(instance_id, method_name):
    return Breaker(f"integration:{instance_id}:{method_name}", failures=BREAKER_FAILURES, cooldown=BREAKER_COOLDOWN)


def rate_limit_bucket(instance_id, method):
    """The GCRA bucket of a method's `rateLimits`: a burst of `burstLimit`, refilled at requestsPerMinute."""
    limits = method.get("rateLimits")
    if not limits:
        return None
    burst = limits.get("burstLimit") or 1
    return Bucket(f"integration:{instance_id}:{method['name']}", burst, burst * 60 / limits["requestsPerMinute"])


def rate_limit_headers(state, now):
    return {"X-RateLimit-Limit": str(state.limit), "X-RateLimit-Remaining": str(state.remaining),
            "X-RateLimit-Reset": str(math.ceil(now + state.reset_after))}


# Who may execute


def needs_grant(principal):
    """True for a member (a session or a member's key) who is no org admin: they execute an instance's methods
    only with the editor role on it. Org admins, org keys, plugin keys and the system execute every instance."""
    return principal.membership is not None and not principal.is_org_admin


def require_executor(principal, instance):
    """Forbidden (403 resource_access_denied, naming the editor role) unless the caller may execute `instance`."""
    if needs_grant(principal):
        access.require_role(principal, INTEGRATION_INSTANCE, instance.pk, access.EDITOR,
                            f"Executing the methods of the integration instance {instance.pk} needs the editor role "
                            "on it")


def executable_instances(principal):
    """The caller's organization's instances whose methods the caller may execute now: CONNECTED, the definition
    not ARCHIVED, and (for a member who is no admin) granted to them as editor or manager. With the definition."""
    queryset = Instance.objects.filter(organization=principal.organization, status=Instance.Status.CONNECTED).exclude(
        definition__status=IntegrationDefinition.Status.ARCHIVED).select_related("definition")
    if needs_grant(principal):
        queryset = queryset.filter(pk__in=access.ids_with_role(principal, INTEGRATION_INSTANCE, access.EDITOR))
    return queryset


# Where the call arrives


def _executable(principal, instance_id, method_name):
    instance = instances.get(principal, instance_id)
    require_executor(principal, instance)
    definition = instance.definition
    if definition.status == IntegrationDefinition.Status.ARCHIVED:
        raise NotConnected(f"The definition {definition.name} {definition.version} is ARCHIVED: its instances no "
                           "longer execute; move the instance to a newer version.",
                           details={"definitionStatus": definition.status})
    if instance.status == Instance.Status.AUTH_ERROR:
        raise AuthFailed(f"The instance needs reconnecting: {instance.status_reason or 'authentication failed'}.",
                         status=409, details={"instanceStatus": instance.status})
    if instance.status != Instance.Status.CONNECTED:
        raise NotConnected(f"The instance is {instance.status}"
                           f"{': ' + instance.status_reason if instance.status_reason else ''}; it executes once "
                           "CONNECTED.", details={"instanceStatus": instance.status})
    method = definition.method(method_name)
    if method is None:
        raise NotFound(f"The definition {definition.name} {definition.version} has no method {method_name!r}.",
                       title="Method not found", code="METHOD_NOT_FOUND")
    return instance, method


def check_parameters(method, parameters):
    if not isinstance(parameters, dict):
        raise ValidationFailed("parameters: An object.", [{"pointer": "/parameters", "message": "An object."}])
    errors = schemas.validation_errors(method.get("paramSchema"), parameters)
    if errors:
        first = errors[0]
        raise ValidationFailed(f"/parameters{first['pointer']}: {first['message']}",
                               [{"pointer": "/parameters" + error["pointer"], "message": error["message"]}
                                for error in errors], field="parameters")


def admit(instance, method, *, now=None):
    """Charge the method's rate limit and ask its breaker; returns the X-RateLimit-* headers (or {})."""
    now = time.time() if now is None else now
    headers = {}
    bucket = rate_limit_bucket(instance.pk, method)
    if bucket is not None:
        state = hit_many([bucket], now=now)[0]
        headers = rate_limit_headers(state, now)
        if state.exceeded:
            limits = method["rateLimits"]
            raise RateLimitExceeded(
                f"The rate limit of {method['name']} ({limits['requestsPerMinute']} per minute, bursts of "
                f"{limits['burstLimit']}) is exceeded for this instance.", retry_after=state.retry_after,
                headers=headers, details={"limit": limits})
    allowed, retry_after = breaker(instance.pk, method["name"]).allow(now)
    if not allowed:
        raise CircuitOpen(f"{method['name']} failed too often on this instance; calls pause for "
                          f"{math.ceil(retry_after)} s.", retry_after=retry_after)
    return headers


def execute(principal, instance_id, method_name, parameters, *, is_async=False, now=None):
    """Run the method (see the module docstring). Returns (execution, rate-limit headers); a synchronous call
    returns the finished execution, or raises its failure."""
    instance, method = _executable(principal, instance_id, method_name)
    check_parameters(method, parameters)
    headers = admit(instance, method)
    now = now or timezone.now()
    actor_type, actor_id = actor_of(principal)
    execution = IntegrationExecution.objects.create(
        organization_id=instance.organization_id, instance=instance, method=method["name"], is_async=is_async,
        actor_type=actor_type, actor_id=str(actor_id)[:64], request_id=request_id_var.get()[:64],
        deadline=now + timedelta(milliseconds=method["timeoutMs"]), parameters=parameters,
    )
    enqueue(TASK, (execution.pk,))  # the row is committed: execute() runs outside a transaction
    if is_async:
        return execution, headers
    execution = wait(execution)
    if execution.status == Status.FAILED:
        raise failure_of(execution, headers)
    return execution, headers


def failure_of(execution, headers=None):
    """The IntegrationFailure a failed execution answers with."""
    headers = dict(headers or {})
    if execution.retry_after:
        headers["Retry-After"] = str(max(1, math.ceil(execution.retry_after)))
    return IntegrationFailure(execution.message, code=execution.outcome, status=execution.http_status,
                              details=execution.details or {}, headers=headers)


def wait(execution):
    """The execution once the worker finished it, or failed as timed out at its deadline (+ a grace)."""
    limit = execution.deadline.timestamp() + WAIT_GRACE
    if not settings.REDIS_URL or not _wait_on_redis(execution, limit):
        while not _finished(execution) and time.time() < limit:
            time.sleep(0.02)
    execution.refresh_from_db()
    if not execution.is_finished:
        timed_out = IntegrationExecution.objects.filter(pk=execution.pk, status__in=(Status.QUEUED, Status.RUNNING))
        _finish_query(timed_out, outcome="EXECUTION_ERROR", http_status=504, attempts=execution.attempts,
                      message=f"The execution did not finish within {execution.method}'s timeout.")
        execution.refresh_from_db()
    result = execution.result
    if execution.result is not None and not settings.INTEGRATION_RECORD_PAYLOADS:
        IntegrationExecution.objects.filter(pk=execution.pk).update(result=None)
    execution.result = result
    return execution


def _wait_on_redis(execution, limit):
    """Block on DONE_KEY, which the worker pushes to when it finishes (earlier included: the list waits),
    until `limit`. Each BLPOP waits at most BLPOP_SLICE seconds, below the Redis client's socket timeout
    (a longer one would end in a socket timeout, not an answer). False when Redis fails: the caller polls
    the database instead."""
    from django_redis import get_redis_connection
    from redis.exceptions import RedisError

    try:
        redis = get_redis_connection("default")
        while (left := limit - time.time()) > 0:
            if redis.blpop([DONE_KEY.format(execution.pk)], timeout=max(0.01, min(left, BLPOP_SLICE))):
                return True
    except RedisError:
        logger.warning("Waiting for execution %s on Redis failed: polling the database", execution.pk,
                       exc_info=True)
        return False
    return True


def _finished(execution):
    return IntegrationExecution.objects.filter(pk=execution.pk, status__in=(Status.SUCCEEDED, Status.FAILED)).exists()


def get_execution(principal, instance_id, execution_id):
    instance = instances.get(principal, instance_id)
    execution = IntegrationExecution.objects.filter(organization=principal.organization, instance=instance,
                                                    pk=execution_id).first()
    if execution is None:
        raise NotFound(f"No execution {execution_id} of the instance {instance_id}.", title="Execution not found")
    return execution


# The worker


def _finish_query(queryset, *, outcome, http_status, message="", details=None, attempts=0, result=None,
                  provider_status=None, retry_after=None, warnings=(), started_at=None):
    now = timezone.now()
    changes = {"status": Status.SUCCEEDED if outcome == "SUCCESS" else Status.FAILED, "outcome": outcome,
               "http_status": http_status, "message": message[:1000], "details": details, "attempts": attempts,
               "provider_status": provider_status, "retry_after": retry_after, "warnings": list(warnings),
               "finished_at": now}
    if started_at is not None:
        changes["duration_ms"] = max(0, round((now - started_at).total_seconds() * 1000))
    if not settings.INTEGRATION_RECORD_PAYLOADS:
        changes["parameters"] = None
    if result is not None:
        changes["result"] = result
    written = queryset.update(**changes)
    if written:
        count_integration_execution(outcome)  # plexica_integration_executions_total{status=<the seed's code>}
    return written


class _Attempts:
    def __init__(self, deadline):
        self.deadline = deadline
        self.count = 0

    @property
    def left(self):
        return self.deadline - time.time()


def run(execution_id):
    """Claim the QUEUED execution and run it to its outcome (a no-op if another worker claimed it)."""
    started = timezone.now()
    claimed = IntegrationExecution.objects.filter(pk=execution_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=started)
    if not claimed:
        return None
    execution = IntegrationExecution.objects.select_related("instance__definition", "instance__organization").get(
        pk=execution_id)
    instance = execution.instance
    method = instance.definition.method(execution.method)
    attempts = _Attempts(execution.deadline.timestamp())
    outcome = {"outcome": "SUCCESS", "http_status": 200}
    broke = False
    try:
        if attempts.left <= 0:
            raise ExecutionFailed(f"The execution waited past {execution.method}'s timeout before it started.",
                                  status=504)
        data, warnings = _call(execution, instance, method, attempts)
        outcome.update(result={"data": data}, warnings=warnings, message="",
                       details={"warnings": warnings} if warnings else None)
    except IntegrationFailure as failure:
        broke = _breaks_circuit(failure)
        outcome.update(outcome=failure.code, http_status=failure.status, message=failure.message or "",
                       details=failure.extra or None, retry_after=_retry_after(failure),
                       provider_status=(failure.extra or {}).get("statusCode"))
    except Exception as exc:  # a bug must still finish the execution (and be logged), never leave it RUNNING
        logger.exception("Integration execution %s failed unexpectedly", execution_id)
        broke = True
        outcome.update(outcome="EXECUTION_ERROR", http_status=502, message=f"The execution failed: {type(exc).__name__}.")
    circuit = breaker(instance.pk, execution.method)
    if broke:
        circuit.record_failure()
    elif outcome["outcome"] in ("SUCCESS", "INTEGRATION_ERROR"):
        circuit.allow()  # load its state, so a success after failures resets it
        circuit.record_success()
    _finish_query(IntegrationExecution.objects.filter(pk=execution_id, status=Status.RUNNING),
                  attempts=attempts.count, started_at=started, **outcome)
    Instance.objects.filter(pk=instance.pk).update(last_used_at=timezone.now())
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        connection = get_redis_connection("default")
        key = DONE_KEY.format(execution_id)
        connection.pipeline().rpush(key, outcome["outcome"]).expire(key, DONE_TTL).execute()
    return outcome["outcome"]


def _retry_after(failure):
    value = failure.headers.get("Retry-After") if failure.headers else None
    return float(value) if value else None


def _breaks_circuit(failure):
    """Provider outages open the circuit: 5xx, connection errors and timeouts; not the caller's mistakes."""
    if failure.code == "INTEGRATION_ERROR":
        return (failure.extra or {}).get("statusCode", 0) >= 500
    return failure.code == "EXECUTION_ERROR" and failure.status in (502, 504)


def _base_url(instance):
    config = instances.merged_config(instance)
    base = config.get("baseUrl")
    if not isinstance(base, str) or not base:
        raise _config_error(instance, "config.baseUrl: The instance has no baseUrl to call.")
    try:
        check_url(base, INTEGRATION_POLICY)
    except NetworkPolicyError as exc:
        raise _config_error(instance, f"config.baseUrl: Not allowed by the integrations' network policy: {exc}.")
    return base


def _config_error(instance, reason):
    with transaction.atomic():
        locked = Instance.objects.select_for_update().select_related("definition").get(pk=instance.pk)
        if locked.status == Instance.Status.CONNECTED:
            instances.set_status(Principal.system(locked.organization), locked, Instance.Status.CONFIG_ERROR, reason)
    return ExecutionFailed(reason, code="EXECUTION_ERROR", status=409, details={"instanceStatus": "CONFIG_ERROR"})


def _authenticate(instance, headers, query, attempts, *, force_refresh=False, stale=None):
    """Add the instance's credentials to the request; returns the bearer token used (OAuth2) or None."""
    auth_type = instance.definition.auth_type
    credentials = instance.credentials or {}
    if auth_type == AuthType.OAUTH2:
        from connectors.integrations import oauth

        token = oauth.access_token(instance, deadline=attempts.deadline, force_refresh=force_refresh,
                                   stale_token=stale)
        headers["Authorization"] = f"Bearer {token}"
        return token
    if auth_type == AuthType.API_KEY:
        config = instance.definition.api_key_config or {"in": "header", "name": "Authorization", "prefix": "Bearer "}
        value = f"{config.get('prefix', '')}{credentials.get('apiKey', '')}"
        if config.get("in") == "query":
            query.append((config["name"], value))
        else:
            headers[config["name"]] = value
    elif auth_type == AuthType.BASIC:
        pair = f"{credentials.get('username', '')}:{credentials.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return None


def _call(execution, instance, method, attempts):
    from urllib.parse import quote

    parameters = execution.parameters or {}
    try:
        filled = templating.fill(method.get("request") or {}, parameters)
    except templating.MissingParameter as exc:
        raise ValidationFailed(str(exc), [{"pointer": f"/parameters/{exc.name}", "message": str(exc)}]) from None
    for name, value in filled.headers.items():
        if any(char < " " or char == "\x7f" for char in value):
            raise ValidationFailed(f"The header {name} would hold a control character from the parameters.",
                                   [{"pointer": "/parameters", "message": "No control characters in header values."}])
    base = _base_url(instance)
    url = urljoin(base.rstrip("/") + "/", filled.path.lstrip("/"))
    body = None if filled.body is None else json.dumps(filled.body, separators=(",", ":")).encode()
    idempotent = method.get("idempotent", filled.method in templating.IDEMPOTENT_METHODS)
    refreshed = force_refresh = False
    stale = None
    while True:
        headers = {"Accept": "application/json", **filled.headers}
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        query = []
        stale = _authenticate(instance, headers, query, attempts, force_refresh=force_refresh, stale=stale)
        force_refresh = False
        target = url
        if query:
            target += ("&" if "?" in url else "?") + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}"
                                                                for k, v in query)
        attempts.count += 1
        if attempts.left <= 0:
            raise _timeout(execution)
        try:
            answer = client.request(filled.method, target, headers=headers, body=body, timeout=attempts.left)
        except NetworkPolicyError as exc:
            raise _config_error(instance, f"config.baseUrl: Not allowed by the integrations' network policy: {exc}.")
        except ValueError as exc:  # http.client refuses a header value or URL it cannot send
            raise ExecutionFailed(f"The request cannot be sent: {exc}.") from None
        except (Urllib3Timeout, HTTPError, client.ResponseTooLarge, OSError) as exc:
            if isinstance(exc, Urllib3Timeout) or attempts.left <= 0:
                raise _timeout(execution) from None
            problem = str(exc) if isinstance(exc, client.ResponseTooLarge) else \
                f"The provider could not be reached ({type(exc).__name__})."
            if idempotent and _may_retry(attempts):
                continue
            raise ExecutionFailed(problem) from None
        if answer.status == 401 and instance.definition.auth_type == AuthType.OAUTH2 and not refreshed:
            refreshed = force_refresh = True  # once: the token may have been revoked or expired early
            continue
        if answer.status == 401:
            raise AuthFailed(f"The provider refused the instance's credentials ({answer.status})"
                             f"{' after a token refresh' if refreshed else ''}.",
                             details={"statusCode": answer.status, "response": answer.json()})
        if answer.status == 429 or answer.status >= 500:
            wait = _provider_wait(answer)
            if answer.status == 429 and wait is not None and wait > attempts.left - 0.05:
                raise RateLimitExceeded(f"The provider's rate limit is exceeded; it asks to wait {math.ceil(wait)} s, "
                                        "longer than the time left.", retry_after=wait,
                                        details={"statusCode": 429, "response": answer.json()})
            if idempotent and _may_retry(attempts, at_least=wait):
                continue
            if answer.status == 429:
                raise RateLimitExceeded("The provider's rate limit is exceeded.", retry_after=wait or 1,
                                        details={"statusCode": 429, "response": answer.json()})
            raise ProviderError(f"The provider answered {answer.status} to {execution.method}.",
                                status_code=answer.status, response=answer.json())
        if answer.status >= 300:
            raise ProviderError(f"The provider answered {answer.status} to {execution.method}.",
                                status_code=answer.status, response=answer.json())
        data = answer.json()
        return data, _check_result(instance.definition, method, data)


def _check_result(definition, method, data):
    errors = schemas.validation_errors(method.get("resultSchema"), data)
    if not errors:
        return []
    if definition.result_check == IntegrationDefinition.ResultCheck.ERROR:
        first = errors[0]
        raise ExecutionFailed(f"The provider's answer does not match {method['name']}'s resultSchema: "
                              f"{first['pointer'] or '/'}: {first['message']}", details={"resultErrors": errors})
    return [{"code": "RESULT_SCHEMA_MISMATCH", **error} for error in errors]


def _provider_wait(answer):
    value = answer.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _may_retry(attempts, at_least=None):
    """Sleep before another attempt if one fits in the time left; False when none does."""
    if attempts.count >= MAX_ATTEMPTS:
        return False
    pause = backoff.delay(attempts.count, RETRY_BASE, RETRY_CAP, jitter=backoff.EQUAL, at_least=at_least or 0)
    if at_least is not None and at_least > RETRY_CAP:
        pause = at_least
    if pause >= attempts.left - 0.05:
        return False
    time.sleep(pause)
    return True


def _timeout(execution):
    return ExecutionFailed(f"{execution.method} did not finish within its timeout.", status=504)


# The admin's test-connection action


def test_connection(principal, instance_id):
    """(ok, message): can the instance authenticate and reach its provider? OAuth2 instances get a valid token
    (refreshed if due); every instance's baseUrl must answer (any status but 401/403, which are refusals)."""
    instance = instances.get(principal, instance_id)
    attempts = _Attempts(time.time() + 10)
    try:
        base = _base_url(instance)
        headers, query = {}, []
        _authenticate(instance, headers, query, attempts)
        answer = client.request("GET", base, headers=headers, timeout=attempts.left)
    except IntegrationFailure as failure:
        return False, failure.message
    except (HTTPError, OSError, NetworkPolicyError) as exc:
        return False, f"The provider could not be reached ({type(exc).__name__})."
    if answer.status in (401, 403):
        return False, f"The provider refused the credentials ({answer.status})."
    return True, f"The provider answered {answer.status}."
