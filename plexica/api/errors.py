"""The error dialects of the API surfaces and the handlers that speak them.

- Plugin gateway (`/api/plugin-gateway/`): `{"error": "<title>", "message": "..."}` plus extra fields.
- Everything else under `/api/`: `{"error": {"code", "message", "details", "requestId"}}`.
No API path ever answers with an HTML error page.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from plexica.errors import DomainError, PayloadTooLarge

logger = logging.getLogger("plexica.api")

GATEWAY_PREFIX = "/api/plugin-gateway/"
API_PREFIX = "/api/"
EXTENSIONS_PREFIX = "/ext/"  # the extensions seed's status, health and observability routes
INTEGRATIONS_PREFIX = "/api/v1/integrations/"
INTEGRATION_CODES = {"rate_limited": "RATE_LIMIT_EXCEEDED"}


class TenantHeaderRequired(exceptions.APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_detail = "X-Tenant-Slug header required"
    default_code = "tenant_header_required"


class RateLimited(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Rate limit exceeded."
    default_code = "rate_limited"

    def __init__(self, detail=None, retry_after=1):
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))


# Titles of the gateway dialect, per status code.
_GATEWAY_TITLES = {
    400: "Invalid request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

_CODES = {
    400: "invalid_request",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


def is_gateway_path(path):
    return path.startswith(GATEWAY_PREFIX)


def is_api_path(path):
    return path.startswith((API_PREFIX, EXTENSIONS_PREFIX))


def error_body(request, status_code, message, *, code=None, details=None, title=None, extra=None):
    """The error body for `request`'s surface."""
    path = getattr(request, "path", "") or ""
    if is_gateway_path(path):
        if code == TenantHeaderRequired.default_code:
            return {"error": TenantHeaderRequired.default_detail}
        body = {"error": title or _GATEWAY_TITLES.get(status_code, "Error")}
        if message and message != body["error"]:
            body["message"] = message
        body.update(extra or {})
        return body
    code = code or _CODES.get(status_code, "error")
    if path.startswith(INTEGRATIONS_PREFIX):  # the integration API's seed speaks upper-case codes
        code = INTEGRATION_CODES.get(code, code.upper())
    return {
        "error": {
            "code": code,
            "message": message or title or _GATEWAY_TITLES.get(status_code, "Error"),
            "details": details if details is not None else {},
            "requestId": getattr(request, "request_id", None),
        }
    }


REQUIRED_MESSAGE = "This field is required."


def _flatten(detail, prefix=""):
    """Yield ("field.path", "message") pairs from a DRF error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF keys the errors of list items by their index
                yield from _flatten(value, f"{prefix}[{key}]")
                continue
            name = key if key != "non_field_errors" else ""
            yield from _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    elif isinstance(detail, list):
        if detail and all(not isinstance(item, (dict, list)) for item in detail):
            yield prefix, " ".join(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                yield from _flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, str(detail)


def validation_message(detail):
    """One sentence naming the first bad field: 'Missing required field: name', 'limit: Must be ...'."""
    for field, message in _flatten(detail):
        if field and message == REQUIRED_MESSAGE:
            return f"Missing required field: {field}"
        return f"{field}: {message}" if field else message
    return "Invalid request."


# DRF's built-in codes, renamed to ours (None: use the status code's default).
_RENAMED_CODES = {
    "not_authenticated": None,
    "authentication_failed": None,
    "permission_denied": None,
    "error": None,
    "invalid": None,
    "parse_error": "invalid_json",
    "throttled": "rate_limited",
}


def _code_of(exc):
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return None


def exception_handler(exc, context):
    """DRF exception handler: every API error in its surface's dialect, never an HTML page."""
    request = context.get("request")
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge("Request body too large.")
    if isinstance(exc, DomainError):
        body = error_body(request, exc.status, exc.message, code=exc.code, details=exc.extra or None,
                          title=exc.title, extra=exc.extra)
        return Response(body, status=exc.status, headers=getattr(exc, "headers", None))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ValidationError(str(exc) or "Invalid request.")

    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled error on %s", getattr(request, "path", "?"), exc_info=exc)
        body = error_body(request, 500, "An unexpected error occurred.")
        return Response(body, status=500)

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    elif getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        message = validation_message(exc.detail)
        details = exc.detail if isinstance(exc.detail, dict) else {"errors": exc.detail}
        body = error_body(request, exc.status_code, message, code="validation_error", details=details)
    else:
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else validation_message(detail)
        code = _code_of(exc)
        code = _RENAMED_CODES.get(code, code)
        extra = getattr(exc, "extra", None)
        body = error_body(request, exc.status_code, message, code=code, extra=extra,
                          title=getattr(exc, "title", None))
    return Response(body, status=exc.status_code, headers=headers)


def _json_or_default(request, status_code, message, default_view, *args, **kwargs):
    if is_api_path(request.path):
        return JsonResponse(error_body(request, status_code, message), status=status_code)
    return default_view(request, *args, **kwargs)


def handler400(request, exception=None):
    return _json_or_default(request, 400, "Bad request.", defaults.bad_request, exception)


def handler403(request, exception=None):
    return _json_or_default(request, 403, "Forbidden.", defaults.permission_denied, exception)


def handler404(request, exception=None):
    return _json_or_default(request, 404, f"No endpoint at {request.path}.", defaults.page_not_found, exception)


def handler500(request):
    return _json_or_default(request, 500, "An unexpected error occurred.", defaults.server_error)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the surface's JSON 403 under /api/, Django's page elsewhere (the admin)."""
    if is_api_path(request.path):
        body = error_body(request, 403, f"CSRF verification failed: {reason}", code="csrf_failed")
        return JsonResponse(body, status=403)
    return csrf.csrf_failure(request, reason)


@csrf_exempt  # an unknown path has nothing to protect; its answer is the JSON 404 whatever the method
def api_not_found(request, *args, **kwargs):
    """Catch-all for unknown paths under /api/ (also when DEBUG would show a technical 404 page)."""
    return JsonResponse(error_body(request, 404, f"No endpoint at {request.path}."), status=404)
