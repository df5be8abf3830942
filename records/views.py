"""Downloads: a client's own data, a clinician's export of one client, an admin's clinic.

Downloads are POSTs: a link preview or prefetch cannot start one, and the CSRF
token ties it to a page the person saw. Each recorded before the file is sent.
"""

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.access import client_for_user_or_404, client_required, clinician_required
from records.exports import ExportFile, export_client_own, export_client_record
from records.models import ExportRecord

CLIENT_FORMATS = {"zip", "json"}
CLINICIAN_FORMATS = {"zip", "fhir"}


def download(export: ExportFile) -> FileResponse:
    response = FileResponse(
        export.file,
        as_attachment=True,
        filename=export.filename,
        content_type=export.content_type,
    )
    response["Cache-Control"] = "no-store"
    return response


def _bad_format(request: HttpRequest, allowed: set[str]) -> HttpResponse:
    return render(
        request,
        "portal/export_bad_request.html",
        {"allowed": sorted(allowed)},
        status=400,
    )


@client_required
def client_export_page(request: HttpRequest) -> HttpResponse:
    recent = ExportRecord.objects.filter(actor_id=request.user.pk, subject_id=request.user.pk)[:5]
    return render(request, "portal/export.html", {"recent": recent})


@client_required
@require_http_methods(["POST"])
def client_export_download(request: HttpRequest) -> HttpResponse:
    fmt = request.POST.get("format", "")
    if fmt not in CLIENT_FORMATS:
        return _bad_format(request, CLIENT_FORMATS)
    return download(export_client_own(client=request.user, fmt=fmt))


@clinician_required
@require_http_methods(["POST"])
def clinician_export_download(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    fmt = request.POST.get("format", "")
    if fmt not in CLINICIAN_FORMATS:
        return _bad_format(request, CLINICIAN_FORMATS)
    return download(export_client_record(clinician=request.user, client=client, fmt=fmt))
