"""Our own "page not found" during development.

With DEBUG on, Django answers a 404 with its technical page, which lists every URL of
the site: the run command (bin/run) runs with DEBUG on, so a newcomer who mistypes an
address would see that instead of the product. This middleware, installed only when
DEBUG is on and DEBUG_URL_LIST is off (clinic/settings.py), serves templates/404.html.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.views.defaults import page_not_found


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


class NotFoundPageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        # An address Django would redirect to its slashed form is left to CommonMiddleware.
        slashed = settings.APPEND_SLASH and not path.endswith("/") and _resolves(path + "/")
        if not slashed and not _resolves(path) and not path.startswith(settings.STATIC_URL):
            return page_not_found(request, Http404())
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A view's own 404 (an object that is not there, or not the caller's); the API
        # answers JSON through its exception handler before this is reached.
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
