import json

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from plexica.api.errors import PayloadTooLarge


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
            return json.loads(raw.decode(encoding), parse_constant=_reject_constant)
        except RecursionError:
            raise ParseError("Malformed JSON: nested too deeply.") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")
