"""Per-type parsing of a new version's input: validates it and derives title, description and a digest.

Markdown types (skill, agent, command) carry YAML front matter; mcp is a JSON server definition with
either `command` or `url`; every other type is free text or JSON. Errors are `Invalid` (400) naming the
field and, for YAML and JSON, the line.

Text is parsed with its line endings made LF (browsers submit CRLF, old Mac files use a lone CR), so every
ending parses, refuses and digests alike: a change of line endings alone is not a new version. The raw text
is stored as given.
"""

import hashlib
import json
import re
from dataclasses import dataclass

import yaml

from marketplaces.config_objects.models import ConfigObjectType
from plexica.errors import Invalid, PayloadTooLarge

MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_NESTING = 64  # levels of JSON/YAML nesting; far deeper than any real config, far below Python's stack
MARKDOWN_TYPES = {ConfigObjectType.SKILL, ConfigObjectType.AGENT, ConfigObjectType.COMMAND}
RAW = "input.rawSourceText"
NORMALIZED = "input.normalizedPayloadJson"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)(?:\n)?^---[ \t]*$\n?", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ParsedVersion:
    raw_source_text: str | None
    normalized_payload_json: object
    title: str
    description: str
    sha256: str


def _json_size(value):
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _check_sizes(raw, normalized):
    if raw is None and normalized is None:
        raise Invalid("input: give rawSourceText or normalizedPayloadJson (or both).", field="input")
    if raw is not None and len(raw.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"{RAW}: larger than {MAX_PAYLOAD_BYTES} bytes.", field=RAW)
    if normalized is not None and _json_size(normalized) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"{NORMALIZED}: larger than {MAX_PAYLOAD_BYTES} bytes once serialized.",
                              field=NORMALIZED)


def nesting_depth(value, limit=MAX_NESTING):
    """How deeply `value` nests lists and dicts, counted without recursion and only up to `limit` + 1."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _check_nesting(value, field):
    if nesting_depth(value) > MAX_NESTING:
        raise Invalid(f"{field}: nested deeper than {MAX_NESTING} levels.", field=field)


def _text(value, limit):
    return " ".join(str(value).split())[:limit] if value is not None else ""


def _named(payload):
    """(title, description) from a JSON object's name/title and description keys."""
    if not isinstance(payload, dict):
        return "", ""
    return _text(payload.get("name") or payload.get("title"), 300), _text(payload.get("description"), 10_000)


def with_lf_endings(text):
    """`text` with CRLF and lone CR line endings made LF (what the parsers and the diff expect)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_front_matter(text):
    """(front matter dict, body) of Markdown text, any line endings; Invalid naming the line on bad YAML.

    The body comes back with LF line endings.
    """
    text = with_lf_endings(text)
    match = _FRONT_MATTER.match(text.removeprefix("\ufeff"))  # editors on Windows start files with a BOM
    if match is None:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except RecursionError:
        raise Invalid(f"{RAW}: the YAML front matter is nested deeper than {MAX_NESTING} levels.",
                      field=RAW) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for 1-based lines, +1 for the opening ---
        problem = getattr(exc, "problem", None) or str(exc)
        raise Invalid(f"{RAW}: the YAML front matter is invalid at line {line}: {problem}.",
                      field=RAW, line=line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid(f"{RAW}: the YAML front matter must be a mapping of keys to values (line 2).",
                      field=RAW, line=2)
    _check_nesting(data, f"{RAW} (front matter)")
    return data, text.removeprefix("\ufeff")[match.end():]


def _json_from_text(text):
    try:
        value = json.loads(text)
    except RecursionError:
        raise Invalid(f"{RAW}: JSON nested deeper than {MAX_NESTING} levels.", field=RAW) from None
    except json.JSONDecodeError as exc:
        raise Invalid(f"{RAW}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
                      field=RAW, line=exc.lineno) from None
    _check_nesting(value, RAW)
    return value


def _parse_markdown(type_, raw, normalized):
    if raw is None:
        if not isinstance(normalized, dict):
            raise Invalid(f"{NORMALIZED}: a {type_} without Markdown source must be a JSON object.", field=NORMALIZED)
        return _named(normalized), {"json": normalized}
    front_matter, body = parse_front_matter(raw)
    for key in ("name", "description"):
        if key in front_matter and not isinstance(front_matter[key], (str, int, float)):
            raise Invalid(f"{RAW}: front matter '{key}' must be text.", field=RAW)
    title = _text(front_matter.get("name"), 300)
    if not title:
        heading = _HEADING.search(body)
        title = _text(heading.group(1), 300) if heading else ""
    description = _text(front_matter.get("description"), 10_000)
    # JSON round trip: YAML dates and the like become their text, so the digest is well defined.
    canonical_front_matter = json.loads(json.dumps(front_matter, default=str))
    return (title, description), {"frontMatter": canonical_front_matter, "body": body.strip(), "json": normalized}


def _check_mcp(server, field):
    if not isinstance(server, dict):
        raise Invalid(f"{field}: an MCP server definition must be a JSON object.", field=field)
    has = [key for key in ("command", "url") if key in server]
    if len(has) != 1:
        raise Invalid(f"{field}: an MCP server needs either 'command' (stdio) or 'url' (HTTP), not "
                      f"{'both' if has else 'neither'}.", field=field)
    key = has[0]
    if not isinstance(server[key], str) or not server[key].strip():
        raise Invalid(f"{field}: '{key}' must be a non-empty string.", field=field)
    if key == "url" and not re.match(r"^https?://", server["url"]):
        raise Invalid(f"{field}: 'url' must be an http(s) URL.", field=field)


def _parse_mcp(raw, normalized):
    from_text = _json_from_text(with_lf_endings(raw)) if raw is not None else None  # json counts lines by LF
    if from_text is not None:
        _check_mcp(from_text, RAW)
    if normalized is not None:
        _check_mcp(normalized, NORMALIZED)
    server = normalized if normalized is not None else from_text
    title, description = _named(server)
    return (title or _text(server.get("command") or server.get("url"), 300), description), {
        "server": from_text, "json": normalized}


def _parse_other(raw, normalized):
    title, description = _named(normalized)
    if not title and raw is not None:
        first_line = next((line for line in raw.splitlines() if line.strip()), "")
        title = _text(first_line.lstrip("#").strip(), 300)
    text = with_lf_endings(raw) if raw is not None else None
    return (title, description), {"text": text, "json": normalized}


def parse_version_input(type_, raw_source_text=None, normalized_payload_json=None):
    """Validate a version's payloads for `type_`; the ParsedVersion, or Invalid/PayloadTooLarge."""
    if normalized_payload_json is not None:
        _check_nesting(normalized_payload_json, NORMALIZED)
    _check_sizes(raw_source_text, normalized_payload_json)
    if type_ in MARKDOWN_TYPES:
        (title, description), canonical = _parse_markdown(type_, raw_source_text, normalized_payload_json)
    elif type_ == ConfigObjectType.MCP:
        (title, description), canonical = _parse_mcp(raw_source_text, normalized_payload_json)
    else:
        (title, description), canonical = _parse_other(raw_source_text, normalized_payload_json)
    digest = hashlib.sha256(
        json.dumps({"type": str(type_), "content": canonical}, sort_keys=True, ensure_ascii=False,
                   separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    return ParsedVersion(raw_source_text, normalized_payload_json, title, description, digest)
