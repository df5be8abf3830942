from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.access import client_for_user_or_404
from accounts.permissions import IsClient, IsClinician
from records.exports import export_client_own, export_client_record
from records.serializers import ClientExportSerializer, OwnExportSerializer


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
