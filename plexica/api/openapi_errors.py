"""The error answers of every operation in the OpenAPI schema, in each surface's dialect.

Each operation documents the statuses its checks can answer: every tenant operation can be refused
before it runs (400 bad parameter, 401 no tenant or key, 403 no access, 429 rate limit), an operation
with path parameters can name something missing (404), one with a body can get it too large or in the
wrong media type (413, 415). A view adds what its own rules answer (409, 412, 502, ...) with
`error_statuses` (a tuple, or a dict from action or HTTP method to a tuple).
"""

from rest_framework import serializers

from plexica.api.errors import INTEGRATION_CODES, INTEGRATIONS_PREFIX, is_gateway_path

# Codes of /api/v1/ errors where the set is closed: a client can switch on them.
CODES_BY_STATUS = {
    401: {
        "tenant_header_required": "No `X-Tenant-Slug` header.",
        "authentication_required": "No `Authorization: Bearer` key (or session), or an unknown, revoked or "
                                   "expired key.",
    },
    403: {
        "tenant_access_denied": "The credential does not belong to the organization named by `X-Tenant-Slug` "
                                "(an unknown slug answers the same).",
        "organization_suspended": "The organization is suspended.",
        "insufficient_scope": "The key lacks the scope the operation needs (the message names it).",
        "org_capability_required": "The caller's standing in the organization does not allow this at all "
                                   "(an org admin is needed, or a plugin key acts for another plugin).",
        "resource_access_denied": "The caller's role on the resource is too weak; `details` carry "
                                  "`requiredRole`, the caller's `role` and the resource.",
        "csrf_failed": "A session request without a valid CSRF token.",
        "capability_required": "The plugin the key acts as lacks the capability the action needs; `details` "
                               "carry `required_capability` and the plugin's `granted_capabilities`.",
    },
    404: {"not_found": "No such resource in this organization (or no such endpoint).",
          "tool_not_found": "No such tool for this caller (`/ext/mcp_http/invoke`), or none of that name in the "
                            "plugin's registrations; `details.tool` names it.",
          "tool_not_exposed": "The plugin's tool is not exposed to members (unexposing it again)."},
    413: {"payload_too_large": "The body is over the size limit."},
    415: {"unsupported_media_type": "The body is not `application/json`."},
    429: {"rate_limited": "Over the organization's or the key's requests per minute; see `Retry-After`."},
}

DESCRIPTIONS = {
    400: "Invalid input: the message names the field or parameter.",
    401: "No tenant header, or no valid credential.",
    403: "Not allowed: the code says what is missing.",
    404: "Not found in this organization.",
    405: "Method not allowed.",
    409: "Conflicts with the current state: the message says with what.",
    412: "`If-Match` does not match the current ETag.",
    413: "Request body too large.",
    415: "Unsupported media type: send `application/json`.",
    429: "Rate limited: retry after `Retry-After` seconds.",
    502: "The upstream service is unreachable or answered too much.",
    503: "Unavailable: the target's circuit breaker is open, or the service is not available.",
    504: "The upstream service did not answer in time.",
}


# What a stateful resource's changes answer besides the common refusals: a state conflict (archived,
# deleted, already there) on every change, and a referenced id that is not there on a create.
STATE_CONFLICTS = {"POST": (404, 409), "PUT": (409,), "PATCH": (409,), "DELETE": (409,)}


def _api_error(status=None, *, integrations=False):
    """The `/api/v1/` error body; with a status whose codes are a closed set, its code is that enum. The
    integration API's seed spells the same codes in upper case (`rate_limited` is `RATE_LIMIT_EXCEEDED`)."""
    codes = CODES_BY_STATUS.get(status)
    if codes and integrations:
        codes = {INTEGRATION_CODES.get(code, code.upper()): text for code, text in codes.items()}
    if codes:
        description = "One of: " + "; ".join(f"`{code}`: {text}" for code, text in codes.items())
        code_field = serializers.ChoiceField(choices=list(codes), help_text=description)
    elif integrations:
        code_field = serializers.CharField(help_text=(
            "The seed's codes: `VALIDATION_ERROR`, `INTEGRATION_ERROR` (details `statusCode`, `response`), "
            "`AUTH_ERROR`, `EXECUTION_ERROR`, `CIRCUIT_OPEN`, `INSTANCE_NOT_CONNECTED`, `CONFLICT`, ..."))
    else:
        code_field = serializers.CharField(help_text="A stable machine-readable code, e.g. `validation_error`.")
    prefix = "Integration" if integrations else ""
    suffix = status if codes else ""
    error_object = type(f"{prefix}ErrorObject{suffix}", (serializers.Serializer,), {
        "code": code_field,
        "message": serializers.CharField(help_text="One sentence for a person, naming the field when there is one."),
        "details": serializers.DictField(help_text="Structured context: field errors, ids, roles."),
        "requestId": serializers.CharField(allow_null=True, help_text="The request's `X-Request-ID`."),
        "__module__": __name__,
    })
    return type(f"{prefix}Error{suffix}", (serializers.Serializer,), {"error": error_object(), "__module__": __name__})


class GatewayError(serializers.Serializer):
    """The plugin gateway's dialect: `{"error": "<title>", "message": "..."}` plus context fields."""

    error = serializers.CharField()
    message = serializers.CharField(required=False)
    required_capability = serializers.CharField(
        required=False, help_text="On a 403: the capability the caller's plugin lacks (ROUTES, TOOLS, ...).")
    granted_capabilities = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="On a 403 naming `required_capability`: the capabilities the caller's plugin holds.")
    required_scopes = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="On a 403 for a key's scopes: the scope the call needs (`ext:{pluginId}:routes`).")


API_ERROR = _api_error()
API_ERRORS = {status: _api_error(status) for status in CODES_BY_STATUS}
INTEGRATION_ERROR = _api_error(integrations=True)
INTEGRATION_ERRORS = {status: _api_error(status, integrations=True) for status in CODES_BY_STATUS}


def error_serializer(path, status):
    """The error body schema of `status` answers on the surface of `path`."""
    if is_gateway_path(path):
        return GatewayError
    if path.startswith(INTEGRATIONS_PREFIX):
        return INTEGRATION_ERRORS.get(status, INTEGRATION_ERROR)
    return API_ERRORS.get(status, API_ERROR)


def declared_error_statuses(view, method):
    declared = getattr(view, "error_statuses", ())
    if isinstance(declared, dict):
        action = getattr(view, "action", None)
        declared = tuple(declared.get(action, ())) + tuple(declared.get(method.upper(), ()))
    return set(declared)


def error_statuses(view, method, path, has_body):
    """Every error status an operation can answer."""
    statuses = declared_error_statuses(view, method)
    if getattr(view, "tenant_scoped", False):
        statuses |= {400, 401, 403, 429}
    if "{" in path:
        statuses |= {400, 404}
    if has_body:
        statuses |= {400, 413, 415}
    return statuses
