"""Tools: what a caller may use on the platform, as named operations with JSON Schemas (the MCP server's
tools, and the extensions seed's `/ext/mcp_http/tools`). No HTTP.

Apps contribute tools from their `AppConfig.ready()` with `register_provider(fn)`: `fn(principal)` yields the
`Tool`s that caller may use right now (integration methods of connected instances, plugin endpoints with an
input schema, the platform's own). A tool's `run(principal, arguments)` goes through the same services as the
HTTP APIs, so the rules, audit records and events are the same for every caller.

`list_tools(principal)` is every provider's tools in name order; `call_tool(principal, name, arguments)`
finds the tool among that caller's tools (a tool the caller may not use is as unknown as one that does not
exist), checks `arguments` against its input schema (JSON Schema 2020-12), and runs it. A DomainError the
tool raises is the tool's error result (`ToolResult.error`), as MCP reports tool failures; an unknown tool or
arguments that do not validate raise (UnknownTool, InvalidArguments): the caller's mistake, not the tool's.
"""

import contextvars
import json
import re
from datetime import UTC
from collections.abc import Callable
from dataclasses import dataclass, field

from plexica.errors import DomainError, Invalid, NotFound

# MCP's tool-name rule (2025-11-25): 1 to 128 of letters, digits, `_`, `-` and `.`.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
EMPTY_OBJECT_SCHEMA = {"type": "object", "properties": {}, "additionalProperties": False}
# Ends a schema `pattern` that is anchored with `$`: jsonschema runs Python regexes, whose `$` also matches
# before a trailing newline ("abc\n" would pass `^abc$`).
END = r"(?!\n)"


def timestamp(moment):
    """A datetime as the HTTP API writes it (ISO 8601, UTC, a Z), or None."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_schema: dict
    run: Callable  # (principal, arguments) -> the result's data (JSON-serializable)
    output_schema: dict | None = None
    title: str | None = None
    source: str = "platform"  # "integration", "plugin" or "platform"
    read_only: bool = False  # MCP's readOnlyHint
    idempotent: bool = False  # MCP's idempotentHint
    open_world: bool = False  # MCP's openWorldHint: it reaches a third party
    meta: dict = field(default_factory=dict)  # what the tool is, for people: {"instanceId": ...}
    scopes: tuple = ()  # a key needs one of them (its HTTP operation's scopes); () : any key of the org


@dataclass(frozen=True)
class ToolResult:
    data: object = None
    error: dict | None = None  # {"code", "status", "message", "details"} when the tool failed

    @property
    def is_error(self):
        return self.error is not None

    def text(self):
        """The result as the text content MCP clients show: the JSON of the data (or of the error)."""
        return json.dumps(self.error if self.is_error else self.data, ensure_ascii=False, sort_keys=True,
                          default=str)


class UnknownTool(NotFound):
    def __init__(self, name):
        super().__init__(f"No tool {name!r} for this caller: `tools/list` names the tools it may call.",
                         title="Tool not found", code="tool_not_found", tool=name)


class InvalidArguments(Invalid):
    def __init__(self, name, problems):
        first = problems[0]
        super().__init__(f"{name}: arguments{first['pointer']}: {first['message']}", code="invalid_arguments",
                         tool=name, errors=problems)
        self.problems = problems


class ToolBroken(DomainError):
    status, title, code = 502, "Tool unusable", "tool_unusable"


_PROVIDERS = []
# Within one request (request_scope()), a caller's list is built once: the MCP SDK lists the tools to check a
# call's headers, then the call finds its tool among them.
_listed = contextvars.ContextVar("plexica_tools_listed", default=None)


def register_provider(provider):
    """`provider(principal)` yields the Tools that principal may use; registered once per function."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)
    return provider


def providers():
    return list(_PROVIDERS)


def slug(value, fallback):
    """A name part for tool names: letters, digits, `_` and `-` (other runs become `-`), lower case."""
    cleaned = _UNSAFE.sub("-", str(value)).strip("-").lower()
    return cleaned[:60] or fallback


class request_scope:
    """`with request_scope():` (or `begin()` / `end(token)` around async work): list_tools() builds each
    caller's list once inside it. The list is the request's: nothing outlives it."""

    def __enter__(self):
        self.token = begin()
        return self

    def __exit__(self, *exc):
        end(self.token)


def begin():
    return _listed.set({})


def end(token):
    _listed.reset(token)


def _caller_key(principal):
    return (principal.organization.pk, getattr(principal.api_key, "pk", None),
            getattr(principal.membership, "pk", None), getattr(principal.user, "pk", None),
            principal.is_superuser, principal.is_system)


def list_tools(principal):
    """Every tool `principal` may use, in name order (a name two providers claim: the first provider's)."""
    cache = _listed.get()
    if cache is not None:
        key = _caller_key(principal)
        if key not in cache:
            cache[key] = _build(principal)
        return cache[key]
    return _build(principal)


def _build(principal):
    seen = {}
    for provider in _PROVIDERS:
        for tool in provider(principal) or ():
            if tool.scopes and not principal.has_scope(*tool.scopes):
                continue  # the key may not do what the tool does
            if TOOL_NAME.match(tool.name) and tool.name not in seen:
                seen[tool.name] = tool
    return [seen[name] for name in sorted(seen)]


def find_tool(principal, name):
    if not isinstance(name, str) or not TOOL_NAME.match(name):
        raise UnknownTool(name)
    for tool in list_tools(principal):
        if tool.name == name:
            return tool
    raise UnknownTool(name)


def argument_problems(schema, arguments):
    """[{"pointer", "message"}] of `arguments` against a JSON Schema 2020-12 (empty when valid)."""
    from jsonschema import Draft202012Validator

    if not isinstance(arguments, dict):
        return [{"pointer": "", "message": "Arguments are a JSON object."}]
    # No registry: a `$ref` outside the schema is never fetched (unresolvable), as integration schemas are held.
    validator = Draft202012Validator(schema or EMPTY_OBJECT_SCHEMA)
    problems = []
    try:
        errors = sorted(validator.iter_errors(arguments), key=lambda e: [str(part) for part in e.absolute_path])
    except Exception as exc:  # a broken schema (or a $ref it cannot resolve) is the tool's fault, named as such
        raise ToolBroken(f"The tool's input schema cannot be applied: {exc.__class__.__name__}.") from None
    for error in errors:
        pointer = "".join(f"/{part}" for part in error.absolute_path)
        problems.append({"pointer": pointer, "message": error.message})
    return problems[:20]


def error_of(exc):
    """A DomainError as a tool's error: its status, code, message and details."""
    details = dict(getattr(exc, "extra", None) or {})
    return {"code": exc.code or "error", "status": exc.status, "message": exc.message or exc.title,
            **({"details": details} if details else {})}


def call_tool(principal, name, arguments):
    """Run tool `name` for `principal`: a ToolResult (its failure included), or UnknownTool / InvalidArguments."""
    tool = find_tool(principal, name)
    arguments = {} if arguments is None else arguments
    try:
        problems = argument_problems(tool.input_schema, arguments)
    except ToolBroken as exc:
        return ToolResult(error=error_of(exc))
    if problems:
        raise InvalidArguments(name, problems)
    try:
        return ToolResult(data=tool.run(principal, arguments))
    except DomainError as exc:
        return ToolResult(error=error_of(exc))

