"""Integration methods as tools (plexica.tools): one per method of each instance the caller may execute now.

Which: the instances of `execution.executable_instances(principal)` (CONNECTED, the definition not ARCHIVED,
and for a member who is no admin, the editor role on the instance), every method of their definition whose
paramSchema can take an object (a method whose paramSchema is false, or of another type, could never be
called: it is left out, and the reason logged once per process).

Names: `<instance label>.<method name>`. The label is `plexica.tools.slug` of the instance's name; where
several instances of the organization slug the same, the oldest keeps the plain slug and each other one adds
its id (`stub-api-iins_...`), so creating an instance never renames another's tools (renaming or deleting the
oldest hands the plain slug to the next). A name longer than MCP's 128 characters uses the instance's id as
the label. Names are the same for every caller: they are computed over all the organization's instances.

What a tool is: input schema = the method's paramSchema (a schema without a `type` gets `type: object`);
output schema = its resultSchema when that is an object schema the platform enforces (the definition's
resultCheck is `error`: in `warn` mode a mismatching result is still answered, and MCP requires structured
results to match a declared output schema); read-only for GET and HEAD requests, idempotent as the
definition says, open-world always; the scopes of the HTTP execute operation (POST: api:write).

Calling one runs `execution.execute` synchronously, as POST .../execute does (the same rules, rate limit,
circuit breaker, execution record and worker), and answers the method's data: the provider's answer, which
is what an assistant acts on (success is implied; a failure is the tool's error, with the seed's code,
status and details, `retryAfter` included).
"""

import logging
from functools import partial

from connectors.integrations import execution
from connectors.integrations.errors import IntegrationFailure
from connectors.integrations.models import IntegrationDefinition, IntegrationInstance
from plexica.tenancy.models import ApiKey
from plexica.tools import TOOL_NAME, Tool, slug

logger = logging.getLogger("plexica.integrations")

# The scopes of POST /api/v1/integrations/instances/{id}/methods/{name}/execute (api/views.py SCOPES["POST"]).
EXECUTE_SCOPES = (ApiKey.Scope.API_WRITE,)
READ_ONLY_METHODS = ("GET", "HEAD")
_REPORTED = set()  # (definition id, method name) of the methods already logged as left out


def instance_labels(organization):
    """{instance id: its tools' name prefix} for every instance of `organization` (see the module docstring)."""
    rows = (IntegrationInstance.objects.filter(organization=organization).order_by("created_at", "pk")
            .values_list("pk", "name"))
    plain, labels, later = set(), {}, []
    for pk, name in rows:
        base = slug(name, pk)
        if base in plain:
            later.append((pk, f"{base}-{pk}"))
        else:
            plain.add(base)
            labels[pk] = base
    for pk, label in later:
        labels[pk] = pk if label in plain else label  # an instance named like this suffixed label: the bare id
    return labels


def input_schema(param_schema):
    """(the tool's input schema, None) for a method's paramSchema, or (None, why the method cannot be a tool)."""
    if param_schema in (None, True) or param_schema == {}:
        return {"type": "object"}, None
    if not isinstance(param_schema, dict):
        return None, "its paramSchema accepts no parameters at all"
    kind = param_schema.get("type")
    if kind == "object":
        return param_schema, None
    if kind is None or isinstance(kind, list) and "object" in kind:
        # Parameters are an object anyway (execute refuses anything else): narrowing to it changes nothing.
        return {**param_schema, "type": "object"}, None
    return None, f"its paramSchema is of type {kind!r}, and parameters are always an object"


def output_schema(definition, method):
    """The method's resultSchema where the platform guarantees results match it (resultCheck error), else None."""
    result = method.get("resultSchema")
    if definition.result_check != IntegrationDefinition.ResultCheck.ERROR or not isinstance(result, dict):
        return None
    return result if result.get("type") == "object" else None


def describe(instance, method):
    """What the tool does, for an assistant: the method's description, then which instance and provider."""
    definition = instance.definition
    text = (method.get("description") or definition.description or f"The {method['name']} method").strip()
    parts = [f"{text.rstrip('.')}.",
             f"Method {method['name']} of the integration instance \"{instance.name}\" ({instance.pk}), "
             f"provider {definition.name} {definition.version}."]
    limits = method.get("rateLimits")
    if limits:
        parts.append(f"Rate limit: {limits['requestsPerMinute']} calls per minute, bursts of "
                     f"{limits.get('burstLimit') or 1}.")
    parts.append(f"Times out after {method['timeoutMs'] / 1000:g} s.")
    return " ".join(parts)


def method_tool(instance, method, label):
    """The Tool of one method of `instance` (None when the method cannot be one: see `input_schema`)."""
    schema, problem = input_schema(method.get("paramSchema"))
    name = method["name"]
    if schema is None:
        key = (instance.definition_id, name)
        if key not in _REPORTED:
            _REPORTED.add(key)
            logger.info("Integration method %s of %s is not offered as a tool: %s.", name, instance.definition,
                        problem)
        return None
    tool_name = f"{label}.{name}"
    if not TOOL_NAME.match(tool_name):
        tool_name = f"{instance.pk}.{name}"  # at most 27 + 1 + 100 characters
    request = method.get("request") or {}
    return Tool(
        name=tool_name, title=f"{instance.name}: {name}", description=describe(instance, method),
        input_schema=schema, output_schema=output_schema(instance.definition, method),
        run=partial(run, instance.pk, name), source="integration",
        read_only=request.get("method", "GET") in READ_ONLY_METHODS, idempotent=bool(method.get("idempotent")),
        open_world=True, scopes=EXECUTE_SCOPES,
        meta={"instanceId": instance.pk, "method": name, "definition": instance.definition_id},
    )


def integration_tools(principal):
    """The tools of every method `principal` may execute now (two queries, however many instances)."""
    executable = list(execution.executable_instances(principal))
    if not executable:
        return []
    labels = instance_labels(principal.organization)
    tools = []
    for instance in executable:
        for method in instance.definition.methods or ():
            tool = method_tool(instance, method, labels[instance.pk])
            if tool is not None:
                tools.append(tool)
    return tools


def run(instance_id, method_name, principal, arguments):
    """Execute the method synchronously (execution.execute) and answer its data; failures raise (tool errors)."""
    try:
        done, _headers = execution.execute(principal, instance_id, method_name, arguments)
    except IntegrationFailure as failure:
        wait = failure.headers.get("Retry-After")
        if wait and "retryAfter" not in failure.extra:
            failure.extra = {**failure.extra, "retryAfter": int(wait)}
        raise
    return (done.result or {}).get("data")
