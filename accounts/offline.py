"""Which pages the installed app may keep on a client's phone, and under whose name.

A page is kept only under the cache of the person it was rendered for: the service
worker (homework's app views) reads the key from the header set here. It lives in
accounts because it is about who is signed in, and because the crisis help page (an
accounts page) must open on the phone with no connection too.
"""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

from accounts.models import Role, User

# The header a cacheable portal page carries: the service worker stores a page only
# under the cache of the person it was rendered for.
OFFLINE_KEY_HEADER = "X-Offline-Cache-Key"


def offline_cache_key(user: object) -> str:
    """A client's offline cache name part: stable per person, not their id, not guessable.

    Empty for anyone else: only the client portal is kept for offline use."""
    if not isinstance(user, User) or user.role != Role.CLIENT:
        return ""
    return salted_hmac("homework.offline-cache", str(user.pk), algorithm="sha256").hexdigest()[:24]


def offline_cacheable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Marks a client page the installed app may keep for offline use."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        key = offline_cache_key(request.user)
        if key and request.method == "GET" and response.status_code == 200:
            response[OFFLINE_KEY_HEADER] = key
        return response

    return wrapped
