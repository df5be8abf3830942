"""Request headers the product keeps (in the audit log, in django-axes' records of login
attempts) hold printable text only.

A header can carry any byte a client sends. PostgreSQL refuses a NUL in text, so a
`User-Agent` with one turned every audited page and every login attempt into a server
error; a line break in one would also reach log readers as if it were a new entry. The
characters that are not printable are dropped from these headers before anything reads
them; a header that is already clean (every browser's) is left as it is.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# The headers something downstream stores: audit.services.user_agent_of and django-axes
# (user agent, Accept).
STORED_HEADERS = ("HTTP_USER_AGENT", "HTTP_ACCEPT")


def printable(text: str) -> str:
    return text if text.isprintable() else "".join(filter(str.isprintable, text))


class StoredHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        for name in STORED_HEADERS:
            value = meta.get(name)
            if value is not None and not value.isprintable():
                meta[name] = printable(value)
        return self.get_response(request)
