"""Questionnaires, "what helps" and exports over HTTP.

The same services and selectors as the portal: measures.services and
measures.selectors (schedules, answers, scores), measures.insights (what seems
to help), records.exports
(downloads, each recorded). Clinicians schedule and read; clients answer and
read their own; an object that is not the caller's answers 404.
"""

import django_filters
from django.db.models import F, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import clients_visible_to
from accounts.models import User
from accounts.permissions import CaseloadReads, ClinicianWrites, IsClient, IsClinician
from audit.services import audit_record_view, audit_record_views
from core.api import CallerScopedMixin, StrictFilterSet, scoped_choices
from measures.engine import instruments
from measures.insights import (
    MIN_PRACTICES,
    SMALL_SAMPLE,
    what_helps_across_caseload,
    what_helps_by_client,
    what_helps_by_questionnaire,
    what_helps_for_client,
)
from measures.models import MeasureAssignment, MeasureResponse, RiskFlag
from measures.selectors import (
    measure_assignments_visible_to,
    measure_statuses,
    risk_flags_visible_to,
)
from measures.serializers import (
    CaseloadInsightsSerializer,
    InstrumentSerializer,
    MeasureAnswerSerializer,
    MeasureAssignmentCreateSerializer,
    MeasureAssignmentSerializer,
    MeasureResponseSerializer,
    MeasureStatusSerializer,
    OwnInsightsSerializer,
    RiskFlagSerializer,
)
from measures.services import (
    measure_assignment_create,
    measure_assignment_end,
    measure_response_submit,
    risk_flag_acknowledge,
)

# --- Serializers (answers and scores are dicts built by the selectors) ---


def _instrument_dict(instrument) -> dict:
    return {
        "code": instrument.code,
        "name": instrument.name,
        "version": instrument.version,
        "citation": instrument.citation,
        "copyright": instrument.copyright,
        "instructions": instrument.instructions,
        "scale_min": instrument.scale_min,
        "scale_max": instrument.scale_max,
        "scale_labels": {str(k): v for k, v in instrument.scale_labels.items()},
        "items": [
            {
                "n": item.n,
                "text": item.text,
                "scored": item.scored,
                "optional": item.optional,
                "choices": [
                    {"value": value, "label": label}
                    for value, label in instrument.item_choices(item)
                ],
            }
            for item in instrument.items
        ],
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
    """What seems to help the client: exercises practised 3+ times, before/after change, n;
    and a questionnaire's change in periods with more of a practice beside less."""

    permission_classes = [IsClient]

    @extend_schema(responses=OwnInsightsSerializer)
    def get(self, request: Request) -> Response:
        exercises = what_helps_for_client(client=request.user)
        return Response(
            {
                "min_practices": MIN_PRACTICES,
                "small_sample": SMALL_SAMPLE,
                "exercises": [i.as_dict() for i in exercises],
                "questionnaires": [
                    i.as_dict() for i in what_helps_by_questionnaire(client=request.user)
                ],
            }
        )


@extend_schema(tags=["insights"])
class CaseloadInsightsView(APIView):
    """What seems to help, pooled across the caseload and per client; three queries."""

    permission_classes = [CaseloadReads]

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


__all__ = [
    "CaseloadInsightsView",
    "InstrumentListView",
    "MeasureAssignmentViewSet",
    "MeasureResponseViewSet",
    "OwnInsightsView",
    "OwnMeasuresView",
]


# --- Urgent risk flags (clinicians only) ---


class RiskFlagFilter(StrictFilterSet):
    client = django_filters.ModelChoiceFilter(
        queryset=scoped_choices(User, clients_visible_to),
        help_text="A client on the caller's caseload.",
    )
    open = django_filters.BooleanFilter(
        field_name="acknowledged_at",
        lookup_expr="isnull",
        help_text="true: only flags not yet acknowledged.",
    )

    class Meta:
        model = RiskFlag
        fields = ["client", "open"]


@extend_schema_view(
    list=extend_schema(summary="Urgent flags on the caller's caseload, open first"),
)
@extend_schema(tags=["measures"])
class RiskFlagViewSet(CallerScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    queryset = RiskFlag.objects.none()
    visible_to = risk_flags_visible_to
    serializer_class = RiskFlagSerializer
    permission_classes = [IsClinician]
    filterset_class = RiskFlagFilter
    http_method_names = ["get", "post", "head", "options"]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("response").order_by(
            F("acknowledged_at").desc(nulls_first=True), "-created_at", "-id"
        )

    @extend_schema(
        summary="Acknowledge a flag: seen and acted on (audited)",
        request=None,
        responses=RiskFlagSerializer,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def acknowledge(self, request: Request, pk: str) -> Response:
        flag = risk_flag_acknowledge(clinician=request.user, flag=self.get_object())
        return Response(RiskFlagSerializer(flag).data)
