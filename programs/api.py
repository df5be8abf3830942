"""Programs, groups, enrolments and one exercise for several clients, over HTTP.

Clinicians only, except that a client reads their own enrolments. Every queryset starts
from the selectors' *_visible_to, so another clinic's program or another clinician's
group answers 404 like a missing one; every write goes through programs.services.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, views, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import clients_visible_to
from accounts.models import User
from accounts.permissions import ClinicianWrites, IsClinician
from core.api import CallerScopedMixin
from homework.models import Exercise
from programs import services
from programs.models import Enrolment, Group, Program, ProgramVersion
from programs.selectors import (
    enrolments_visible_to,
    groups_visible_to,
    programs_visible_to,
)
from programs.serializers import (
    BulkAssignmentResultSerializer,
    BulkAssignmentSerializer,
    EnrolmentCreateSerializer,
    EnrolmentSerializer,
    GroupSerializer,
    ProgramSerializer,
)


def _with_latest_version(queryset: QuerySet[Program]) -> QuerySet[Program]:
    return queryset.prefetch_related(
        Prefetch(
            "versions", queryset=ProgramVersion.objects.order_by("-number"), to_attr="_versions"
        )
    )


def _latest(program: Program) -> Program:
    versions = getattr(program, "_versions", None)
    if versions is None:
        versions = list(program.versions.order_by("-number")[:1])
    program.latest_version = versions[0] if versions else None
    return program


def _week_inputs(weeks: list[dict]) -> list[services.WeekInput]:
    return [
        services.WeekInput(
            theme=w["theme"],
            intro=w["intro"],
            rationale=w["rationale"],
            instrument=w["instrument"],
            from_what_helps=w["from_what_helps"],
            items=[
                services.ItemInput(
                    exercise_id=i["exercise"],
                    schedule_kind=i["schedule_kind"],
                    weekdays=i["weekdays"],
                    times_per_week=i["times_per_week"],
                )
                for i in w["items"]
            ],
        )
        for w in weeks
    ]


@extend_schema_view(
    list=extend_schema(summary="Built-in programs and the caller's clinic's own"),
    retrieve=extend_schema(summary="A program with its weeks (its newest version)"),
    create=extend_schema(summary="Build a program for the caller's clinic"),
    update=extend_schema(
        summary="Change the clinic's program; enrolled clients keep their version"
    ),
)
@extend_schema(tags=["programs"])
class ProgramViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Program.objects.none()
    visible_to = programs_visible_to
    permission_classes = [IsClinician]
    serializer_class = ProgramSerializer
    http_method_names = ["get", "post", "put", "head", "options"]

    def refine_queryset(self, queryset: QuerySet[Program]) -> QuerySet[Program]:
        return _with_latest_version(queryset).order_by("clinic_id", "title", "id")

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        items = [_latest(p) for p in (page if page is not None else self.get_queryset())]
        data = ProgramSerializer(items, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(ProgramSerializer(_latest(self.get_object())).data)

    def _save(self, request: Request, program: Program | None) -> Program:
        serializer = ProgramSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return services.program_save(
            clinician=request.user,
            program=program,
            title=data["title"],
            summary=data.get("summary", ""),
            delivery=data["delivery"],
            practices_to_advance=data["practices_to_advance"],
            weeks=_week_inputs(data["weeks"]),
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        program = self._save(request, None)
        return Response(ProgramSerializer(_latest(program)).data, status=201)

    def update(self, request: Request, *args, **kwargs) -> Response:
        program = self.get_object()
        if program.is_builtin:
            raise ValidationError("Built-in programs are read-only: copy one to change it.")
        return Response(ProgramSerializer(_latest(self._save(request, program))).data)

    @extend_schema(request=None, responses={201: ProgramSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str) -> Response:
        """An editable copy for the caller's clinic."""
        copy = services.program_copy(clinician=request.user, program=self.get_object())
        return Response(ProgramSerializer(_latest(copy)).data, status=201)


@extend_schema_view(
    list=extend_schema(summary="The caller's groups"),
    create=extend_schema(summary="Make a group of clients on the caller's caseload"),
    update=extend_schema(summary="Rename a group or change its members"),
)
@extend_schema(tags=["programs"])
class GroupViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Group.objects.none()
    visible_to = groups_visible_to
    permission_classes = [IsClinician]
    serializer_class = GroupSerializer
    http_method_names = ["get", "post", "put", "head", "options"]

    def refine_queryset(self, queryset: QuerySet[Group]) -> QuerySet[Group]:
        return queryset.prefetch_related("members").order_by("name", "id")

    def _save(self, request: Request, group: Group | None) -> Group:
        serializer = GroupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return services.group_save(
            clinician=request.user,
            group=group,
            name=serializer.validated_data["name"],
            member_ids=serializer.validated_data["members"],
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        return Response(GroupSerializer(self._save(request, None)).data, status=201)

    def update(self, request: Request, *args, **kwargs) -> Response:
        return Response(GroupSerializer(self._save(request, self.get_object())).data)


def _clients_named(request: Request, data: dict) -> tuple[list[User], Group | None]:
    """The group's members or the listed clients; an id that is not the caller's is
    refused like an unknown one, before anything is written."""
    if data["group"] is not None:
        group = groups_visible_to(request.user).filter(pk=data["group"]).first()
        if group is None:
            raise ValidationError({"group": "Choose one of your groups."})
        return list(group.members.select_related("client_profile").order_by("pk")), group
    ids = list(dict.fromkeys(data["clients"]))
    found = {
        c.pk: c
        for c in clients_visible_to(request.user)
        .select_related("client_profile")
        .filter(pk__in=ids)
    }
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise ValidationError({"clients": [f"Client {i}: not on your caseload." for i in unknown]})
    return [found[i] for i in ids], None


@extend_schema_view(
    list=extend_schema(summary="Enrolments of the caller's clients (a client: their own)"),
    retrieve=extend_schema(summary="One enrolment: the course week it is in"),
)
@extend_schema(tags=["programs"])
class EnrolmentViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Enrolment.objects.none()
    visible_to = enrolments_visible_to
    permission_classes = [ClinicianWrites]
    serializer_class = EnrolmentSerializer

    def refine_queryset(self, queryset: QuerySet[Enrolment]) -> QuerySet[Enrolment]:
        return queryset.select_related("version").order_by("-created_at", "-id")

    @extend_schema(
        request=EnrolmentCreateSerializer,
        responses={201: EnrolmentSerializer(many=True)},
        summary="Enrol clients or a group: all of them, or none with a message naming each",
    )
    def create(self, request: Request) -> Response:
        serializer = EnrolmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        program = programs_visible_to(request.user).filter(pk=data["program"]).first()
        if program is None:
            raise ValidationError({"program": "Choose a program from your list."})
        clients, group = _clients_named(request, data)
        enrolments = services.enrolments_create(
            clinician=request.user,
            program=program,
            clients=clients,
            group=group,
            start_date=data["start_date"],
        )
        return Response(EnrolmentSerializer(enrolments, many=True).data, status=201)

    def _act(self, request: Request, change: Callable[..., Enrolment]) -> Response:
        enrolment = change(enrolment=self.get_object(), actor=request.user)
        enrolment.refresh_from_db()
        return Response(EnrolmentSerializer(enrolment).data)

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def forward(self, request: Request, pk: str) -> Response:
        """Move on a week, from today."""
        return self._act(request, lambda **kw: services.enrolment_move(forward=True, **kw))

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def back(self, request: Request, pk: str) -> Response:
        """Move back a week, from today."""
        return self._act(request, lambda **kw: services.enrolment_move(forward=False, **kw))

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        """No new week starts and this week's plans pause."""
        return self._act(request, services.enrolment_pause)

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self._act(request, services.enrolment_resume)

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def remove(self, request: Request, pk: str) -> Response:
        """Take the client out of the course; past logs stay."""
        return self._act(request, services.enrolment_remove)

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"], url_path="newest-version")
    def newest_version(self, request: Request, pk: str) -> Response:
        """Follow the program's newest version from the next week."""
        return self._act(request, services.enrolment_version_update)


@extend_schema(tags=["programs"])
class BulkAssignmentView(views.APIView):
    permission_classes = [IsClinician]

    @extend_schema(
        request=BulkAssignmentSerializer,
        responses={201: BulkAssignmentResultSerializer},
        summary="Give one exercise to several clients or a group: all of them, or none",
    )
    def post(self, request: Request) -> Response:
        serializer = BulkAssignmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        clients, _group = _clients_named(request, data)
        exercise = (
            Exercise.objects.visible_to_clinic(request.user.clinic_id)
            .filter(pk=data["exercise"])
            .first()
        )
        made = services.assignments_create_for_clients(
            clinician=request.user,
            clients=clients,
            exercise=exercise,
            schedule_kind=data["schedule_kind"],
            weekdays=data["weekdays"],
            times_per_week=data["times_per_week"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            note=data["note"],
        )
        return Response({"assignments": [a.pk for a in made]}, status=201)
