"""Programs (a course of weeks), their published versions, groups of clients and
enrolments, and the record of each week opened for an enrolment."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from homework.models import ScheduleKind

MAX_WEEKS = 26


class Delivery(models.TextChoices):
    ON_DATE = "on_date", "Each week opens on its date"
    AFTER_PRACTICES = "after_practices", "A week opens once the previous one had enough practice"


class ProgramQuerySet(models.QuerySet):
    def visible_to_clinic(self, clinic_id: int | None) -> "ProgramQuerySet":
        return self.filter(models.Q(clinic__isnull=True) | models.Q(clinic_id=clinic_id))


class Program(models.Model):
    """A course. clinic=None marks a built-in, which is read-only (copy it to change it)."""

    clinic = models.ForeignKey(
        "accounts.Clinic", null=True, blank=True, on_delete=models.CASCADE, related_name="programs"
    )
    # Stable identifier of a built-in, so loading the library twice changes nothing.
    slug = models.SlugField(max_length=80, blank=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    delivery = models.CharField(max_length=20, choices=Delivery.choices, default=Delivery.ON_DATE)
    # With "after practices": how many logs in a week open the next one.
    practices_to_advance = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(49)]
    )
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(clinic__isnull=True),
                name="builtin_program_slug_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_builtin(self) -> bool:
        return self.clinic_id is None


class ProgramWeek(models.Model):
    """One week of the program being edited; enrolments read the published version."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="weeks")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    theme = models.CharField(max_length=200)
    # For the client, shown on Today while the week runs.
    intro = models.TextField(blank=True)
    # For clinicians: why this week comes here.
    rationale = models.TextField(blank=True)
    # A questionnaire code (e.g. "SCS-SF") asked once when the week opens; blank for none.
    instrument = models.CharField(max_length=32, blank=True)
    # When the week opens, its practices are the ones that helped this client most (their
    # own "what helps"), on the schedules of the listed items; the listed practices when
    # there is not enough data yet.
    from_what_helps = models.BooleanField(default=False)

    class Meta:
        ordering = ["program", "number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="program_week_unique"),
        ]

    def __str__(self) -> str:
        return f"Week {self.number}: {self.theme}"


class ProgramWeekItem(models.Model):
    """An exercise of a week with its schedule (the kinds a single assignment has)."""

    week = models.ForeignKey(ProgramWeek, on_delete=models.CASCADE, related_name="items")
    exercise = models.ForeignKey(
        "homework.Exercise", on_delete=models.PROTECT, related_name="program_items"
    )
    position = models.PositiveSmallIntegerField(default=0)
    schedule_kind = models.CharField(
        max_length=16, choices=ScheduleKind.choices, default=ScheduleKind.DAILY
    )
    # Bit i set = weekday i (Monday = 0), as on Assignment.
    weekdays = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(127)]
    )
    times_per_week = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )

    class Meta:
        ordering = ["week", "position", "id"]

    def __str__(self) -> str:
        return f"Item {self.pk} of week {self.week_id}"


class ProgramVersion(models.Model):
    """What a program said when it was published: enrolments follow one version, so
    editing a program never rewrites what enrolled clients already did."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # {"delivery", "practices_to_advance", "weeks": [{"number", "theme", "intro",
    #  "rationale", "instrument", "from_what_helps" (absent before it existed: false),
    #  "items": [{"exercise_id", "schedule_kind", "weekdays",
    #  "times_per_week"}]}]}
    snapshot = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["program", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="program_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} v{self.number}"

    @property
    def weeks(self) -> list[dict]:
        return self.snapshot["weeks"]

    @property
    def week_count(self) -> int:
        return len(self.snapshot["weeks"])


class Group(models.Model):
    """A named set of one clinician's clients: a group course or a cohort."""

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="+")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_groups"
    )
    name = models.CharField(max_length=120)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="client_groups_in")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    REMOVED = "removed", "Taken out"
    FINISHED = "finished", "Finished"


class Enrolment(models.Model):
    """A client following a program version from a start date, in their own time zone.

    The database is the schedule: `next_week_on` is the client's local date on which
    the next week opens (None once there is no next week); the beat opens weeks whose
    date has come in the client's zone.
    """

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrolments")
    version = models.ForeignKey(ProgramVersion, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolments"
    )
    start_date = models.DateField()
    # 0 until week 1 opens.
    current_week = models.PositiveSmallIntegerField(default=0)
    # Local date the current week opened on.
    current_week_on = models.DateField(null=True, blank=True)
    next_week_on = models.DateField(null=True, blank=True)
    # Each move starts a new round, so a week can open again after a move back while a
    # beat and a retry still cannot open the same week twice.
    round = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    # Why the due week could not open (for the clinician, in words), recorded once when
    # it was first refused and cleared when the week opens; blank when nothing is wrong.
    blocked_reason = models.TextField(blank=True)
    blocked_week = models.PositiveSmallIntegerField(null=True, blank=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_week_on"],
                condition=models.Q(status="active"),
                name="enrolment_due",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "client"],
                condition=models.Q(status__in=["active", "paused"]),
                name="enrolment_one_live_per_program",
            ),
        ]

    def __str__(self) -> str:
        return f"Enrolment {self.pk}"

    @property
    def week_count(self) -> int:
        return self.version.week_count


class WeekOpening(models.Model):
    """A week opened for an enrolment: the plans it made. Unique per enrolment, round
    and week, so two beats or a retry never open a week twice."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="openings")
    round = models.PositiveIntegerField(default=0)
    week_number = models.PositiveSmallIntegerField()
    local_date = models.DateField()
    assignments = models.ManyToManyField("homework.Assignment", related_name="+")
    # The week's practices were chosen from the client's own "what helps".
    from_what_helps = models.BooleanField(default=False)
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["enrolment", "round", "week_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "round", "week_number"], name="week_opening_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Week {self.week_number} of enrolment {self.enrolment_id}"
