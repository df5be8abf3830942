"""Assignments over HTTP: clinicians give, change, pause, resume and end homework;
clients read their own."""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import clients_visible_to
from accounts.models import User
from accounts.permissions import ClinicianWrites
from core.api import CallerScopedMixin, StrictFilterSet, scoped_choices
from homework.models import Assignment, AssignmentStatus
from homework.schedule import weekdays_from_mask
from homework.selectors.assignments import assignments_visible_to
from homework.serializers import AssignmentCreateSerializer, AssignmentSerializer
from homework.services import assignments as services


class AssignmentFilter(StrictFilterSet):
    client = django_filters.ModelChoiceFilter(
        queryset=scoped_choices(User, clients_visible_to),
        help_text="A client on the caller's caseload.",
    )
    status = django_filters.ChoiceFilter(choices=AssignmentStatus.choices)

    class Meta:
        model = Assignment
        fields = ["client", "status"]


@extend_schema_view(
    list=extend_schema(summary="Assignments of the caller's clients (a client: their own)"),
    create=extend_schema(summary="Give a client on the caller's caseload an exercise"),
    update=extend_schema(summary="Change the note or schedule"),
    partial_update=extend_schema(summary="Change some of the note or schedule"),
)
@extend_schema(tags=["assignments"])
class AssignmentViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Assignments are never deleted: `end` stops one and keeps its history and logs."""

    queryset = Assignment.objects.none()
    visible_to = assignments_visible_to
    permission_classes = [ClinicianWrites]
    filterset_class = AssignmentFilter

    def get_serializer_class(self) -> type[AssignmentSerializer]:
        return AssignmentCreateSerializer if self.action == "create" else AssignmentSerializer

    def refine_queryset(self, queryset: QuerySet[Assignment]) -> QuerySet[Assignment]:
        return queryset.select_related("exercise").order_by("-created_at", "-id")

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assignment = services.assignment_create(
            clinician=request.user,
            client=data["client"],
            exercise=data["exercise"],
            **_schedule(data),
        )
        return Response(AssignmentSerializer(assignment).data, status=201)

    def perform_update(self, serializer: AssignmentSerializer) -> None:
        assignment = serializer.instance
        current = {
            "note": assignment.note,
            "schedule_kind": assignment.schedule_kind,
            "weekdays": weekdays_from_mask(assignment.weekdays),
            "times_per_week": assignment.times_per_week,
            "start_date": assignment.start_date,
            "end_date": assignment.end_date,
            "reminder_time": assignment.reminder_time,
        }
        services.assignment_update(
            assignment=assignment,
            actor=self.request.user,
            **_schedule({**current, **serializer.validated_data}),
        )

    @extend_schema(request=None, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        """Stop reminders and due practice for a while; the plan keeps its dates."""
        assignment = services.assignment_pause(assignment=self.get_object(), actor=request.user)
        return Response(AssignmentSerializer(assignment).data)

    @extend_schema(request=None, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        """Restart a paused plan."""
        assignment = services.assignment_resume(assignment=self.get_object(), actor=request.user)
        return Response(AssignmentSerializer(assignment).data)

    @extend_schema(request=None, responses=AssignmentSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request: Request, pk: str) -> Response:
        """End the plan for good; its history and logs stay."""
        assignment = services.assignment_end(assignment=self.get_object(), actor=request.user)
        return Response(AssignmentSerializer(assignment).data)


def _schedule(data: dict) -> dict:
    return {
        "note": data.get("note", ""),
        "schedule_kind": data["schedule_kind"],
        "weekdays": data.get("weekdays", []),
        "times_per_week": data.get("times_per_week"),
        "start_date": data["start_date"],
        "end_date": data.get("end_date"),
        "reminder_time": data.get("reminder_time"),
    }
