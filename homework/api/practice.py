"""Practice over HTTP: today's list, logging and correcting practice, feedback, and
the client's reminder preferences."""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import clients_visible_to
from accounts.models import Role, User
from accounts.permissions import ClientWrites, ClinicianWrites, IsClient, IsClinician
from audit.services import audit_record_view, audit_record_views
from core.api import CallerScopedMixin, StrictFilterSet, scoped_choices
from core.forms import CheckedForm
from homework.models import Assignment, Completion
from homework.page_cache import cached_client_data
from homework.selectors.assignments import assignments_visible_to
from homework.selectors.practice import (
    completions_visible_to,
    inbox_for_clinician,
    phrase_bank,
    today_for_client,
)
from homework.serializers import (
    CompletionCreateSerializer,
    CompletionSerializer,
    CompletionWriteSerializer,
    FeedbackSerializer,
    InboxItemSerializer,
    MessageSerializer,
    PhraseSerializer,
    TodaySerializer,
)
from homework.services import completions as services
from homework.services.feedback import (
    client_replies_mark_read,
    client_reply_create,
    feedback_create,
    feedback_mark_read,
)

# --- Today ---


@extend_schema(tags=["practice"])
class TodayView(APIView):
    """What is due today in the client's own time zone; the same answer as the portal."""

    permission_classes = [IsClient]

    @extend_schema(responses=TodaySerializer)
    def get(self, request: Request) -> Response:
        # as_dict() is already the documented shape (TodaySerializer), JSON-ready. Passing
        # it through the serializer deep-copied some 70 fields per request for the same
        # bytes (docs/benchmarks.md); test_it_answers_today_in_the_documented_shape
        # keeps the two equal. Like the portal's today page, from the page cache
        # (homework.page_cache) until the client's record or day changes.
        client = request.user
        return Response(
            cached_client_data(
                request,
                page="api_today",
                client=client,
                compute=lambda: today_for_client(client=client).as_dict(),
            )
        )


# --- Practice logs ---


class _DateRangeForm(CheckedForm):
    def clean(self) -> dict:
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", "The end of the range must be on or after its start.")
        return data


class CompletionFilter(StrictFilterSet):
    client = django_filters.ModelChoiceFilter(
        queryset=scoped_choices(User, clients_visible_to),
        help_text="A client on the caller's caseload.",
    )
    assignment = django_filters.ModelChoiceFilter(
        queryset=scoped_choices(Assignment, assignments_visible_to)
    )
    date_from = django_filters.DateFilter(
        field_name="local_date", lookup_expr="gte", help_text="First local date, YYYY-MM-DD."
    )
    date_to = django_filters.DateFilter(
        field_name="local_date", lookup_expr="lte", help_text="Last local date, YYYY-MM-DD."
    )

    class Meta:
        model = Completion
        fields = ["client", "assignment", "date_from", "date_to"]
        form = _DateRangeForm


@extend_schema_view(
    list=extend_schema(summary="Practice logs, newest first (a clinician: their clients')"),
    create=extend_schema(
        summary=(
            "Log a practice, today's or an earlier day's within the grace window (logging a "
            "once-a-day plan again today corrects it; a client_uuid already sent answers 200)"
        ),
        request=CompletionCreateSerializer,
        responses={201: CompletionSerializer, 200: CompletionSerializer},
    ),
    partial_update=extend_schema(
        summary="Correct today's log (earlier days are kept as they were)",
        request=CompletionWriteSerializer,
        responses=CompletionSerializer,
    ),
)
@extend_schema(tags=["practice"])
class CompletionViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Practice logs. A client logs and corrects their own; their clinician reads them,
    without the reflection and answers the client chose not to share, and replies."""

    queryset = Completion.objects.none()
    visible_to = completions_visible_to
    serializer_class = CompletionSerializer
    permission_classes = [ClientWrites]
    filterset_class = CompletionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def refine_queryset(self, queryset: QuerySet[Completion]) -> QuerySet[Completion]:
        return queryset.select_related("assignment").order_by("-local_date", "-id")

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        # A clinician's or admin's read of clients' logs joins the audit trail (one row each).
        shown = response.data.get("results", []) if isinstance(response.data, dict) else []
        audit_record_views(
            request=request, target=Completion, client_ids=[row["client"] for row in shown]
        )
        return response

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        completion = self.get_object()
        audit_record_view(request=request, target=completion, client=completion.client_id)
        return Response(self.get_serializer(completion).data)

    def create(self, request: Request) -> Response:
        serializer = CompletionCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # A replay (the phone's queue sending again) answers 200 with the log already
        # written; the service finds it, so a replay racing the first send writes one log.
        completion, outcome = services.completion_log_outcome(
            client=request.user,
            assignment=data["assignment"],
            minutes=data["minutes"],
            ratings=data.get("ratings", {}),
            answers=data.get("answers", {}),
            reflection=data.get("reflection", ""),
            reflection_shared=data.get("reflection_shared", False),
            practised_on=data.get("practised_on"),
            client_uuid=data.get("client_uuid"),
            stirred_up=data.get("stirred_up", False),
        )
        body = CompletionSerializer(completion, context={"request": request}).data
        replayed = outcome is services.Logged.REPLAYED
        return Response(body, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        completion = self.get_object()
        serializer = CompletionWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        completion = services.completion_correct(
            client=request.user,
            completion=completion,
            minutes=data.get("minutes"),
            ratings=data.get("ratings"),
            answers=data.get("answers"),
            reflection=data.get("reflection"),
            reflection_shared=data.get("reflection_shared"),
            stirred_up=data.get("stirred_up"),
        )
        return Response(CompletionSerializer(completion, context={"request": request}).data)

    @extend_schema(
        methods=["GET"],
        summary="The clinician's replies on this log, oldest first",
        responses=FeedbackSerializer(many=True),
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Reply on this log (the client's clinician)",
        request=FeedbackSerializer,
        responses={201: FeedbackSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        # Replies are the clinician's to write and both sides' to read.
        permission_classes=[ClinicianWrites],
        filterset_class=None,
    )
    def feedback(self, request: Request, pk: str) -> Response:
        completion = self.get_object()
        if request.method == "POST":
            serializer = FeedbackSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            reply = feedback_create(
                clinician=request.user,
                completion=completion,
                text=serializer.validated_data["text"],
            )
            return Response(FeedbackSerializer(reply).data, status=status.HTTP_201_CREATED)
        replies = completion.feedback.select_related("clinician").order_by("created_at", "id")
        page = self.paginate_queryset(replies)
        return self.get_paginated_response(FeedbackSerializer(page, many=True).data)

    @extend_schema(
        summary="Mark the replies on this log as read", request=None, responses={204: None}
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="feedback/read",
        url_name="feedback-read",
        permission_classes=[IsClient],
        filterset_class=None,
    )
    def feedback_read(self, request: Request, pk: str) -> Response:
        """The portal marks replies read when the client's history shows them; an app says
        when it has shown them."""
        feedback_mark_read(client=request.user, completion_ids=[self.get_object().pk])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["GET"],
        summary="The conversation on this log, oldest first (feedback and the client's replies)",
        responses=MessageSerializer(many=True),
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Write in this log's conversation: the client's clinician, or the client once "
        "the clinician has written",
        request=MessageSerializer,
        responses={201: MessageSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        permission_classes=[IsClinician | IsClient],
        filterset_class=None,
    )
    def messages(self, request: Request, pk: str) -> Response:
        completion = self.get_object()
        if request.method == "POST":
            serializer = MessageSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            text = serializer.validated_data["text"]
            if request.user.role == Role.CLIENT:
                message = client_reply_create(client=request.user, completion=completion, text=text)
            else:
                message = feedback_create(clinician=request.user, completion=completion, text=text)
            return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
        audit_record_view(request=request, target=completion, client=completion.client_id)
        messages = completion.feedback.select_related("clinician").order_by("created_at", "id")
        page = self.paginate_queryset(messages)
        return self.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(
        summary="Mark the other person's messages on this log as read",
        request=None,
        responses={204: None},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="messages/read",
        url_name="messages-read",
        permission_classes=[IsClinician | IsClient],
        filterset_class=None,
    )
    def messages_read(self, request: Request, pk: str) -> Response:
        completion = self.get_object()
        if request.user.role == Role.CLIENT:
            feedback_mark_read(client=request.user, completion_ids=[completion.pk])
        else:
            client_replies_mark_read(clinician=request.user, completion_ids=[completion.pk])
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["practice"])
class InboxView(GenericAPIView):
    """Clients' replies the clinician has not read yet, across the caseload, newest first."""

    permission_classes = [IsClinician]
    serializer_class = InboxItemSerializer
    filter_backends: list = []

    @extend_schema(responses=InboxItemSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(inbox_for_clinician(clinician=request.user))
        audit_record_views(
            request=request,
            target=Completion,
            client_ids={message.completion.client_id for message in page},
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- The phrase bank ---


@extend_schema(tags=["me"])
class PhrasesView(GenericAPIView):
    """The kind phrases the client wrote, newest first, as on the portal's phrase page."""

    permission_classes = [IsClient]
    serializer_class = PhraseSerializer
    filter_backends: list = []

    @extend_schema(responses=PhraseSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(phrase_bank(client=request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# --- Reminder preferences ---
