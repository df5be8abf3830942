"""A clinic's logo and accent colour, served to its own members.

The accent reaches the page as a small stylesheet rather than an inline style, which the
Content Security Policy forbids. Both answers are private to the clinic's members: a
logo can tell which clinic someone attends.
"""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from accounts.models import Clinic


def _member_clinic(request: HttpRequest) -> Clinic | None:
    user = request.user
    if not user.is_authenticated or user.clinic_id is None:
        return None
    return user.clinic


@require_safe
def clinic_logo(request: HttpRequest, clinic_id: int) -> HttpResponse:
    clinic = _member_clinic(request)
    if clinic is None or clinic.pk != clinic_id or not clinic.logo.name:
        raise Http404("No such logo.")
    try:
        handle = default_storage.open(clinic.logo.name, "rb")
    except FileNotFoundError as error:
        raise Http404("No such logo.") from error
    response = FileResponse(handle, content_type="image/png")
    # The file's name changes with every new logo, so it may be kept a long time.
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_safe
def clinic_brand_css(request: HttpRequest) -> HttpResponse:
    clinic = _member_clinic(request)
    # The colour was checked against a strict #rrggbb pattern when it was saved.
    accent = clinic.accent_colour if clinic is not None else ""
    body = f":root {{ --accent: {accent}; }}\n" if accent else ""
    response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "private, max-age=3600"
    return response
