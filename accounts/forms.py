from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.password_validation import validate_password

from accounts.models import Invitation, User, available_timezones


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class InviteClientForm(forms.Form):
    email = forms.EmailField(label="Client's email address")
    full_name = forms.CharField(label="Name (optional)", max_length=200, required=False)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(label="Your name", max_length=200, required=False)
    timezone = forms.TypedChoiceField(
        label="Your time zone",
        choices=timezone_choices,
        help_text="Reminders arrive at the times you choose in this zone.",
    )
    password1 = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password.",
    )
    password2 = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, invitation: Invitation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        self.fields["full_name"].initial = invitation.full_name
        self.fields["timezone"].initial = invitation.clinic.timezone

    def clean(self) -> dict:
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            candidate = User(email=self.invitation.email, full_name=data.get("full_name", ""))
            try:
                validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data
