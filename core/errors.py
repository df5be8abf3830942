"""Error pages: JSON under /api/ (what an API caller can read), HTML everywhere else.

Django's handlers render the site's HTML templates for every path; an API caller
that meets a 400 from the request machinery or an unexpected 500 should still get
`{"detail": ...}` like every other API error.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
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
    if is_api(request):
        return JsonResponse(
            {"detail": "Something went wrong on our side. Please try again later."}, status=500
        )
    return html_server_error(request)
