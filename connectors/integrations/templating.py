"""A method's declarative `request`, filled in with the call's parameters.

    {"method": "POST", "path": "/repos/{owner}/{repo}/issues", "query": {"per_page": "{limit}"},
     "headers": {"Accept": "application/vnd.github+json"}, "body": "{issue}"}

- `{param}` inside a string is replaced by the parameter's text (URL-encoded in the path and the query;
  a number or boolean as JSON writes it);
- a string that is exactly `"{param}"` takes the parameter's JSON value (in the body);
- a query entry whose parameters are missing is dropped; a missing parameter anywhere else is an error.
`{{` and `}}` write literal braces.
"""

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE")


class MissingParameter(KeyError):
    """A placeholder names a parameter the call did not give."""

    def __init__(self, name, where):
        super().__init__(name)
        self.name, self.where = name, where

    def __str__(self):
        return f"{self.where} needs the parameter '{self.name}', which was not given."


@dataclass(frozen=True)
class FilledRequest:
    method: str
    path: str  # with the encoded query string, relative to the instance's baseUrl
    headers: dict
    body: object  # a JSON value, or None for no body


def placeholders(value):
    """The parameter names a template value uses (in strings, lists and objects, keys included)."""
    if isinstance(value, str):
        return {match.group(1) for match in PLACEHOLDER.finditer(value) if match.group(1)}
    if isinstance(value, dict):
        return set().union(*(placeholders(k) | placeholders(v) for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders(item) for item in value)) if value else set()
    return set()


def _text(value):
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def fill_text(template, parameters, where, encode=None):
    def replace(match):
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in parameters:
            raise MissingParameter(name, where)
        text = _text(parameters[name])
        return encode(text) if encode else text

    return PLACEHOLDER.sub(replace, template)


def fill_value(template, parameters, where):
    """A JSON template: `"{param}"` alone takes the value, other strings are filled as text."""
    if isinstance(template, str):
        match = PLACEHOLDER.fullmatch(template)
        if match and match.group(1):
            if match.group(1) not in parameters:
                raise MissingParameter(match.group(1), where)
            return parameters[match.group(1)]
        return fill_text(template, parameters, where)
    if isinstance(template, dict):
        return {fill_text(key, parameters, where): fill_value(value, parameters, where)
                for key, value in template.items()}
    if isinstance(template, list):
        return [fill_value(item, parameters, where) for item in template]
    return template


def fill(request, parameters):
    """The FilledRequest of a method's `request` template for `parameters` (MissingParameter when a path,
    header or body placeholder has no value)."""
    path = fill_text(request.get("path", "/"), parameters, "The path", encode=lambda text: quote(text, safe=""))
    query = []
    for name, template in (request.get("query") or {}).items():
        try:
            query.append(f"{quote(name, safe='')}={fill_text(template, parameters, 'query', encode=_query_encode)}")
        except MissingParameter:
            continue  # an optional parameter left out drops its query entry
    if query:
        path += ("&" if "?" in path else "?") + "&".join(query)
    headers = {name: fill_text(value, parameters, f"The header {name}")
               for name, value in (request.get("headers") or {}).items()}
    body = fill_value(request["body"], parameters, "The body") if "body" in request else None
    return FilledRequest(request.get("method", "GET").upper(), path, headers, body)


def _query_encode(text):
    return quote(text, safe="")
