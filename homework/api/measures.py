"""Questionnaires, "what helps" and exports over HTTP (issue 6).

The same services and selectors as the portal: homework.measures (schedules,
answers, scores), homework.insights (what seems to help), homework.exports
(downloads, each recorded). Clinicians schedule and read; clients answer and
read their own; an object that is not the caller's answers 404.
"""

import django_filters
from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import client_for_user_or_404, clients_visible_to
from accounts.models import User
from audit.services import audit_record_view, audit_record_views
from clinic.api import (
    CallerScopedMixin,
    ClinicianWrites,
    IsClient,
    IsClinician,
    ScopedPrimaryKeyRelatedField,
    StrictFilterSet,
    scoped_choices,
)
from homework.exports import export_client_own, export_client_record
from homework.insights import (
    MIN_PRACTICES,
    SMALL_SAMPLE,
    what_helps_across_caseload,
    what_helps_by_client,
    what_helps_for_client,
)
from homework.measures.engine import instruments
from homework.measures.selectors import (
    describe_frequency,
    measure_assignments_visible_to,
    measure_statuses,
    scored,
)
from homework.measures.services import (
    MAX_EVERY_WEEKS,
    measure_assignment_create,
    measure_assignment_end,
    measure_response_submit,
)
from homework.models import MeasureAssignment, MeasureResponse
from homework.serializers import RatingChangeSerializer

# --- Serializers (answers and scores are dicts built by the selectors) ---


class ScoreSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField()
    band = serializers.CharField(allow_null=True)
    less_reliable = serializers.BooleanField()
    higher_is_harder = serializers.BooleanField()


class ScoresSerializer(serializers.Serializer):
    total = ScoreSerializer(
        help_text="The headline: mean of all items after reversal, with its band."
    )
    composites = ScoreSerializer(many=True)
    subscales = ScoreSerializer(many=True, help_text="Less reliable on a short form: secondary.")


class MeasureResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client = serializers.IntegerField(source="client_id")
    instrument = serializers.CharField()
    instrument_version = serializers.CharField()
    answered_at = serializers.DateTimeField()
    local_date = serializers.DateField()
    due_date = serializers.DateField(allow_null=True)
    answers = serializers.DictField(child=serializers.IntegerField())
    scores = ScoresSerializer()
    citation = serializers.CharField()

    def to_representation(self, response: MeasureResponse) -> dict:
        item = scored(response)
        if item is None:  # its instrument file is gone: answers only
            return {
                "id": response.pk,
                "client": response.client_id,
                "instrument": response.instrument,
                "instrument_version": response.instrument_version,
                "answered_at": response.answered_at.isoformat(),
                "local_date": response.local_date.isoformat(),
                "due_date": response.due_date.isoformat() if response.due_date else None,
                "answers": response.answers,
                "scores": None,
                "citation": "",
            }
        return item.as_dict() | {
            "client": response.client_id,
            "citation": item.instrument.citation,
        }


class MeasureAssignmentSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="client_id", read_only=True)
    clinician = serializers.IntegerField(source="clinician_id", read_only=True)
    frequency = serializers.SerializerMethodField()

    class Meta:
        model = MeasureAssignment
        fields = [
            "id",
            "client",
            "clinician",
            "instrument",
            "every_weeks",
            "frequency",
            "start_date",
            "status",
            "created_at",
        ]
        read_only_fields = fields

    def get_frequency(self, measure: MeasureAssignment) -> str:
        return describe_frequency(measure)


class MeasureAssignmentCreateSerializer(serializers.Serializer):
    client = ScopedPrimaryKeyRelatedField(
        visible_to=clients_visible_to, model=User, help_text="A client on your caseload."
    )
    instrument = serializers.CharField(help_text='An instrument code, e.g. "SCS-SF".')
    every_weeks = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_EVERY_WEEKS,
        help_text="Leave out (or null) to ask once.",
    )
    start_date = serializers.DateField(help_text="The first date, in the client's time zone.")


class MeasureAnswerSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Every item by number, e.g. {"1": 3, "2": 5, ...}, each on the scale.',
    )


class MeasureStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    instrument = serializers.CharField()
    instrument_name = serializers.CharField()
    every_weeks = serializers.IntegerField(allow_null=True)
    start_date = serializers.DateField()
    status = serializers.CharField()
    is_due = serializers.BooleanField()
    due_date = serializers.DateField(allow_null=True)
    last_answered = serializers.DateField(allow_null=True)
    next_date = serializers.DateField(allow_null=True)


class InstrumentItemSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    text = serializers.CharField()


class InstrumentSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()
    citation = serializers.CharField()
    instructions = serializers.CharField()
    scale_min = serializers.IntegerField()
    scale_max = serializers.IntegerField()
    scale_labels = serializers.DictField(child=serializers.CharField())
    items = InstrumentItemSerializer(many=True)


class PairChangeSerializer(RatingChangeSerializer):
    logs = serializers.IntegerField(help_text="n: logs with both the before and after rating.")
    small_sample = serializers.BooleanField()
    description = serializers.CharField()


class ExerciseInsightSerializer(serializers.Serializer):
    exercise_id = serializers.IntegerField()
    title = serializers.CharField()
    practices = serializers.IntegerField()
    clients = serializers.IntegerField()
    small_sample = serializers.BooleanField()
    seems_to_help = serializers.BooleanField()
    mean_change = serializers.FloatField(allow_null=True)
    pairs = PairChangeSerializer(many=True)


class ClientInsightsSerializer(serializers.Serializer):
    client = serializers.IntegerField()
    exercises = ExerciseInsightSerializer(many=True)


class CaseloadInsightsSerializer(serializers.Serializer):
    min_practices = serializers.IntegerField()
    small_sample = serializers.IntegerField()
    across_caseload = ExerciseInsightSerializer(many=True)
    clients = ClientInsightsSerializer(many=True)


class OwnInsightsSerializer(serializers.Serializer):
    min_practices = serializers.IntegerField()
    small_sample = serializers.IntegerField()
    exercises = ExerciseInsightSerializer(many=True)


class OwnExportSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["zip", "json"])


class ClientExportSerializer(serializers.Serializer):
    client = ScopedPrimaryKeyRelatedField(
        visible_to=clients_visible_to, model=User, help_text="A client on your caseload."
    )
    format = serializers.ChoiceField(
        choices=["zip", "fhir"],
        help_text="zip: the record as CSV; fhir: questionnaire answers as a FHIR R4 Bundle.",
    )


def _instrument_dict(instrument) -> dict:
    return {
        "code": instrument.code,
        "name": instrument.name,
        "version": instrument.version,
        "citation": instrument.citation,
        "instructions": instrument.instructions,
        "scale_min": instrument.scale_min,
        "scale_max": instrument.scale_max,
        "scale_labels": {str(k): v for k, v in instrument.scale_labels.items()},
        "items": [{"n": item.n, "text": item.text} for item in instrument.items],
    }


# --- Instruments ---


@extend_schema(tags=["measures"])
class InstrumentListView(APIView):
    """The questionnaires this installation offers, with their items and citation."""

    permission_classes = [ClinicianWrites]

    @extend_schema(responses=InstrumentSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([_instrument_dict(i) for i in instruments().values()])


# --- Schedules and answers ---


class MeasureAssignmentFilter(StrictFilterSet):
    client = django_filters.ModelChoiceFilter(
        queryset=scoped_choices(User, clients_visible_to),
        help_text="A client on the caller's caseload.",
    )

    class Meta:
        model = MeasureAssignment
        fields = ["client", "status", "instrument"]


@extend_schema_view(
    list=extend_schema(summary="Questionnaire schedules (a clinician: their clients')"),
    retrieve=extend_schema(summary="One questionnaire schedule"),
    create=extend_schema(
        summary="Schedule a questionnaire for a client, once or every N weeks",
        request=MeasureAssignmentCreateSerializer,
        responses={201: MeasureAssignmentSerializer},
    ),
)
@extend_schema(tags=["measures"])
class MeasureAssignmentViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = MeasureAssignment.objects.none()
    visible_to = measure_assignments_visible_to
    serializer_class = MeasureAssignmentSerializer
    permission_classes = [ClinicianWrites]
    filterset_class = MeasureAssignmentFilter
    http_method_names = ["get", "post", "head", "options"]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("client__client_profile").order_by("-created_at", "-id")

    def create(self, request: Request) -> Response:
        serializer = MeasureAssignmentCreateSerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        measure = measure_assignment_create(
            clinician=request.user,
            client=data["client"],
            instrument=data["instrument"],
            every_weeks=data.get("every_weeks"),
            start_date=data["start_date"],
        )
        return Response(MeasureAssignmentSerializer(measure).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Stop asking (answers given stay)", request=None)
    @action(detail=True, methods=["post"], permission_classes=[IsClinician], filterset_class=None)
    def end(self, request: Request, pk: str) -> Response:
        measure = measure_assignment_end(clinician=request.user, measure=self.get_object())
        return Response(MeasureAssignmentSerializer(measure).data)

    @extend_schema(
        summary="Answer the questionnaire that is open today (the client)",
        request=MeasureAnswerSerializer,
        responses={201: MeasureResponseSerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsClient], filterset_class=None)
    def answer(self, request: Request, pk: str) -> Response:
        measure = self.get_object()
        serializer = MeasureAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        response = measure_response_submit(
            client=request.user, measure=measure, answers=serializer.validated_data["answers"]
        )
        return Response(MeasureResponseSerializer(response).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["measures"])
class OwnMeasuresView(APIView):
    """The client's questionnaires as they stand today: which are due, when the next is."""

    permission_classes = [IsClient]

    @extend_schema(responses=MeasureStatusSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([s.as_dict() for s in measure_statuses(client=request.user)])


class MeasureResponseFilter(StrictFilterSet):
    client = django_filters.ModelChoiceFilter(
        queryset=scoped_choices(User, clients_visible_to),
        help_text="A client on the caller's caseload.",
    )

    class Meta:
        model = MeasureResponse
        fields = ["client", "instrument"]


def measure_responses_visible_to(user: User) -> QuerySet[MeasureResponse]:
    return MeasureResponse.objects.filter(client__in=clients_visible_to(user))


@extend_schema_view(
    list=extend_schema(summary="Answered questionnaires with their scores, newest first"),
    retrieve=extend_schema(summary="One answered questionnaire with its scores"),
)
@extend_schema(tags=["measures"])
class MeasureResponseViewSet(
    CallerScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = MeasureResponse.objects.none()
    visible_to = measure_responses_visible_to
    serializer_class = MeasureResponseSerializer
    permission_classes = [ClinicianWrites]
    filterset_class = MeasureResponseFilter
    http_method_names = ["get", "head", "options"]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.order_by("-answered_at", "-id")

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        # A clinician's read of clients' answers joins the audit trail (one row each).
        shown = response.data.get("results", []) if isinstance(response.data, dict) else []
        audit_record_views(
            request=request, target=MeasureResponse, client_ids=[row["client"] for row in shown]
        )
        return response

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        answered = self.get_object()
        audit_record_view(request=request, target=answered, client=answered.client_id)
        return Response(self.get_serializer(answered).data)


# --- What seems to help ---


@extend_schema(tags=["insights"])
class OwnInsightsView(APIView):
    """What seems to help the client: exercises practised 3+ times, before/after change, n."""

    permission_classes = [IsClient]

    @extend_schema(responses=OwnInsightsSerializer)
    def get(self, request: Request) -> Response:
        exercises = what_helps_for_client(client=request.user)
        return Response(
            {
                "min_practices": MIN_PRACTICES,
                "small_sample": SMALL_SAMPLE,
                "exercises": [i.as_dict() for i in exercises],
            }
        )


@extend_schema(tags=["insights"])
class CaseloadInsightsView(APIView):
    """What seems to help, pooled across the caseload and per client; three queries."""

    permission_classes = [IsClinician]

    @extend_schema(responses=CaseloadInsightsSerializer)
    def get(self, request: Request) -> Response:
        clients = list(clients_visible_to(request.user).order_by("full_name", "email", "id"))
        by_client = what_helps_by_client(clients=clients)
        return Response(
            {
                "min_practices": MIN_PRACTICES,
                "small_sample": SMALL_SAMPLE,
                "across_caseload": [
                    i.as_dict() for i in what_helps_across_caseload(clinician=request.user)
                ],
                "clients": [
                    {"client": c.pk, "exercises": [i.as_dict() for i in by_client.get(c.pk, [])]}
                    for c in clients
                ],
            }
        )


# --- Exports: files, each recorded ---


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


__all__ = [
    "CaseloadInsightsView",
    "ClientExportView",
    "InstrumentListView",
    "MeasureAssignmentViewSet",
    "MeasureResponseViewSet",
    "OwnExportView",
    "OwnInsightsView",
    "OwnMeasuresView",
]
