"""Request bodies a form cannot have sent are refused before any view reads them.

Django reads a POST whose body it cannot decode as an empty form (a JSON body, text
with invalid UTF-8 bytes, a cut-off multipart body): a view would then see "nothing
was filled in", or worse, a form with only optional fields would be saved empty.
Outside the API (which has its own parsers and answers 415 or 400 itself) a body
that is not a form a browser sends is a 400, and nothing is written.
"""

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from core.errors import bad_request_response

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def urlencoded_is_utf8(body: bytes) -> bool:
    """Whether every name and value in a urlencoded body is valid UTF-8 once unquoted."""
    try:
        for pair in body.split(b"&"):
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class FormBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in BODY_METHODS and not request.path.startswith("/api/"):
            problem = self.body_problem(request)
            if problem:
                return bad_request_response(request, problem)
        return self.get_response(request)

    @staticmethod
    def body_problem(request: HttpRequest) -> str | None:
        content_type = request.content_type or ""
        length = request.META.get("CONTENT_LENGTH") or "0"
        has_body = length.strip() not in ("", "0")
        if content_type not in FORM_TYPES:
            # A body sent to a page is always a form; nothing else is read here.
            return "This address accepts only forms sent by a browser." if has_body else None
        if content_type == FORM_TYPES[0]:
            # Reading the body here keeps it for request.POST, which decodes it leniently.
            if not urlencoded_is_utf8(request.body):
                return "The form was not sent as valid UTF-8 text."
            return None
        boundary = request.content_params.get("boundary", "")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        # A form without large files must reach its closing boundary (Django reads a
        # cut-off body as whatever fields it got). Larger uploads are streamed, not checked.
        small = limit is None or _content_length(request) <= limit
        end = f"--{boundary}--".encode("latin-1", "replace")
        if boundary and small and not request.body.rstrip(b"\r\n").endswith(end):
            return "The form was cut off before its end."
        try:
            request.POST  # noqa: B018 (parses the multipart body once, for everyone after)
        except MultiPartParserError:
            return "The form could not be read."
        if (
            not request.POST
            and not request.FILES
            and _content_length(request) > _empty_multipart(request)
        ):
            # Django reads a cut-off or malformed multipart body as no fields at all.
            return "The form could not be read."
        return None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _empty_multipart(request: HttpRequest) -> int:
    """The longest body a multipart form with no fields at all can be: its closing boundary.

    (The body itself is not read here: an upload may be larger than what fits in memory.)
    """
    boundary = request.content_params.get("boundary", "")
    return len(f"--{boundary}--\r\n") + 2
