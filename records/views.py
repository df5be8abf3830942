"""Downloads: a client's own data, a clinician's export of one client, an admin's clinic.

Downloads are POSTs: a link preview or prefetch cannot start one, and the CSRF
token ties it to a page the person saw. Each recorded before the file is sent.
"""

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from accounts.access import (
    caseload_reader_required,
    client_for_user_or_404,
    client_required,
    clinician_required,
)
from audit.services import audit_record_view
from homework.page_cache import Rendered, cached_client_page
from records.exports import ExportFile, export_client_own, export_client_record
from records.models import ExportRecord
from records.reports import (
    PdfLibrariesMissing,
    pdf_available,
    pre_session_report,
    pre_session_report_pdf,
)

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


# --- The pre-session report ---


def _report_context(request: HttpRequest, client_id: int) -> dict:
    client = client_for_user_or_404(request.user, client_id)
    # The report shows the client's logs, scores and reflections: a view of their record.
    audit_record_view(request=request, target=client, client=client)
    return {
        "report": pre_session_report(client=client, reader=request.user),
        "pdf_available": pdf_available(),
    }


# A supervisor reads the report of a client they may see (shared reflections only, as on
# the client page); both views are GET, and the decorator refuses a supervisor's POST.
@caseload_reader_required
def pre_session_report_page(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    audit_record_view(request=request, target=client, client=client)

    def page() -> Rendered:
        report = pre_session_report(client=client, reader=request.user)
        body = render_to_string(
            "records/_pre_session_report_body.html", {"report": report}, request=request
        )
        context = {"client": client, "body": mark_safe(body), "pdf_available": pdf_available()}
        # Safe: rendered from the body's template, where every value was escaped.
        return Rendered(render(request, "records/pre_session_report.html", context))

    # The report is the client's record as of their day: from the page cache
    # (homework.page_cache) until any of it changes.
    return cached_client_page(
        request,
        page="pre_session_report",
        client=client,
        render=page,
        depends_on=[pdf_available()],
    )


@caseload_reader_required
def pre_session_report_download(request: HttpRequest, client_id: int) -> HttpResponse:
    """The same report as a PDF; without Pango, the page and the browser's print instead."""
    context = _report_context(request, client_id)
    if not context["pdf_available"]:
        return redirect("records:pre-session-report", client_id=client_id)
    html = render_to_string("records/pre_session_report_pdf.html", context, request=request)
    try:
        pdf = pre_session_report_pdf(html=html, base_url=str(settings.BASE_DIR / "static"))
    except PdfLibrariesMissing:
        return redirect("records:pre-session-report", client_id=client_id)
    report = context["report"]
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="kindwork-report-{report.client.pk}-{report.end:%Y%m%d}.pdf"'
    )
    response["Cache-Control"] = "no-store"
    return response
