"""API shapes of accounts: who am I, credentials, invitations.

Serializers only check the shape of input; the rules live in accounts.services.
"""

from django.contrib.auth import authenticate
from rest_framework import serializers

from accounts import mfa
from accounts.models import Clinic, Invitation, User, available_timezones
from core.api import StrictModelSerializer, StrictSerializer


class ClinicSerializer(StrictModelSerializer):
    class Meta:
        model = Clinic
        fields = ["id", "name", "timezone"]
        read_only_fields = fields


class TimezoneField(serializers.ChoiceField):
    """An IANA zone name, e.g. "Europe/London"."""

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=sorted(available_timezones()), **kwargs)


class MeSerializer(StrictModelSerializer):
    clinic = ClinicSerializer(read_only=True)
    timezone = TimezoneField()
    full_name = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "role", "clinic", "timezone"]
        read_only_fields = ["id", "email", "role", "clinic"]


class CredentialsSerializer(StrictSerializer):
    """Email and password, and for accounts with two-step verification a current code.

    The same message whether the account or the password is wrong. Clinicians and
    admins always need the second step (accounts.mfa), so an API login cannot be
    a way around it.
    """

    email = serializers.EmailField(max_length=254, write_only=True)
    password = serializers.CharField(max_length=4096, write_only=True, trim_whitespace=False)
    code = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text=(
            "For accounts with two-step verification: the 6 digits the authenticator app "
            "shows now, or one of the recovery codes."
        ),
    )

    def validate(self, data: dict) -> dict:
        request = self.context.get("request")
        # Backends (the login lockout among them) get Django's own request, so what
        # they note on it is seen by the middleware that answers for them.
        http_request = getattr(request, "_request", request)
        user = authenticate(http_request, email=data["email"], password=data["password"])
        if user is None:
            raise serializers.ValidationError(
                "The email address and password do not match an active account.",
                code="authorization",
            )
        data["user"] = user
        data["device"] = None
        if mfa.mfa_required(user):
            if not mfa.mfa_enrolled(user):
                raise serializers.ValidationError(
                    {
                        "code": "Your account needs two-step verification. Set it up on the "
                        "website first, then log in here with a code from your app."
                    }
                )
            data["device"] = mfa.mfa_verify(user=user, code=data.get("code", ""))
            if data["device"] is None:
                raise serializers.ValidationError(
                    {"code": "Enter the code your authenticator app shows now, or a recovery code."}
                )
        return data


class TokenSerializer(StrictSerializer):
    token = serializers.CharField(
        read_only=True, help_text="Send as `Authorization: Token <token>`."
    )
    expiry = serializers.DateTimeField(read_only=True)


# The values of Invitation.status.
INVITATION_STATUSES = [
    ("pending", "Pending"),
    ("accepted", "Accepted"),
    ("revoked", "Revoked"),
    ("expired", "Expired"),
]


class InvitationSerializer(StrictModelSerializer):
    status = serializers.ChoiceField(choices=INVITATION_STATUSES, read_only=True)
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(max_length=200, allow_blank=True, required=False)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "full_name",
            "status",
            "send_count",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "send_count",
            "created_at",
            "expires_at",
            "accepted_at",
            "revoked_at",
        ]


class CrisisContactSerializer(StrictSerializer):
    label = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)


class CrisisResourcesSerializer(StrictSerializer):
    """What to show a client who needs help now: the clinic's words and contacts."""

    text = serializers.CharField()
    contacts = CrisisContactSerializer(many=True)
    is_default_text = serializers.BooleanField(
        help_text="True when the clinic has not written its own text."
    )
