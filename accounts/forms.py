"""Forms of the accounts pages, then the forms the Django admin uses for accounts."""

from django import forms
from django.contrib.auth.forms import (
    AdminUserCreationForm,
    AuthenticationForm,
    SetPasswordMixin,
    UserChangeForm,
)
from django.http import HttpRequest, QueryDict

from accounts.branding import LOGO_MAX_BYTES, logo_normalised
from accounts.mfa import mfa_enrolled, mfa_verify
from accounts.models import ClientProfile, Clinic, Invitation, Role, User, available_timezones
from accounts.services import clinician_check
from accounts.timezones import timezone_groups, timezone_label
from core.forms import CheckedForm, CheckedFormMixin, CheckedModelForm


def form_data(request: HttpRequest) -> QueryDict | None:
    """Form data on POST, None otherwise. (`request.POST or None` treats an empty POST as GET.)"""
    return request.POST if request.method == "POST" else None


def timezone_choices() -> list[tuple[str, str]]:
    """Every canonical zone, labelled (kept for callers that want a flat list)."""
    return [
        (name, timezone_label(name)) for _region, group in timezone_groups() for name, _ in group
    ]


class TimezoneSelect(forms.Select):
    """A select with the suggested zones first; static/js/timezone.js adds the browser's."""

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs={"data-timezone-picker": "", **(attrs or {})})

    def optgroups(self, name: str, value: list, attrs: dict | None = None) -> list:
        # The person's current zone is always an option, first, even an alias the list
        # leaves out: otherwise the browser would select another and a save would move them.
        current = next((v for v in value if v), "")
        listed = (
            {option for _group, options in self.choices for option, _label in options}
            if current
            else set()
        )
        if current and current not in listed and current in available_timezones():
            self.choices = [
                ("Your current zone", [(current, timezone_label(current))]),
                *self.choices,
            ]
        return super().optgroups(name, value, attrs)


class TimezoneField(forms.ChoiceField):
    """An IANA time zone. The picker lists canonical zones by region, the clinic's (or the
    person's own) first; any name zoneinfo knows is accepted, so an older alias stored
    before stays valid."""

    widget = TimezoneSelect

    def __init__(self, *, suggested: tuple[str, ...] = (), **kwargs) -> None:
        kwargs.setdefault("label", "Time zone")
        kwargs.setdefault(
            "help_text",
            "Start typing a city to find it. The offset shown is today's, summer time included.",
        )
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": "“%(value)s” is not a known time zone. Choose one from the list."},
        )
        self.suggested = suggested
        super().__init__(choices=self._choices_now, **kwargs)

    def _choices_now(self) -> list:
        return timezone_groups(first=(*self.suggested, *self._current()))

    def _current(self) -> tuple[str, ...]:
        # A stored alias (e.g. "US/Eastern") is shown first so editing keeps it.
        initial = self.initial if isinstance(self.initial, str) else ""
        return (initial,) if initial else ()

    def suggest(self, *names: str) -> None:
        """Put these zones first (a clinic's zone, the person's own)."""
        self.suggested = tuple(name for name in names if name in available_timezones())
        self.choices = self._choices_now

    def valid_value(self, value: str) -> bool:
        return value in available_timezones()


def _email_taken(email: str, *, exclude_pk: int | None = None) -> bool:
    return User.objects.filter(email__iexact=email).exclude(pk=exclude_pk).exists()


EMAIL_TAKEN = "An account with this email address already exists."


class EmailAuthenticationForm(CheckedFormMixin, AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email address and password do not match an active account. "
            "Check both and try again; the password is case-sensitive."
        ),
    }


class PasswordResetRequestForm(CheckedForm):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class InviteClientForm(CheckedForm):
    email = forms.EmailField(label="Client's email address")
    full_name = forms.CharField(
        label="Client's name (optional)",
        max_length=200,
        required=False,
        help_text="Shown on your invitations list and prefilled for the client.",
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if _email_taken(email):
            raise forms.ValidationError(EMAIL_TAKEN)
        return email


class InvitationAcceptForm(SetPasswordMixin, CheckedForm):
    error_messages = {"password_mismatch": "The two passwords do not match."}
    full_name = forms.CharField(label="Your name", max_length=200, required=False)
    timezone = TimezoneField(
        label="Your time zone",
        help_text="Reminders and summaries arrive at your local times in this zone.",
    )
    password1, password2 = SetPasswordMixin.create_password_fields(
        label1="Choose a password", label2="Repeat the password"
    )

    def __init__(self, *args, invitation: Invitation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        self.fields["full_name"].initial = invitation.full_name
        self.fields["timezone"].initial = invitation.clinic.timezone
        self.fields["timezone"].suggest(invitation.clinic.timezone)
        self.fields["password1"].help_text = "At least 10 characters, not a common password."
        self.fields["password2"].help_text = ""

    def clean(self) -> dict:
        data = super().clean()
        self.validate_passwords()
        # Checked against the invitee's own name and address, like Django's forms do.
        candidate = User(email=self.invitation.email, full_name=data.get("full_name") or "")
        self.validate_password_for_user(candidate, "password1")
        return data


class AccountSettingsForm(CheckedForm):
    full_name = forms.CharField(label="Your name", max_length=200, required=False)
    timezone = TimezoneField(
        label="Your time zone",
        help_text="Dates and reminder times are shown and sent in this zone.",
    )


# --- Two-step verification and re-authentication -----------------------------


class MFACodeForm(CheckedForm):
    code = forms.CharField(
        label="Code",
        max_length=40,
        help_text="The 6 digits your authenticator app shows now, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )


class MFAEnrolForm(CheckedForm):
    code = forms.CharField(
        label="Code from your app",
        max_length=12,
        help_text="After adding Kindwork to your app, enter the 6 digits it shows.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ReauthForm(CheckedForm):
    """Proof that the person at the keyboard is the account holder: password or a fresh code."""

    password = forms.CharField(
        label="Your password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Or a code from your authenticator app",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
        password, code = data.get("password"), (data.get("code") or "").strip()
        if not password and not code:
            raise forms.ValidationError("Enter your password or a code from your app.")
        if password and self.user.check_password(password):
            return data
        if code and mfa_enrolled(self.user) and mfa_verify(user=self.user, code=code):
            return data
        raise forms.ValidationError("That did not match. Check it and try again.")


class EmailChangeForm(CheckedForm):
    email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="You will log in with this address from now on.",
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if _email_taken(email, exclude_pk=self.user.pk):
            raise forms.ValidationError(EMAIL_TAKEN)
        return email


# --- Admin forms -------------------------------------------------------------


class ClinicAdminForm(CheckedModelForm):
    timezone = TimezoneField(
        initial="UTC", help_text="The clinic's home zone; invitees start from it."
    )
    logo_upload = forms.FileField(
        label="Logo",
        required=False,
        help_text=f"A PNG, JPEG, GIF or WebP picture up to {LOGO_MAX_BYTES // 1024} KB. "
        "Shown at the top of your clinic's pages, to its members only.",
    )
    remove_logo = forms.BooleanField(label="Remove the current logo", required=False)

    class Meta:
        model = Clinic
        fields = ["name", "timezone", "display_name", "accent_colour", "crisis_text"]

    def clean_accent_colour(self) -> str:
        return self.cleaned_data["accent_colour"].strip().lower()

    def clean_logo_upload(self) -> bytes | None:
        """The upload's bytes once they pass the content check; nothing is stored here."""
        upload = self.cleaned_data.get("logo_upload")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(
                f"The logo is larger than {LOGO_MAX_BYTES // 1024} KB. Save it smaller."
            )
        data = upload.read()
        logo_normalised(data)
        return data


class InvitationAdminForm(CheckedForm):
    """Invite a clinician (or a client on a clinician's behalf). Saved through the service."""

    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none())
    role = forms.ChoiceField(
        choices=[(Role.CLINICIAN, "Clinician"), (Role.CLIENT, "Client")], initial=Role.CLINICIAN
    )
    email = forms.EmailField(label="Email address")
    full_name = forms.CharField(label="Name (optional)", max_length=200, required=False)
    clinician = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        help_text="Only for a client: whose caseload they join (a clinician of the same clinic).",
    )

    def __init__(self, *args, clinics, clinicians, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        self.fields["clinician"].queryset = clinicians.select_related("clinic")
        self.fields["clinician"].label_from_instance = lambda user: f"{user} ({user.clinic})"

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if _email_taken(email):
            raise forms.ValidationError(EMAIL_TAKEN)
        return email

    def clean(self) -> dict:
        data = super().clean()
        clinic = data.get("clinic")
        if data.get("role") == Role.CLIENT and clinic is not None:
            try:
                clinician_check(clinician=data.get("clinician"), clinic_id=clinic.pk)
            except forms.ValidationError as error:
                self.add_error(None, error)
        return data


def _check_role_and_clinic(form: forms.ModelForm, data: dict) -> None:
    """Clinicians and clients belong to a clinic; only an admin may have none."""
    role = data.get("role")
    if role in (Role.CLINICIAN, Role.CLIENT) and not data.get("clinic"):
        form.add_error("clinic", "A clinician or a client must belong to a clinic.")
    if role == Role.SUPERVISOR and not data.get("clinic"):
        form.add_error(
            "clinic", "A supervisor belongs to the clinic whose clinicians they supervise."
        )


class UserAdminCreationForm(CheckedFormMixin, AdminUserCreationForm):
    """Create an account directly. Inviting (so the person sets their own password) is usual."""

    timezone = TimezoneField(initial="UTC")
    clinician = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        help_text="Only for a client: whose caseload they join (a clinician of the same clinic).",
    )

    class Meta:
        model = User
        fields = ["email", "full_name", "role", "clinic", "timezone"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        clinicians = User.objects.filter(role=Role.CLINICIAN, is_active=True)
        self.fields["clinician"].queryset = clinicians.select_related("clinic")
        self.fields["clinician"].label_from_instance = lambda user: f"{user} ({user.clinic})"

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"].strip()).lower()
        if _email_taken(email):
            raise forms.ValidationError(EMAIL_TAKEN)
        return email

    def clean(self) -> dict:
        data = super().clean()
        _check_role_and_clinic(self, data)
        clinic = data.get("clinic")
        if data.get("role") == Role.CLIENT and clinic is not None:
            try:
                clinician_check(clinician=data.get("clinician"), clinic_id=clinic.pk)
            except forms.ValidationError as error:
                self.add_error(None, error)
        return data

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        # An admin account is for the admin site; without staff status it could not log in there.
        if user.role == Role.ADMIN:
            user.is_staff = True
        if commit:
            user.save()
        return user


class UserAdminChangeForm(CheckedFormMixin, UserChangeForm):
    timezone = TimezoneField()

    class Meta:
        model = User
        fields = "__all__"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "supervises" in self.fields:
            # Only clinicians of the supervisor's own clinic are offered.
            self.fields["supervises"].queryset = User.objects.filter(
                role=Role.CLINICIAN, clinic_id=self.instance.clinic_id
            ).exclude(pk=self.instance.pk)

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"].strip()).lower()
        if _email_taken(email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(EMAIL_TAKEN)
        return email

    def clean(self) -> dict:
        data = super().clean()
        _check_role_and_clinic(self, data)
        user = self.instance
        role, clinic = data.get("role", user.role), data.get("clinic", user.clinic)
        has_profile = ClientProfile.objects.filter(user=user).exists()
        has_caseload = ClientProfile.objects.filter(clinician=user).exists()
        if has_caseload and (role != Role.CLINICIAN or clinic != user.clinic):
            self.add_error(
                None,
                "This clinician has clients. Move them to another clinician first "
                "(Client profiles), then change the role or clinic.",
            )
        if has_profile and (role != Role.CLIENT or clinic != user.clinic):
            self.add_error(
                None,
                "A client stays a client of their clinic. To move them to another "
                "clinician of the same clinic, change the clinician below.",
            )
        _check_supervises(self, data, role=role, clinic=clinic)
        return data


def _check_supervises(form: forms.ModelForm, data: dict, *, role: str, clinic: object) -> None:
    """Only a supervisor supervises, and only clinicians of their own clinic."""
    supervised = list(data.get("supervises") or [])
    if not supervised:
        return
    if role != Role.SUPERVISOR:
        form.add_error("supervises", "Only a supervisor supervises clinicians.")
    elif any(
        c.role != Role.CLINICIAN or c.clinic_id != getattr(clinic, "pk", None) for c in supervised
    ):
        form.add_error("supervises", "Choose clinicians of this supervisor's own clinic.")


class ClientProfileAdminForm(CheckedModelForm):
    """A client's profile; the clinician list holds only active clinicians of their clinic."""

    class Meta:
        model = ClientProfile
        fields = [
            "clinician",
            "reminder_time",
            "quiet_hours_start",
            "quiet_hours_end",
            "reminders_paused_until",
            "weekly_summary",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        clinicians = User.objects.filter(role=Role.CLINICIAN, is_active=True)
        if self.instance.user_id:
            clinicians = clinicians.filter(clinic_id=self.instance.user.clinic_id)
        self.fields["clinician"].queryset = clinicians
        self.fields[
            "clinician"
        ].help_text = "Move the client to another clinician of the same clinic."

    def clean(self) -> dict:
        data = super().clean()
        if "clinician" in data:
            try:
                clinician_check(clinician=data["clinician"], clinic_id=self.instance.user.clinic_id)
            except forms.ValidationError as error:
                self.add_error(None, error)
        return data
