"""JSON Schema (2020-12) for definitions' parameter, result and config schemas: checking a schema when a
definition is saved, and validating a value against one with every failure as a JSON pointer.

A schema never reaches the network: a `$ref` must point inside the schema (`#...`), and the validators'
registry refuses to retrieve anything, so a remote reference is an error, never a fetch.
"""

import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

MAX_ERRORS = 50


def _refuse_retrieval(uri):
    raise NoSuchResource(ref=uri)


_REGISTRY = Registry(retrieve=_refuse_retrieval)


def pointer(path):
    """The JSON pointer (RFC 6901) of a path of keys and indexes; "" for the whole document."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _remote_refs(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str) and not value.startswith("#"):
                yield pointer((*path, key)), value
            else:
                yield from _remote_refs(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _remote_refs(value, (*path, index))


def schema_errors(schema):
    """Why `schema` is not a usable JSON Schema 2020-12: a list of {"pointer", "message"} (empty when it is)."""
    if not isinstance(schema, (dict, bool)):
        return [{"pointer": "", "message": "A JSON Schema is an object (or true/false)."}]
    errors = [{"pointer": where, "message": f"$ref {ref!r} is not inside this schema: remote references are "
                                            "never fetched (put the definition under $defs and use '#/$defs/...')."}
              for where, ref in _remote_refs(schema)]
    if errors:
        return errors
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [{"pointer": pointer(exc.absolute_path), "message": exc.message}]
    return []


@lru_cache(maxsize=512)
def _validator(schema_text):
    return Draft202012Validator(json.loads(schema_text), registry=_REGISTRY)


def validator(schema):
    """A compiled validator for `schema` (cached by its text, so a definition's schemas compile once)."""
    return _validator(json.dumps(schema, sort_keys=True, separators=(",", ":")))


def validation_errors(schema, value):
    """Where `value` breaks `schema`: up to MAX_ERRORS {"pointer", "message"}, in document order."""
    if schema in (None, {}, True):
        return []
    try:
        found = sorted(validator(schema).iter_errors(value), key=lambda error: list(map(str, error.absolute_path)))
    except Unresolvable as exc:  # a $ref that names nothing inside the schema
        return [{"pointer": "", "message": f"The schema cannot be applied: {exc}"}]
    return [{"pointer": pointer(error.absolute_path), "message": error.message} for error in found[:MAX_ERRORS]]
