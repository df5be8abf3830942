"""Reminder preferences over HTTP (/api/v1/me/preferences/)."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsClient
from outreach.serializers import PreferencesSerializer
from outreach.services import client_preferences_update


@extend_schema(tags=["me"])
class PreferencesView(APIView):
    """The client's reminder time, quiet hours, pause and weekly summary."""

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
