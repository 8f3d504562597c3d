import json
import math

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from plexica.errors import PayloadTooLarge


class JSONParser(parsers.JSONParser):
    """JSON bodies only, read with a size cap (DRF otherwise streams past DATA_UPLOAD_MAX_MEMORY_SIZE)."""

    def parse(self, stream, media_type=None, parser_context=None):
        view = (parser_context or {}).get("view")
        limit = getattr(view, "max_body_bytes", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_reject_constant, parse_float=_finite_float)
        except RecursionError:
            raise ParseError("Malformed JSON: nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        if not getattr(view, "accepts_nul_characters", False):
            problem = _unstorable_text(data)
            if problem:
                # PostgreSQL stores neither in text or jsonb; refusing them here keeps that a 400, not a 500.
                raise ParseError(f"The body holds {problem} in a string, which is not accepted.")
        return data


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text):
    """JSON numbers beyond a double (1e999) would become infinity, which no JSON column can store."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _unstorable_text(value):
    """What no database text can hold, if a string (or key) of the parsed JSON has it: a NUL character or a
    lone UTF-16 surrogate (`"\\ud800"` is valid JSON but not valid UTF-8). Iterative, for deep bodies."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a NUL character (\\u0000)"
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return "a lone surrogate (\\ud800-\\udfff)"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
