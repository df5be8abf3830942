"""Error pages: JSON under /api/ (what an API caller can read), HTML everywhere else.

Django's handlers render the site's HTML templates for every path; an API caller
that meets a 400 from the request machinery or an unexpected 500 should still get
`{"detail": ...}` like every other API error.
"""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.defaults import page_not_found as html_page_not_found
from django.views.defaults import permission_denied as html_permission_denied
from django.views.defaults import server_error as html_server_error


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request_response(request: HttpRequest, message: str) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"detail": message}, status=400)
    template = loader.get_template("400.html")
    return HttpResponse(template.render({"message": message}), status=400)


def _problem(exception: Exception) -> str:
    if isinstance(exception, RequestDataTooBig):
        return f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return "The request has too many fields or files."
    return "The request could not be read."


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's own refusals: a body too large, too many fields, a broken multipart body."""
    if is_api(request):
        return JsonResponse({"detail": _problem(exception)}, status=400)
    return bad_request_response(request, _problem(exception))


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # Called while Django handles the exception, from whichever layer raised it (a view,
    # the session or auth middleware): a database that cannot be reached right now
    # (restarting, failing over) is a 503 to retry, not a bug. Connection health checks
    # (CONN_HEALTH_CHECKS) open a fresh connection on the next request once it is back.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable_response(request)
    if is_api(request):
        return JsonResponse(
            {"detail": "Something went wrong on our side. Please try again later."}, status=500
        )
    return html_server_error(request)


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The database is restarting or unreachable: a quick 503 the caller may retry."""
    if is_api(request):
        response: HttpResponse = JsonResponse(
            {"detail": "The service is briefly unavailable. Please try again in a minute."},
            status=503,
        )
    else:
        response = HttpResponse(loader.get_template("503.html").render({}), status=503)
    response["Retry-After"] = "30"
    return response


@requires_csrf_token
def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path no pattern matches (under /api/ the catch-all route answers most of them, but
    not, say, one with a line break in it)."""
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return html_page_not_found(request, exception)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return html_permission_denied(request, exception)
