from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import client_for_user_or_404
from accounts.permissions import IsClient, IsClinician
from audit.services import audit_record_view
from records.exports import export_client_own, export_client_record
from records.reports import (
    PdfLibrariesMissing,
    pdf_available,
    pre_session_report,
    pre_session_report_pdf,
)
from records.serializers import (
    ClientExportSerializer,
    OwnExportSerializer,
    PreSessionReportSerializer,
)


def _file(export) -> FileResponse:
    response = FileResponse(
        export.file, as_attachment=True, filename=export.filename, content_type=export.content_type
    )
    response["Cache-Control"] = "no-store"
    return response


def _file_responses(**media: object) -> dict:
    """The file per format: a zip is bytes, JSON (and FHIR JSON) is an object."""
    return {
        (200, media_type): OpenApiResponse(schema, description="The file, as an attachment.")
        for media_type, schema in media.items()
    }


OWN_FILES = _file_responses(
    **{"application/zip": OpenApiTypes.BINARY, "application/json": OpenApiTypes.OBJECT}
)


CLIENT_FILES = _file_responses(
    **{"application/zip": OpenApiTypes.BINARY, "application/fhir+json": OpenApiTypes.OBJECT}
)


@extend_schema(tags=["exports"])
class OwnExportView(APIView):
    """Download all of the client's own data: zip (JSON and CSV) or JSON."""

    permission_classes = [IsClient]

    @extend_schema(request=OwnExportSerializer, responses=OWN_FILES)
    def post(self, request: Request) -> FileResponse:
        serializer = OwnExportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _file(
            export_client_own(client=request.user, fmt=serializer.validated_data["format"])
        )


@extend_schema(tags=["exports"])
class ClientExportView(APIView):
    """A clinician's export of one client: the record as CSV (zip) or the answers as FHIR."""

    permission_classes = [IsClinician]

    @extend_schema(request=ClientExportSerializer, responses=CLIENT_FILES)
    def post(self, request: Request) -> FileResponse:
        serializer = ClientExportSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        client = client_for_user_or_404(request.user, data["client"].pk)
        return _file(
            export_client_record(clinician=request.user, client=client, fmt=data["format"])
        )


@extend_schema(tags=["clients"])
class ClientReportView(APIView):
    """The pre-session report on one client of the caller's caseload, as figures."""

    permission_classes = [IsClinician]

    @extend_schema(responses=PreSessionReportSerializer)
    def get(self, request: Request, pk: int) -> Response:
        client = client_for_user_or_404(request.user, pk)
        audit_record_view(request=request, target=client, client=client)
        report = pre_session_report(client=client, reader=request.user)
        return Response(PreSessionReportSerializer(report).data)


class PdfUnavailable(APIException):
    status_code = 503
    default_detail = (
        "This server cannot make PDFs (Pango is missing: Debian's libpango-1.0-0 and "
        "libpangoft2-1.0-0). Print the report page from the browser instead."
    )
    default_code = "pdf_unavailable"


@extend_schema(tags=["clients"])
class ClientReportPdfView(APIView):
    """The pre-session report as a PDF, as the page's download gives it."""

    permission_classes = [IsClinician]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The report, as an attachment."
            ),
            503: OpenApiResponse(description="This server cannot make PDFs."),
        }
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        client = client_for_user_or_404(request.user, pk)
        if not pdf_available():
            raise PdfUnavailable()
        audit_record_view(request=request, target=client, client=client)
        report = pre_session_report(client=client, reader=request.user)
        html = render_to_string(
            "records/pre_session_report_pdf.html", {"report": report}, request=request
        )
        try:
            pdf = pre_session_report_pdf(html=html, base_url=str(settings.BASE_DIR / "static"))
        except PdfLibrariesMissing as error:
            raise PdfUnavailable() from error
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="kindwork-report-{client.pk}-{report.end:%Y%m%d}.pdf"'
        )
        response["Cache-Control"] = "no-store"
        return response
