"""The API's JSON parser: bodies bounded in size and depth before they are decoded.

Its own module, not core/api.py: DRF reads DEFAULT_PARSER_CLASSES while rest_framework.views
is imported, which core/api.py itself imports.
"""

import codecs
import json
import re
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, parsers

MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_NOT_BRACKET = re.compile(rb"[^\[\]{}]")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (strings are skipped)."""
    brackets = _JSON_NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BoundedJSONParser(parsers.JSONParser):
    """JSON bodies up to DATA_UPLOAD_MAX_MEMORY_SIZE bytes and MAX_JSON_DEPTH levels.

    The standard parser reads a body of any size and lets Python's decoder recurse
    until it raises RecursionError (a 500). Both limits are checked on the bytes
    first, so any body answers a 400 that names the problem.
    """

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(body) > limit:
            raise exceptions.ParseError(f"The request body is larger than {limit} bytes.")
        if json_depth(body) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(body, encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise exceptions.ParseError("The request body is not valid UTF-8 text.") from error
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise exceptions.ParseError("The request body is not valid JSON.") from error


def _refuse_constant(name: str) -> None:
    # NaN and Infinity are not JSON, whatever Python's decoder accepts.
    raise ValueError(f"{name} is not valid JSON")
