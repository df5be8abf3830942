"""Clinics (tenants), users with a role, client profiles, invitations and sessions."""

import zoneinfo
from datetime import time

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from accounts.branding import validate_accent_colour


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError("“%(value)s” is not a known time zone.", params={"value": value})


def available_timezones() -> frozenset[str]:
    return _TIMEZONES


_TIMEZONES = frozenset(zoneinfo.available_timezones())

# A new client's reminder time, until they choose their own. Defined here because the
# profile field needs it and accounts imports no other app; outreach.reminders reads it
# for a client who has no profile at all.
DEFAULT_REMINDER_TIME = time(18, 0)


DEFAULT_CRISIS_TEXT = (
    "If you are in danger or might act on thoughts of harming yourself, call your local "
    "emergency number now or go to the nearest emergency department. You can also "
    "contact your clinician; they are not watching messages around the clock."
)


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(default=now)
    # Branding, set by the clinic's admin (accounts.services.clinic_branding_update).
    # Labelled without the word "name", which the clinic's own Name field has.
    display_name = models.CharField(
        "shown to clients as",
        max_length=200,
        blank=True,
        help_text="The name clients see on their pages and in emails. Empty: the clinic's name.",
    )
    accent_colour = models.CharField(
        "accent colour",
        max_length=7,
        blank=True,
        validators=[validate_accent_colour],
        help_text="A dark colour such as #1d5c63; white text must read on it. Empty: Kindwork's.",
    )
    # A PNG the branding service made from the upload; served to the clinic's members only.
    logo = models.FileField(blank=True, editable=False, max_length=255)
    crisis_text = models.TextField(
        "crisis resources text",
        blank=True,
        max_length=2000,
        help_text="Shown to clients on the Help now page and whenever an answer raises a "
        "safety alert. Left empty, clients see: " + DEFAULT_CRISIS_TEXT,
    )
    # A clinic is closed, never deleted: its accounts are deactivated, its records kept.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def brand_name(self) -> str:
        """What clients see: the display name, else the clinic's name (also the app's name)."""
        return self.display_name or self.name


class CrisisContact(models.Model):
    """A phone number or link a clinic offers clients in a crisis (shown in order)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="crisis_contacts")
    label = models.CharField(max_length=120, help_text="For example: Samaritans (24 hours).")
    phone = models.CharField(
        max_length=40,
        blank=True,
        validators=[
            RegexValidator(
                r"^\+?[0-9 ()-]{2,39}$",
                "Enter digits, spaces, brackets or dashes, with an optional + first.",
            )
        ],
    )
    url = models.URLField(
        "link",
        blank=True,
        validators=[URLValidator(schemes=["https", "http"])],
        help_text="A web page or chat service, starting with https://.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if not self.phone and not self.url:
            raise ValidationError("Give a phone number, a link, or both.")

    @property
    def phone_href(self) -> str:
        """The number as a tel: link (digits and a leading + only)."""
        return "tel:" + "".join(c for c in self.phone if c.isdigit() or c == "+")


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    CLINICIAN = "clinician", "Clinician"
    CLIENT = "client", "Client"
    # Reads the caseloads of the clinicians in `User.supervises`; never writes.
    SUPERVISOR = "supervisor", "Supervisor"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who logs in. Email is the login; role decides the home page."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLIENT)
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Whether the user can log into the admin site."
    )
    date_joined = models.DateTimeField(default=now)
    # On the user, not a profile: clinicians have no profile row. Clients choose theirs
    # on ClientProfile.weekly_summary; this one turns any weekly summary off for anyone.
    weekly_summary_email = models.BooleanField(
        "weekly summary email",
        default=True,
        help_text="Send the weekly summary email on Monday mornings (for a clinician, "
        "the caseload summary).",
    )

    # A supervisor reads these clinicians' caseloads (accounts.access); set in the admin,
    # same clinic only (accounts.admin checks it).
    supervises = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="supervisors",
        limit_choices_to={"role": "clinician"},
        help_text="Clinicians of the same clinic whose caseloads this supervisor may read.",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            # Clinicians and clients always belong to a clinic; an operator admin may not.
            models.CheckConstraint(
                condition=models.Q(role=Role.ADMIN) | models.Q(clinic__isnull=False),
                name="user_non_admin_has_clinic",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_clinician(self) -> bool:
        return self.role == Role.CLINICIAN

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class ClientProfile(models.Model):
    """A client's place on a caseload and their reminder preferences."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="client_profile")
    clinician = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="caseload",
        limit_choices_to={"role": "clinician"},
    )
    reminder_time = models.TimeField(default=DEFAULT_REMINDER_TIME)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    reminders_paused_until = models.DateTimeField(null=True, blank=True)
    weekly_summary = models.BooleanField(default=True)
    # Dates in the client's own zone, set by the clinician. The last session is the
    # previous next session once its day has passed: the pre-session report starts there.
    next_session_on = models.DateField(null=True, blank=True)
    last_session_on = models.DateField(null=True, blank=True)
    # Reminders, summaries and news by email. Notifications go to every device the
    # client subscribed (notifications.PushSubscription); a client may turn email off
    # only while at least one device is subscribed, so something always reaches them.
    email_reminders = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    # Set when the clinician ends their work with the client (discharge); cleared when
    # they reopen it. The record stays; only new practice, plans and reminders stop.
    discharged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__email"]

    def __str__(self) -> str:
        return f"Client profile of {self.user}"

    @property
    def is_discharged(self) -> bool:
        return self.discharged_at is not None

    def clean(self) -> None:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValidationError("Quiet hours need both a start and an end.")
        if self.clinician_id and self.user_id:
            if self.clinician.clinic_id != self.user.clinic_id:
                raise ValidationError(
                    {"clinician": "The clinician must work in the client's clinic."}
                )
            if not self.clinician.is_clinician:
                raise ValidationError({"clinician": "Choose a clinician."})


class Invitation(models.Model):
    """A single-use, expiring invitation. Only a hash of the token is stored.

    The token itself is created when the email is sent (see accounts.emails),
    so the raw token never rests in the database, not even in the outbox.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(
        max_length=16, choices=[(Role.CLINICIAN, "Clinician"), (Role.CLIENT, "Client")]
    )
    # For client invitations: whose caseload the client joins.
    clinician = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="client_invitations"
    )
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role=Role.CLIENT) | models.Q(clinician__isnull=False),
                name="client_invitation_has_clinician",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now():
            return "expired"
        return "pending"

    @property
    def is_open(self) -> bool:
        return self.status == "pending"


class Handover(models.Model):
    """A clinician offers a client to a colleague of the same clinic, who accepts.

    Pending until accepted or cancelled; the client moves only on acceptance. An admin
    can still move a client directly (accounts.services.client_reassign): that move is
    kept as a handover accepted when it was made, so every move has its from and to.
    """

    client = models.ForeignKey(User, on_delete=models.CASCADE, related_name="handovers")
    from_clinician = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    to_clinician = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="handovers_offered"
    )
    created_at = models.DateTimeField(default=now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one open offer per client.
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="handover_one_open_per_client",
            )
        ]

    def __str__(self) -> str:
        return f"Handover of {self.client} to {self.to_clinician}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None


class UserSession(AbstractBaseSession):
    """Django's database session with the signed-in person's id in a column of its own.

    The store (accounts.session_store) reads a session and its person in one query on
    every signed-in request, and writes the column from the session's own data at every
    save; ending a person's sessions is a lookup by the column, not a decoding of every
    session. The column is not trusted on its own: the person is the one the session's
    data names (accounts.backends), and a row whose column says otherwise reads its
    person afresh. No database constraint: a session may outlive its person's row for
    a moment (deleting the person through Django deletes their sessions).
    """

    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"

    @classmethod
    def get_session_store_class(cls) -> type:
        from accounts.session_store import SessionStore

        return SessionStore
