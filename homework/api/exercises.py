"""Exercises over HTTP: the library (built-ins and the clinic's own) and its upkeep."""

import django_filters
from django.db.models import QuerySet
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import ClinicianWrites
from core.api import CallerScopedMixin, StrictFilterSet, StrictSerializer
from homework.models import Category, Exercise
from homework.selectors.exercises import exercises_visible_to
from homework.serializers import ExerciseSerializer
from homework.services import exercises as services
from homework.views.audio import audio_response

SOURCE_CHOICES = [("builtin", "Built-in library"), ("clinic", "This clinic's own")]
YES_NO = [("true", "Yes"), ("false", "No")]


class ExerciseFilter(StrictFilterSet):
    category = django_filters.ChoiceFilter(choices=Category.choices)
    source = django_filters.ChoiceFilter(choices=SOURCE_CHOICES, method="filter_source")
    archived = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_archived", help_text="Leave out for both."
    )

    class Meta:
        model = Exercise
        fields = ["category", "source", "archived"]

    def filter_source(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(clinic__isnull=value == "builtin")

    def filter_archived(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(archived_at__isnull=value != "true")


class AudioUploadSerializer(StrictSerializer):
    audio = serializers.FileField(help_text="MP3, M4A, OGG or WAV; see AUDIO_MAX_BYTES.")


@extend_schema_view(
    list=extend_schema(summary="Exercises the caller may see, by category and title"),
    create=extend_schema(summary="Write a clinic exercise (clinicians)"),
    update=extend_schema(summary="Change a clinic exercise (built-ins are read-only)"),
    partial_update=extend_schema(summary="Change some fields of a clinic exercise"),
)
@extend_schema(tags=["exercises"])
class ExerciseViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Clinicians see the built-in library and their clinic's exercises; clients the
    exercises they were assigned. Only clinicians write, and only their clinic's own."""

    queryset = Exercise.objects.none()
    visible_to = exercises_visible_to
    serializer_class = ExerciseSerializer
    permission_classes = [ClinicianWrites]
    filterset_class = ExerciseFilter

    def refine_queryset(self, queryset: QuerySet[Exercise]) -> QuerySet[Exercise]:
        return queryset.order_by("category", "title", "id")

    def perform_create(self, serializer: ExerciseSerializer) -> None:
        data = serializer.validated_data
        user = self.request.user
        serializer.instance = services.exercise_create(
            clinic=user.clinic,
            created_by=user,
            **_content(data, prompts=_prompts(data.get("prompts", []), previous=[])),
        )

    def perform_update(self, serializer: ExerciseSerializer) -> None:
        exercise = serializer.instance
        data = serializer.validated_data
        # PATCH sends some fields; the service takes the whole content, so the
        # rest is what the exercise has now.
        current = {name: getattr(exercise, name) for name in (*services.LIBRARY_FIELDS, "any_time")}
        prompts = (
            _prompts(data["prompts"], previous=exercise.prompts)
            if "prompts" in data
            else exercise.prompts
        )
        services.exercise_update(
            exercise=exercise, **_content({**current, **data}, prompts=prompts)
        )

    @extend_schema(request=None, responses=ExerciseSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str) -> Response:
        """Hide a clinic exercise from the library and new assignments (reversible)."""
        exercise = self.get_object()
        services.exercise_archive(exercise=exercise)
        return Response(self.get_serializer(exercise).data)

    @extend_schema(request=None, responses=ExerciseSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Bring an archived clinic exercise back."""
        exercise = self.get_object()
        services.exercise_restore(exercise=exercise)
        return Response(self.get_serializer(exercise).data)

    @extend_schema(request=None, responses={201: ExerciseSerializer})
    @action(detail=True, methods=["post"])
    def copy(self, request: Request, pk: str) -> Response:
        """The clinic's own editable copy of an exercise (how a built-in is adapted)."""
        user = request.user
        copy = services.exercise_copy(
            exercise=self.get_object(), clinic=user.clinic, created_by=user
        )
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={
            (200, "audio/*"): OpenApiTypes.BINARY,
            (206, "audio/*"): OpenApiTypes.BINARY,
        },
        description="The recording, whole or the byte range a Range header asks for (206).",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": AudioUploadSerializer},
        responses={201: ExerciseSerializer},
        description="Attach or replace the recording (MP3, M4A, OGG or WAV, checked by content).",
    )
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @action(
        detail=True,
        methods=["get", "post", "delete"],
        parser_classes=[MultiPartParser],
    )
    def audio(self, request: Request, pk: str) -> HttpResponseBase:
        """A clinic exercise's audio guide: anyone who may see the exercise plays it; the
        clinic's clinicians attach and remove it."""
        exercise = self.get_object()
        if request.method == "GET":
            return audio_response(request, exercise)
        if request.method == "DELETE":
            if not services.exercise_audio_remove(exercise=exercise):
                raise NotFound("This exercise has no recording.")
            return Response(status=status.HTTP_204_NO_CONTENT)
        upload = AudioUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        services.exercise_audio_attach(exercise=exercise, upload=upload.validated_data["audio"])
        return Response(self.get_serializer(exercise).data, status=status.HTTP_201_CREATED)


def _prompts(prompts: list[dict], *, previous: list[dict]) -> list[dict]:
    # The portal's rule for prompt keys, so answers stay attached across edits.
    return services.exercise_prompts_from_labels(
        labels=[(prompt["label"], prompt.get("phrase", False)) for prompt in prompts],
        previous=previous,
    )


def _content(data: dict, *, prompts: list[dict]) -> dict:
    return {
        "title": data["title"],
        "category": data["category"],
        "summary": data["summary"],
        "steps": data["steps"],
        "prompts": prompts,
        "ratings": data.get("ratings", []),
        "typical_minutes": data["typical_minutes"],
        "any_time": data.get("any_time", False),
    }
