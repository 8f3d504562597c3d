"""The integration API's errors, with the seed's codes (VALIDATION_ERROR, RATE_LIMIT_EXCEEDED,
INTEGRATION_ERROR, AUTH_ERROR, EXECUTION_ERROR, CIRCUIT_OPEN). Services raise them; the API's error handler
answers `{"error": {"code", "message", "details", "requestId"}}` with the status and headers they carry."""

import math

from plexica.errors import DomainError


class IntegrationFailure(DomainError):
    """A failure with a seed code; `details` is the body's `details` object as it is, `headers` the response's
    extra headers (Retry-After, X-RateLimit-*)."""

    status = 502

    def __init__(self, message, *, code=None, status=None, details=None, headers=None):
        super().__init__(message, code=code or self.code)
        if status is not None:
            self.status = status
        self.extra = details or {}
        self.headers = headers or {}


class ValidationFailed(IntegrationFailure):
    """Input that breaks a schema or a rule: `errors` is a list of {"pointer", "message"} (JSON pointers into
    the input); `field` names the body field they are under."""

    status, code = 400, "VALIDATION_ERROR"

    def __init__(self, message, errors=None, *, field=None):
        details = {}
        if field:
            details["field"] = field
        if errors:
            details["errors"] = errors
        super().__init__(message, details=details)


class RateLimitExceeded(IntegrationFailure):
    status, code = 429, "RATE_LIMIT_EXCEEDED"

    def __init__(self, message, *, retry_after, headers=None, details=None):
        wait = max(1, math.ceil(retry_after))
        super().__init__(message, details={"retryAfter": wait, **(details or {})},
                         headers={**(headers or {}), "Retry-After": str(wait)})


class ProviderError(IntegrationFailure):
    """The provider answered with an error: details {statusCode, response} exactly."""

    status, code = 502, "INTEGRATION_ERROR"

    def __init__(self, message, *, status_code, response):
        super().__init__(message, details={"statusCode": status_code, "response": response})


class AuthFailed(IntegrationFailure):
    status, code = 502, "AUTH_ERROR"


class ExecutionFailed(IntegrationFailure):
    status, code = 502, "EXECUTION_ERROR"


class CircuitOpen(IntegrationFailure):
    status, code = 503, "CIRCUIT_OPEN"

    def __init__(self, message, *, retry_after):
        wait = max(1, math.ceil(retry_after))
        super().__init__(message, details={"retryAfter": wait}, headers={"Retry-After": str(wait)})


class NotConnected(IntegrationFailure):
    """The instance cannot execute in its status (it needs configuration, credentials or reconnecting)."""

    status, code = 409, "INSTANCE_NOT_CONNECTED"
