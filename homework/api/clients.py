"""A clinician's caseload and progress over HTTP, and a client's own progress.

The figures come from homework.selectors.progress, the same as the dashboard's.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import clients_visible_to
from accounts.models import User
from accounts.permissions import CaseloadReads, IsClient, IsClinician
from audit.services import audit_record_view
from core.api import CallerScopedMixin
from homework.forms.caseload import CaseloadQueryForm
from homework.selectors.practice import notes_for_client
from homework.selectors.progress import (
    CASELOAD_FILTERS,
    CASELOAD_SORTS,
    CaseloadRow,
    caseload_for_clinician,
    caseload_query,
    client_progress,
)
from homework.serializers import (
    CaseloadClientSerializer,
    ClientNoteSerializer,
    NextSessionSerializer,
    ProgressSerializer,
)
from homework.services.clients import next_session_set, note_create

# The list's parameters: the dashboard's form under the API's usual names.
CASELOAD_PARAMETERS = {"search": "q", "status": "status", "ordering": "sort"}
PAGE_PARAMETERS = {"page", "page_size"}


@extend_schema_view(
    list=extend_schema(
        summary="The caller's caseload: searched, filtered and sorted; needing attention first",
        parameters=[
            OpenApiParameter(
                "search",
                str,
                description="Part of a client's name or email (up to 100 characters).",
            ),
            OpenApiParameter(
                "status",
                str,
                enum=list(CASELOAD_FILTERS),
                description="Only clients needing attention, current, deactivated or discharged.",
            ),
            OpenApiParameter(
                "ordering",
                str,
                enum=list(CASELOAD_SORTS),
                description="Sort by a column; a leading '-' reverses it. Missing figures last.",
            ),
        ],
    ),
    retrieve=extend_schema(summary="One client with their adherence figures"),
)
@extend_schema(tags=["clients"])
class ClientViewSet(CallerScopedMixin, viewsets.GenericViewSet):
    """The clients on the caller's caseload, with the dashboard's adherence figures."""

    queryset = User.objects.none()
    visible_to = clients_visible_to
    serializer_class = CaseloadClientSerializer
    permission_classes = [CaseloadReads]

    def refine_queryset(self, queryset: QuerySet[User]) -> QuerySet[User]:
        return queryset.order_by("full_name", "email", "id")

    def list(self, request: Request) -> Response:
        unknown = sorted(set(request.query_params) - set(CASELOAD_PARAMETERS) - PAGE_PARAMETERS)
        if unknown:
            raise ValidationError({name: ["Unknown parameter."] for name in unknown})
        data = {
            form_name: request.query_params[name]
            for name, form_name in CASELOAD_PARAMETERS.items()
            if name in request.query_params
        }
        empty = [
            name
            for name, form_name in CASELOAD_PARAMETERS.items()
            if name in request.query_params and not data[form_name].strip()
        ]
        if empty:
            # As StrictFilterSet: an empty value is a mistake, not "no filter".
            raise ValidationError(
                {name: ["Give a value, or leave this parameter out."] for name in empty}
            )
        query = CaseloadQueryForm(data)
        if not query.is_valid():
            names = {form_name: name for name, form_name in CASELOAD_PARAMETERS.items()}
            raise ValidationError({names[field]: errors for field, errors in query.errors.items()})
        rows = caseload_query(
            caseload_for_clinician(clinician=request.user),
            search=query.cleaned_data["q"],
            status=query.cleaned_data["status"],
            sort=query.cleaned_data["sort"],
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        client = self.get_object()
        audit_record_view(request=request, target=client, client=client)
        return Response(self.get_serializer(self._row_for(client)).data)

    @extend_schema(responses=ProgressSerializer)
    @action(detail=True, methods=["get"], serializer_class=ProgressSerializer)
    def progress(self, request: Request, pk: str) -> Response:
        """Adherence by week, ratings series and change per exercise."""
        client = self.get_object()
        audit_record_view(request=request, target=client, client=client)
        progress = client_progress(client=client)
        return Response(ProgressSerializer(progress).data)

    @extend_schema(
        methods=["GET"],
        summary="The clinician's private notes on this client, newest first",
        responses=ClientNoteSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Add a private note (never shown to the client, in no export)",
        request=ClientNoteSerializer,
        responses={201: ClientNoteSerializer},
    )
    # The clinician's own working notes: not for a supervisor reading the caseload.
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=ClientNoteSerializer,
        permission_classes=[IsClinician],
    )
    def notes(self, request: Request, pk: str) -> Response:
        client = self.get_object()
        if request.method == "POST":
            serializer = ClientNoteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            note = note_create(
                clinician=request.user, client=client, text=serializer.validated_data["text"]
            )
            return Response(ClientNoteSerializer(note).data, status=status.HTTP_201_CREATED)
        audit_record_view(request=request, target=client, client=client)
        page = self.paginate_queryset(notes_for_client(client=client))
        return self.get_paginated_response(ClientNoteSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], summary="The next and last session dates")
    @extend_schema(
        methods=["PUT"],
        summary="Record the next session date (null: none booked)",
        request=NextSessionSerializer,
    )
    @action(
        detail=True,
        methods=["get", "put"],
        url_path="next-session",
        url_name="next-session",
        serializer_class=NextSessionSerializer,
    )
    def next_session(self, request: Request, pk: str) -> Response:
        client = self.get_object()
        profile = client.client_profile
        if request.method == "PUT":
            serializer = NextSessionSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            profile = next_session_set(
                clinician=request.user,
                client=client,
                on=serializer.validated_data["next_session_on"],
            )
        return Response(NextSessionSerializer(profile).data)

    def _row_for(self, client: User) -> CaseloadRow:
        # The caseload's figures are computed together (a fixed handful of queries);
        # one client's row is the same row the list shows.
        rows = caseload_for_clinician(clinician=self.request.user)
        row = next((row for row in rows if row.client.pk == client.pk), None)
        if row is None:  # the caseload and the access rule always agree; never guess
            raise NotFound()
        return row


@extend_schema(tags=["me"])
class OwnProgressView(APIView):
    """The client's own progress, as on the portal's progress page."""

    permission_classes = [IsClient]

    @extend_schema(responses=ProgressSerializer)
    def get(self, request: Request) -> Response:
        return Response(ProgressSerializer(client_progress(client=request.user)).data)
