"""Domain errors: raised by services, answered by the API error handler in each surface's dialect."""


class DomainError(Exception):
    """A broken rule. `title` is the plugin-gateway `error` string; `extra` adds fields to the body."""

    status = 400
    title = "Invalid request"
    code = "invalid_request"

    def __init__(self, message=None, *, title=None, code=None, **extra):
        super().__init__(message or title or self.title)
        self.message = message
        if title:
            self.title = title
        if code:
            self.code = code
        self.extra = extra


class Invalid(DomainError):
    pass


class Forbidden(DomainError):
    status, title, code = 403, "Forbidden", "forbidden"


class NotFound(DomainError):
    status, title, code = 404, "Not found", "not_found"


class Conflict(DomainError):
    status, title, code = 409, "Conflict", "conflict"


class PreconditionFailed(DomainError):
    status, title, code = 412, "Precondition failed", "precondition_failed"


class PayloadTooLarge(DomainError):
    status, title, code = 413, "Payload too large", "payload_too_large"


class BadGateway(DomainError):
    status, title, code = 502, "Bad gateway", "bad_gateway"


class ServiceUnavailable(DomainError):
    status, title, code = 503, "Service unavailable", "service_unavailable"


class GatewayTimeout(DomainError):
    status, title, code = 504, "Gateway timeout", "gateway_timeout"
