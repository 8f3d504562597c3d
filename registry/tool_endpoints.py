"""Endpoints that are tools: what an endpoint's `metadata` says about the tool it exposes, its name, and the
checks a registration passes. No HTTP.

An endpoint whose metadata has an `inputSchema` (a JSON Schema 2020-12 object schema for the tool's arguments)
exposes a tool; the gateway's tool provider (gateway/tools.py) offers it to callers. Its other keys, all optional:

- `toolName`: the endpoint's part of the tool name (`^[A-Za-z0-9_-]{1,64}$`); by default derived from the method
  and path (`GET /contacts/:id` is `get_contacts_id`).
- `outputSchema`: a JSON Schema of the answer's body (offered as the tool's output schema when it is an object
  schema).
- `argumentsIn`: `"body"` or `"query"`, where the arguments that are not path parameters go; by default the JSON
  body for POST, PUT and PATCH and the query for GET and DELETE.

The tool's full name is `<pluginId>.<serviceName>.<toolName>`, at most 128 characters (MCP's limit). A
registration is refused (`registration_problem`) when a tool endpoint's metadata is malformed, its path
parameters are not required properties of its input schema, or two of its tools would share a name.
"""

import re

TOOL_SCHEMA_KEY = "inputSchema"
TOOL_NAME_KEY = "toolName"
OUTPUT_SCHEMA_KEY = "outputSchema"
ARGUMENTS_KEY = "argumentsIn"
ARGUMENT_PLACES = ("body", "query")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

ENDPOINT_TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_ENDPOINT_TOOL_NAME = re.compile(ENDPOINT_TOOL_NAME_PATTERN.removesuffix("$") + r"\Z")
MAX_TOOL_NAME = 128  # MCP's limit on a tool's name
_NOT_NAME = re.compile(r"[^A-Za-z0-9-]+")


def declares_tool(endpoint):
    """An endpoint whose metadata declares an `inputSchema` (an MCP tool's JSON Schema) exposes a tool."""
    metadata = endpoint.get("metadata") if isinstance(endpoint, dict) else None
    return isinstance(metadata, dict) and TOOL_SCHEMA_KEY in metadata


def path_parameters(path):
    """The names of a path template's `:name` segments, in order (/contacts/:id/notes/:note -> [id, note])."""
    return [segment[1:] for segment in path.split("/") if segment.startswith(":")]


def derived_tool_name(method, path):
    """The endpoint part of a tool name derived from `method path`: GET /contacts/:id -> get_contacts_id."""
    parts = [method.lower()]
    for segment in path.split("/"):
        cleaned = _NOT_NAME.sub("_", segment.removeprefix(":")).strip("_")
        if cleaned:
            parts.append(cleaned)
    return "_".join(parts)


def endpoint_tool_name(endpoint):
    """The endpoint's part of its tool name: `metadata.toolName`, else derived from its method and path."""
    given = (endpoint.get("metadata") or {}).get(TOOL_NAME_KEY)
    return given if isinstance(given, str) and given else derived_tool_name(endpoint["method"], endpoint["path"])


def tool_name(plugin_id, service_name, endpoint):
    """The tool's full name: `<pluginId>.<serviceName>.<endpoint part>`."""
    return f"{plugin_id}.{service_name}.{endpoint_tool_name(endpoint)}"


def arguments_in(endpoint):
    """Where the arguments that are not path parameters go: `metadata.argumentsIn`, else "body" for POST, PUT
    and PATCH and "query" for GET and DELETE."""
    given = (endpoint.get("metadata") or {}).get(ARGUMENTS_KEY)
    if given in ARGUMENT_PLACES:
        return given
    return "body" if endpoint["method"] in BODY_METHODS else "query"


def output_schema(endpoint):
    """`metadata.outputSchema` when it is an object schema (what MCP accepts as a tool's output schema), else None."""
    schema = (endpoint.get("metadata") or {}).get(OUTPUT_SCHEMA_KEY)
    return schema if isinstance(schema, dict) and schema.get("type") == "object" else None


def _schema_problem(schema):
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"/{part}" for part in exc.absolute_path)
        return f"is not a valid JSON Schema (2020-12){f' at {where}' if where else ''}: {exc.message}"
    return None


def endpoint_problem(endpoint):
    """What is wrong with the tool metadata of one endpoint (a sentence starting with its metadata key), or None.

    `toolName` and `argumentsIn` are checked wherever they appear; the schemas only on endpoints that declare a
    tool."""
    metadata = endpoint.get("metadata") or {}
    if TOOL_NAME_KEY in metadata:
        name = metadata[TOOL_NAME_KEY]
        if not isinstance(name, str) or not _ENDPOINT_TOOL_NAME.match(name):
            return (f"metadata.{TOOL_NAME_KEY} must be 1 to 64 letters, digits, '_' or '-' (e.g. get_contact), "
                    f"not {str(name)[:80]!r}.")
    if ARGUMENTS_KEY in metadata and metadata[ARGUMENTS_KEY] not in ARGUMENT_PLACES:
        return f"metadata.{ARGUMENTS_KEY} must be \"body\" or \"query\", not {str(metadata[ARGUMENTS_KEY])[:40]!r}."
    if not declares_tool(endpoint):
        return None
    schema = metadata[TOOL_SCHEMA_KEY]
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return (f'metadata.{TOOL_SCHEMA_KEY} must be a JSON Schema of an object ({{"type": "object", '
                '"properties": {...}}): a tool\'s arguments are a JSON object.')
    problem = _schema_problem(schema)
    if problem:
        return f"metadata.{TOOL_SCHEMA_KEY} {problem}"
    if OUTPUT_SCHEMA_KEY in metadata:
        problem = _schema_problem(metadata[OUTPUT_SCHEMA_KEY])
        if problem:
            return f"metadata.{OUTPUT_SCHEMA_KEY} {problem}"
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    for name in path_parameters(endpoint["path"]):
        if name not in properties or name not in required:
            return (f"metadata.{TOOL_SCHEMA_KEY} must declare the path parameter {name!r} (of {endpoint['path']}) "
                    "as a required property: the tool fills the path from its arguments.")
    return None


def registration_problem(plugin_id, service_name, endpoints):
    """The first thing wrong with the tool endpoints of a registration, as a sentence naming the endpoint
    (`endpoints[2].metadata.toolName ...`), or None."""
    names = {}
    for index, endpoint in enumerate(endpoints):
        problem = endpoint_problem(endpoint)
        if problem:
            return f"endpoints[{index}].{problem}"
        if not declares_tool(endpoint):
            continue
        part = endpoint_tool_name(endpoint)
        full = tool_name(plugin_id, service_name, endpoint)
        if not _ENDPOINT_TOOL_NAME.match(part):
            return (f"endpoints[{index}]: the tool name derived from {endpoint['method']} {endpoint['path']} "
                    f"({part[:80]}) is not 1 to 64 letters, digits, '_' or '-': set metadata.{TOOL_NAME_KEY}.")
        if len(full) > MAX_TOOL_NAME:
            return (f"endpoints[{index}]: the tool name {full[:140]} is {len(full)} characters, over MCP's "
                    f"{MAX_TOOL_NAME}: set a shorter metadata.{TOOL_NAME_KEY}.")
        if part in names:
            return (f"endpoints[{index}]: its tool name {full} is also endpoints[{names[part]}]'s: set "
                    f"metadata.{TOOL_NAME_KEY} on one of them.")
        names[part] = index
    return None
