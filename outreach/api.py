"""Reminder preferences and push subscriptions over HTTP (/api/v1/me/preferences/,
/api/v1/push-subscriptions/)."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import GetsNotifications, IsClient
from core.api import CallerScopedMixin
from notifications.models import PushSubscription
from outreach.serializers import PreferencesSerializer, PushSubscriptionSerializer
from outreach.services import client_preferences_update, push_subscription_save


@extend_schema(tags=["me"])
class PreferencesView(APIView):
    """The client's reminder time, quiet hours, pause, weekly summary and email channel."""

    permission_classes = [IsClient]

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request: Request) -> Response:
        return Response(PreferencesSerializer(request.user.client_profile).data)

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def patch(self, request: Request) -> Response:
        profile = request.user.client_profile
        serializer = PreferencesSerializer(profile, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "reminders_paused_until" in data:
            data["paused_until"] = data.pop("reminders_paused_until")
        client_preferences_update(profile=profile, **data)
        return Response(PreferencesSerializer(profile).data)


def push_subscriptions_visible_to(user: User) -> QuerySet:
    """The caller's own devices (a client's or a clinician's); nobody else's, whoever asks."""
    return PushSubscription.objects.filter(user_id=user.pk)


@extend_schema_view(
    list=extend_schema(summary="The caller's devices that get notifications"),
    create=extend_schema(summary="Subscribe this browser to notifications"),
    destroy=extend_schema(summary="Stop notifications on one device"),
)
@extend_schema(tags=["me"])
class PushSubscriptionViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [GetsNotifications]
    serializer_class = PushSubscriptionSerializer
    queryset = PushSubscription.objects.none()
    visible_to = push_subscriptions_visible_to

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.order_by("created_at", "id")

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = push_subscription_save(
            user=request.user,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
            label=data.get("label", ""),
        )
        return Response(
            PushSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED
        )
