"""Integration definition rules: who sees and changes which definition, what a definition must hold, and its
lifecycle DRAFT -> PUBLISHED -> DEPRECATED -> ARCHIVED. No HTTP: the API and the admin call these.

Who: a definition is the platform's (`organization` None: made and changed by superusers, offered to every
organization once PUBLISHED) or one organization's own (made and changed by its admins). Everyone in an
organization reads its own definitions and the platform's published and deprecated ones; superusers read
them all. Another organization's definition is unknown (404).

What: a DRAFT changes freely; a PUBLISHED one is immutable (a change is a new version); `(name, version)` is
unique per owner; a definition with instances cannot be deleted. Every broken rule raises ValidationFailed
(with JSON pointers into the body), Conflict or Forbidden, and changes nothing.
"""

import re
from urllib.parse import urlsplit

import semver
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connectors.integrations import schemas, templating
from connectors.integrations.errors import ValidationFailed
from connectors.integrations.models import AuthType, IntegrationDefinition
from plexica.access.services import require_org_admin
from plexica.errors import Conflict, Forbidden, NotFound
from plexica.events.log import emit

Status = IntegrationDefinition.Status
METHOD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
TYPE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_METHODS = 200
MAX_TIMEOUT_MS = 300_000
DEFAULT_TIMEOUT_MS = 10_000
GRANTS = ("authorization_code", "client_credentials")
TRANSITIONS = {
    Status.PUBLISHED: (Status.DRAFT,),
    Status.DEPRECATED: (Status.PUBLISHED,),
    Status.ARCHIVED: (Status.PUBLISHED, Status.DEPRECATED),
}
EDITABLE = ("name", "description", "version", "type", "auth_type", "methods", "config_schema", "default_config",
            "oauth2_config", "api_key_config", "result_check", "oauth_client_id", "oauth_client_secret")


# Who


def _is_superuser(principal):
    return principal.is_superuser or principal.is_system and principal.organization is None


def visible(principal):
    """The definitions the caller may read (a queryset)."""
    if principal.is_superuser:
        return IntegrationDefinition.objects.filter(Q(organization__isnull=True) | Q(organization=principal.organization))
    offered = Q(organization__isnull=True, status__in=(Status.PUBLISHED, Status.DEPRECATED))
    return IntegrationDefinition.objects.filter(offered | Q(organization=principal.organization))


def get(principal, definition_id):
    definition = visible(principal).filter(pk=definition_id).first()
    if definition is None:
        raise NotFound(f"No integration definition {definition_id}.", title="Integration definition not found")
    return definition


def require_owner(principal, definition, doing="Changing an integration definition"):
    """Platform definitions are the superusers'; an organization's are its admins'."""
    if definition.is_platform:
        if not principal.is_superuser:
            raise Forbidden(f"{doing} of the platform's needs a superuser.", code="org_capability_required",
                            capability="superuser")
    else:
        require_org_admin(principal, doing)


# What a definition holds


def _problem(pointer, message):
    return {"pointer": pointer, "message": message}


def _check_url(value, where, problems):
    if not isinstance(value, str) or not value:
        problems.append(_problem(where, "A URL is required."))
        return
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        problems.append(_problem(where, "Must be an absolute http:// or https:// URL."))
        return
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c <= " " for c in value):
        problems.append(_problem(where, "Must be an absolute http:// or https:// URL."))


def _check_schema(schema, where, problems):
    for error in schemas.schema_errors(schema):
        problems.append(_problem(where + error["pointer"], error["message"]))


def _check_positive(value, where, problems, maximum):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        problems.append(_problem(where, f"Must be a whole number from 1 to {maximum}."))
        return False
    return True


def _clean_request(request, where, declared, problems):
    if not isinstance(request, dict):
        problems.append(_problem(where, "A request is an object: {method, path, query, headers, body}."))
        return None
    unknown = set(request) - {"method", "path", "query", "headers", "body"}
    for key in sorted(unknown):
        problems.append(_problem(f"{where}/{key}", "Unknown request field (method, path, query, headers, body)."))
    method = request.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in templating.HTTP_METHODS:
        problems.append(_problem(f"{where}/method", f"Must be one of {', '.join(templating.HTTP_METHODS)}."))
        method = "GET"
    path = request.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/") or any(c <= " " for c in path):
        problems.append(_problem(f"{where}/path", "A path starts with '/' and holds no spaces or control characters "
                                                  "(it is relative to the instance's baseUrl)."))
    for part in ("query", "headers"):
        value = request.get(part, {})
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            problems.append(_problem(f"{where}/{part}", "An object of strings."))
        elif part == "headers":
            for name, text in value.items():
                if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or any(c < " " for c in text):
                    problems.append(_problem(f"{where}/headers/{name}", "Not a valid header name and value."))
    used = templating.placeholders({k: v for k, v in request.items() if k != "method"})
    if declared is not None:
        for name in sorted(used - declared):
            problems.append(_problem(where, f"The placeholder {{{name}}} names no property of paramSchema."))
    return {**request, "method": method.upper()}


def clean_methods(methods, problems, where="/methods"):
    if not isinstance(methods, list):
        problems.append(_problem(where, "A list of methods."))
        return []
    if len(methods) > MAX_METHODS:
        problems.append(_problem(where, f"At most {MAX_METHODS} methods."))
    cleaned, seen = [], set()
    for index, method in enumerate(methods):
        at = f"{where}/{index}"
        if not isinstance(method, dict):
            problems.append(_problem(at, "A method is an object."))
            continue
        known = {"name", "description", "paramSchema", "resultSchema", "rateLimits", "timeoutMs", "request",
                 "idempotent"}
        for key in sorted(set(method) - known):
            problems.append(_problem(f"{at}/{key}", f"Unknown method field ({', '.join(sorted(known))})."))
        name = method.get("name")
        if not isinstance(name, str) or not METHOD_NAME.match(name):
            problems.append(_problem(f"{at}/name", "A name of letters, digits, '_', '.' or '-', starting with a "
                                                   "letter (at most 100)."))
        elif name in seen:
            problems.append(_problem(f"{at}/name", f"Another method is already named {name!r}."))
        seen.add(name)
        description = method.get("description", "")
        if not isinstance(description, str):
            problems.append(_problem(f"{at}/description", "A string."))
        param_schema = method.get("paramSchema", {"type": "object"})
        result_schema = method.get("resultSchema", {})
        _check_schema(param_schema, f"{at}/paramSchema", problems)
        _check_schema(result_schema, f"{at}/resultSchema", problems)
        declared = None
        if isinstance(param_schema, dict) and isinstance(param_schema.get("properties"), dict):
            declared = set(param_schema["properties"])
        elif param_schema is True or (isinstance(param_schema, dict) and "properties" not in param_schema):
            declared = None  # no properties declared: any parameter name goes
        limits = method.get("rateLimits")
        if limits is not None:
            if not isinstance(limits, dict) or set(limits) - {"requestsPerMinute", "burstLimit"}:
                problems.append(_problem(f"{at}/rateLimits", "An object: {requestsPerMinute, burstLimit}."))
                limits = None
            else:
                ok = _check_positive(limits.get("requestsPerMinute"), f"{at}/rateLimits/requestsPerMinute", problems,
                                     1_000_000)
                burst = limits.get("burstLimit", 1)
                ok = _check_positive(burst, f"{at}/rateLimits/burstLimit", problems, 100_000) and ok
                limits = {"requestsPerMinute": limits.get("requestsPerMinute"), "burstLimit": burst} if ok else None
        timeout = method.get("timeoutMs", DEFAULT_TIMEOUT_MS)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 100 <= timeout <= MAX_TIMEOUT_MS:
            problems.append(_problem(f"{at}/timeoutMs", f"Milliseconds, a whole number from 100 to {MAX_TIMEOUT_MS}."))
        request = _clean_request(method.get("request", {"method": "GET", "path": "/"}), f"{at}/request", declared,
                                 problems)
        idempotent = method.get("idempotent")
        if idempotent is None and request is not None:
            idempotent = request["method"] in templating.IDEMPOTENT_METHODS
        elif not isinstance(idempotent, bool):
            problems.append(_problem(f"{at}/idempotent", "true or false."))
        cleaned.append({"name": name, "description": description, "paramSchema": param_schema,
                        "resultSchema": result_schema, "rateLimits": limits, "timeoutMs": timeout,
                        "request": request, "idempotent": idempotent})
    return cleaned


def clean_oauth2_config(config, problems, where="/oauth2Config"):
    if not isinstance(config, dict):
        problems.append(_problem(where, "An object: {authorizationUrl, tokenUrl, scope, grant}."))
        return None
    known = {"authorizationUrl", "tokenUrl", "scope", "grant", "clientId"}
    for key in sorted(set(config) - known):
        problems.append(_problem(f"{where}/{key}", f"Unknown field ({', '.join(sorted(known))})."))
    grant = config.get("grant", "authorization_code")
    if grant not in GRANTS:
        problems.append(_problem(f"{where}/grant", f"Must be one of {', '.join(GRANTS)}."))
    if grant == "authorization_code":
        _check_url(config.get("authorizationUrl"), f"{where}/authorizationUrl", problems)
    _check_url(config.get("tokenUrl"), f"{where}/tokenUrl", problems)
    scope = config.get("scope", "")
    if not isinstance(scope, str):
        problems.append(_problem(f"{where}/scope", "A string (space or comma separated scopes)."))
    return {**config, "grant": grant, "scope": scope}


def clean_api_key_config(config, problems, where="/apiKeyConfig"):
    if config is None:
        return {"in": "header", "name": "Authorization", "prefix": "Bearer "}
    if not isinstance(config, dict) or set(config) - {"in", "name", "prefix"}:
        problems.append(_problem(where, "An object: {in: header|query, name, prefix}."))
        return None
    if config.get("in", "header") not in ("header", "query"):
        problems.append(_problem(f"{where}/in", "Must be header or query."))
    name = config.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
        problems.append(_problem(f"{where}/name", "A header or query parameter name."))
    if not isinstance(config.get("prefix", ""), str):
        problems.append(_problem(f"{where}/prefix", "A string."))
    return {"in": config.get("in", "header"), "name": name, "prefix": config.get("prefix", "")}


def clean(fields):
    """The cleaned definition fields (model field names) or ValidationFailed listing every problem."""
    problems = []
    cleaned = dict(fields)
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        problems.append(_problem("/name", "A name of 1 to 200 characters is required."))
    if not isinstance(fields.get("description", ""), str):
        problems.append(_problem("/description", "A string."))
    version = fields.get("version")
    if not isinstance(version, str) or not semver.Version.is_valid(version):
        problems.append(_problem("/version", "A semantic version such as 1.0.0 is required."))
    if not isinstance(fields.get("type", "http"), str) or not TYPE_NAME.match(fields.get("type", "http")):
        problems.append(_problem("/type", "A lowercase type name such as 'http'."))
    auth_type = fields.get("auth_type", AuthType.NONE)
    if auth_type not in AuthType.values:
        problems.append(_problem("/authType", f"Must be one of {', '.join(AuthType.values)}."))
    cleaned["methods"] = clean_methods(fields.get("methods", []), problems)
    config_schema = fields.get("config_schema", {})
    _check_schema(config_schema, "/configSchema", problems)
    default_config = fields.get("default_config", {})
    if not isinstance(default_config, dict):
        problems.append(_problem("/defaultConfig", "An object."))
    elif "baseUrl" in default_config:
        _check_url(default_config["baseUrl"], "/defaultConfig/baseUrl", problems)
    if auth_type == AuthType.OAUTH2:
        if fields.get("oauth2_config") is None:
            problems.append(_problem("/oauth2Config", "Required when authType is oauth2."))
        else:
            cleaned["oauth2_config"] = clean_oauth2_config(fields["oauth2_config"], problems)
    elif fields.get("oauth2_config") is not None:
        problems.append(_problem("/oauth2Config", "Only for authType oauth2."))
    if auth_type == AuthType.API_KEY:
        cleaned["api_key_config"] = clean_api_key_config(fields.get("api_key_config"), problems)
    elif fields.get("api_key_config") is not None:
        problems.append(_problem("/apiKeyConfig", "Only for authType api_key."))
    if fields.get("result_check", "warn") not in IntegrationDefinition.ResultCheck.values:
        problems.append(_problem("/resultCheck", "Must be warn or error."))
    if problems:
        raise ValidationFailed(f"The definition is invalid: {problems[0]['pointer'] or '/'}: {problems[0]['message']}",
                               problems)
    return cleaned


# Changing


def _duplicate(organization, name, version):
    return Conflict(f"A definition {name!r} version {version} already exists"
                    f"{' on the platform' if organization is None else ' in this organization'}: "
                    "give another version.", code="CONFLICT")


def _save(definition):
    try:
        with transaction.atomic():
            definition.save()
    except IntegrityError:
        raise _duplicate(definition.organization, definition.name, definition.version) from None


def create(principal, *, platform=False, **fields):
    """A new DRAFT definition: the organization's own, or the platform's (`platform=True`, superusers only)."""
    if platform:
        if not principal.is_superuser:
            raise Forbidden("Only a superuser creates the platform's integration definitions.",
                            code="org_capability_required", capability="superuser")
    else:
        require_org_admin(principal, "Creating an integration definition")
    cleaned = clean(fields)
    organization = None if platform else principal.organization
    definition = IntegrationDefinition(organization=organization, created_by=principal.user,
                                       **{k: v for k, v in cleaned.items() if k in EDITABLE})
    with transaction.atomic():
        _save(definition)
        _emit(principal, "integration_definition.created", definition)
    return definition


def update(principal, definition_id, **changes):
    """Change a DRAFT (a PUBLISHED, DEPRECATED or ARCHIVED definition is immutable: 409)."""
    with transaction.atomic():
        definition = visible(principal).select_for_update().filter(pk=definition_id).first()
        if definition is None:
            raise NotFound(f"No integration definition {definition_id}.", title="Integration definition not found")
        require_owner(principal, definition)
        if definition.status != Status.DRAFT:
            raise Conflict(f"The definition is {definition.status}: a published definition is immutable; create a "
                           "new version instead.", code="CONFLICT", status=definition.status)
        current = {name: getattr(definition, name) for name in EDITABLE if name != "oauth_client_secret"}
        cleaned = clean({**current, **changes})
        for name in EDITABLE:
            if (name in changes or name in ("methods", "oauth2_config", "api_key_config")) and name in cleaned:
                setattr(definition, name, cleaned[name])
        definition.updated_at = timezone.now()
        _save(definition)
        _emit(principal, "integration_definition.updated", definition)
    return definition


def transition(principal, definition_id, to):
    """Move the definition along DRAFT -> PUBLISHED -> DEPRECATED -> ARCHIVED (Conflict otherwise)."""
    with transaction.atomic():
        definition = visible(principal).select_for_update().filter(pk=definition_id).first()
        if definition is None:
            raise NotFound(f"No integration definition {definition_id}.", title="Integration definition not found")
        require_owner(principal, definition, f"Moving an integration definition to {to}")
        if definition.status not in TRANSITIONS[to]:
            allowed = ", ".join(TRANSITIONS[to])
            raise Conflict(f"A {definition.status} definition cannot become {to} (only from {allowed}).",
                           code="INVALID_TRANSITION", status=definition.status)
        now = timezone.now()
        definition.status, definition.updated_at = to, now
        if to == Status.PUBLISHED:
            definition.published_at = now
        definition.save(update_fields=["status", "updated_at", "published_at"])
        _emit(principal, f"integration_definition.{to.lower()}", definition)
    return definition


def delete(principal, definition_id):
    """Delete a definition no instance uses (Conflict naming the instances otherwise)."""
    with transaction.atomic():
        definition = get(principal, definition_id)
        require_owner(principal, definition, "Deleting an integration definition")
        instances = definition.instances.all()
        total = instances.count()
        if total:
            own_org = principal.organization.pk if principal.organization else None
            mine = list(instances.filter(organization_id=own_org).order_by("pk").values_list("pk", "name")[:20])
            others = total - instances.filter(organization_id=own_org).count()
            parts = [", ".join(f"{pk} ({name})" for pk, name in mine)] if mine else []
            if others:
                parts.append(f"{others} instance{'s' if others != 1 else ''} in other organizations")
            raise Conflict(f"The definition is in use by {' and '.join(parts)}: delete or move those instances first.",
                           code="DEFINITION_IN_USE", instances=[pk for pk, _ in mine])
        _emit(principal, "integration_definition.deleted", definition)
        definition.delete()


def _emit(principal, type, definition):
    if definition.is_platform:
        return  # the event log is per organization; the platform's definitions belong to none
    emit(principal, type, subject=("integration_definition", definition.pk),
         data={"name": definition.name, "version": definition.version, "status": definition.status})
