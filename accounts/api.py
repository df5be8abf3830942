"""API of accounts: log in (session or token), who am I, and a clinician's invitations."""

from django.contrib.auth import login, logout
from django.contrib.auth.signals import user_logged_in
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from knox import views as knox_views
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import mfa, services
from accounts.access import invitations_visible_to
from accounts.authentication import TokenAuthentication
from accounts.models import Invitation, Role
from accounts.permissions import IsClinician
from accounts.selectors import crisis_resources_for_user
from accounts.serializers import (
    CredentialsSerializer,
    CrisisResourcesSerializer,
    InvitationSerializer,
    MeSerializer,
    TokenSerializer,
)
from core.api import LOGIN_THROTTLES, CallerScopedMixin

# --- Logging in ---


@extend_schema(tags=["auth"])
class TokenCreateView(APIView):
    """Exchange email and password (and a code, with two-step verification) for an API
    token, for apps and clinic systems.

    Only a digest of the token is stored; it expires after REST_KNOX TOKEN_TTL and
    can be revoked with `auth/token/logout/` or `auth/token/logoutall/`.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = LOGIN_THROTTLES

    @extend_schema(
        request=CredentialsSerializer,
        responses={201: TokenSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        credentials = CredentialsSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        # Expired tokens can never work again; clear them so they do not count.
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        limit = knox_settings.TOKEN_LIMIT_PER_USER
        if limit is not None and AuthToken.objects.filter(user=user).count() >= limit:
            raise ValidationError(
                "Too many active tokens for this account. Revoke some with auth/token/logoutall/."
            )
        instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        data = TokenSerializer({"token": token, "expiry": instance.expiry}).data
        return Response(data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["auth"], request=None, responses={204: None})
class TokenLogoutView(knox_views.LogoutView):
    """Revoke the token this request was made with."""

    authentication_classes = (TokenAuthentication,)


@extend_schema(tags=["auth"], request=None, responses={204: None})
class TokenLogoutAllView(knox_views.LogoutAllView):
    """Revoke every token of the caller's account."""

    authentication_classes = (TokenAuthentication,)


@extend_schema(tags=["auth"])
class SessionLoginView(APIView):
    """Log in with a session cookie, for the portal's own scripts. CSRF applies."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = LOGIN_THROTTLES

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: MeSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        # DRF exempts anonymous requests from CSRF; a login must not be forgeable.
        SessionAuthentication().enforce_csrf(request._request)
        credentials = CredentialsSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        login(request._request, user, backend="accounts.backends.ClinicModelBackend")
        device = credentials.validated_data["device"]
        if device is not None:
            mfa.mfa_session_verify(request._request, device)
        return Response(MeSerializer(user).data)


@extend_schema(tags=["auth"])
class SessionLogoutView(APIView):
    """End the session this request was made with."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Who am I ---


@extend_schema(tags=["me"])
class MeView(APIView):
    """The caller's account: role, clinic and time zone. Name and time zone can change."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request: Request) -> Response:
        user = request.user
        serializer = MeSerializer(user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.user_update_settings(
            user=user,
            full_name=data.get("full_name", user.full_name),
            timezone_name=data.get("timezone", user.timezone),
        )
        return Response(MeSerializer(user).data)


@extend_schema(tags=["me"])
class CrisisResourcesView(APIView):
    """The caller's clinic's crisis resources (or the default words), for a Help now screen."""

    @extend_schema(responses=CrisisResourcesSerializer)
    def get(self, request: Request) -> Response:
        return Response(
            CrisisResourcesSerializer(crisis_resources_for_user(user=request.user)).data
        )


# --- Invitations (a clinician inviting clients to their caseload) ---


@extend_schema_view(
    list=extend_schema(summary="Invitations for the caller's caseload, newest first"),
    create=extend_schema(summary="Invite a client; the email is queued, never sent inline"),
)
@extend_schema(tags=["invitations"])
class InvitationViewSet(
    CallerScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Invitations to join the caller's caseload. Each email carries a single-use link."""

    queryset = Invitation.objects.none()
    visible_to = invitations_visible_to
    serializer_class = InvitationSerializer
    permission_classes = [IsClinician]

    def refine_queryset(self, queryset: QuerySet[Invitation]) -> QuerySet[Invitation]:
        return queryset.order_by("-created_at", "-id")

    def perform_create(self, serializer: InvitationSerializer) -> None:
        user = self.request.user
        if user.clinic is None:  # a clinician always has one (database constraint)
            raise PermissionDenied()
        serializer.instance = services.invitation_create(
            clinic=user.clinic,
            email=serializer.validated_data["email"],
            full_name=serializer.validated_data.get("full_name", ""),
            role=Role.CLIENT,
            clinician=user,
            invited_by=user,
        )

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str) -> Response:
        """Send a fresh link (the previous one stops working) and extend the expiry."""
        invitation = services.invitation_resend(invitation=self.get_object())
        return Response(self.get_serializer(invitation).data)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        """Withdraw an open invitation; its link stops working."""
        invitation = self.get_object()
        if not services.invitation_revoke(invitation=invitation):
            raise ValidationError("That invitation is no longer open.")
        invitation.refresh_from_db()
        return Response(self.get_serializer(invitation).data)
