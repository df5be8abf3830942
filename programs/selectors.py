"""Reads for programs, groups and enrolments: who may see which, a client's course week
by week, and a group's weeks with who needs attention.

Every read here is a fixed number of queries whatever the size of a group or the
length of a program (tests/programs/test_query_counts.py).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.access import clients_visible_to
from accounts.models import Role, User
from core.compiled import CompiledModels, CompiledValues
from homework.models import Assignment, Completion, Exercise
from homework.schedule import NO_PLAN, Adherence, Schedule, adherence_as_of, local_date
from homework.selectors.practice import schedules_for
from programs.models import Enrolment, EnrolmentStatus, Group, Program, ProgramVersion, WeekOpening

LIVE = (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED)
# Below this share of the week's planned practice (to date), a member needs attention.
ATTENTION_BELOW = 0.5


def programs_visible_to(user: User) -> QuerySet[Program]:
    """Built-ins and the caller's clinic's programs; a client sees none."""
    if user.role == Role.CLIENT or (not user.clinic_id and not user.is_superuser):
        return Program.objects.none()
    if user.is_superuser and not user.clinic_id:
        return Program.objects.all()
    return Program.objects.visible_to_clinic(user.clinic_id).filter(archived_at__isnull=True)


def program_for_user_or_404(user: User, program_id: int) -> Program:
    program = programs_visible_to(user).filter(pk=program_id).first()
    if program is None:
        raise Http404("No such program.")
    return program


def program_latest_version(program: Program) -> ProgramVersion | None:
    return program.versions.order_by("-number").first()


def groups_visible_to(user: User) -> QuerySet[Group]:
    """A clinician sees their own groups; nobody else sees any."""
    if user.role != Role.CLINICIAN:
        return Group.objects.none()
    return Group.objects.filter(clinician=user, clinic_id=user.clinic_id)


def group_for_user_or_404(user: User, group_id: int) -> Group:
    group = groups_visible_to(user).filter(pk=group_id).first()
    if group is None:
        raise Http404("No such group.")
    return group


_MEMBER_ZONES = CompiledValues(
    lambda group_id: (
        User.objects.filter(client_groups_in=group_id).order_by("pk").values("pk", "timezone")
    )
)


def group_member_zones(*, group_id: int) -> list[tuple[int, str]]:
    """The group's members' ids and time zones, in one query."""
    return [(row["pk"], row["timezone"]) for row in _MEMBER_ZONES.rows(group_id)]


def enrolments_visible_to(user: User) -> QuerySet[Enrolment]:
    """A clinician sees their caseload's enrolments, a client their own."""
    if user.role == Role.CLIENT:
        return Enrolment.objects.filter(client=user)
    return Enrolment.objects.filter(client__in=clients_visible_to(user))


def exercise_titles(ids: set[int]) -> dict[int, str]:
    return dict(Exercise.objects.filter(pk__in=ids).values_list("pk", "title"))


@dataclass(frozen=True)
class CourseWeek:
    number: int
    theme: str
    intro: str
    practices: list[str]
    opened_on: date | None = None
    adherence: Adherence = NO_PLAN
    is_current: bool = False
    from_what_helps: bool = False


@dataclass(frozen=True)
class Course:
    enrolment: Enrolment
    title: str
    week_count: int
    current: CourseWeek | None
    next: CourseWeek | None
    weeks: list[CourseWeek] = field(default_factory=list)

    @property
    def is_paused(self) -> bool:
        return self.enrolment.status == EnrolmentStatus.PAUSED


def _week_adherence(
    assignments: list[Assignment],
    done: dict[int, set[date]],
    today: date,
    schedules: dict[int, Schedule],
) -> Adherence:
    """Planned and done in a course week. The schedules carry the plans' pauses and ends
    from their history, so a paused course's days ask for nothing (they are not missed)."""
    total = NO_PLAN
    for assignment in assignments:
        total += adherence_as_of(
            schedules.get(assignment.pk) or Schedule.of(assignment),
            assignment.start_date,
            assignment.end_date or today,
            done.get(assignment.pk, set()),
            today=today,
        )
    return total


@dataclass(frozen=True)
class _OpenedWeek:
    """A week opened for an enrolment, with the plans it made (ordered by id)."""

    opening: WeekOpening
    plans: list[Assignment]

    @property
    def round(self) -> int:
        return self.opening.round

    @property
    def week_number(self) -> int:
        return self.opening.week_number


def _openings(enrolments: list[Enrolment]) -> dict[int, list[_OpenedWeek]]:
    """The openings of the enrolments, with their plans (two queries).

    The plans come through the openings' link table in one query, as rows rather than
    a prefetch: a prefetch builds a related manager and a queryset for every opening
    each time its plans are read, which cost the group page about a fifth of its Python.
    """
    openings = list(WeekOpening.objects.filter(enrolment__in=[e.pk for e in enrolments]))
    plans_of: dict[int, list[Assignment]] = defaultdict(list)
    links = (
        WeekOpening.assignments.through.objects.filter(weekopening_id__in=[o.pk for o in openings])
        .select_related("assignment")
        .order_by("assignment_id")
    )
    for link in links:
        plans_of[link.weekopening_id].append(link.assignment)
    found: dict[int, list[_OpenedWeek]] = defaultdict(list)
    for opening in openings:
        found[opening.enrolment_id].append(_OpenedWeek(opening, plans_of[opening.pk]))
    return found


def _done_dates(assignment_ids: list[int]) -> dict[int, set[date]]:
    done: dict[int, set[date]] = defaultdict(set)
    for assignment_id, day in Completion.objects.filter(
        assignment_id__in=assignment_ids
    ).values_list("assignment_id", "local_date"):
        done[assignment_id].add(day)
    return done


# The today page reads this on every request: compiled once per process (core.compiled).
_CURRENT_ENROLMENT = CompiledModels(
    lambda client_id: (
        Enrolment.objects.filter(client_id=client_id, status__in=LIVE)
        .select_related("version", "program")
        .order_by("-created_at")[:1]
    ),
    int,
)


def course_for_client(*, client: User, now: datetime | None = None) -> Course | None:
    """The client's current course (active or paused), week by week; None without one."""
    found = _CURRENT_ENROLMENT.all(client.pk)
    if not found:
        return None
    enrolment = found[0]
    today = local_date(now or timezone.now(), client.zone)
    weeks = enrolment.version.weeks
    openings = sorted(_openings([enrolment])[enrolment.pk], key=lambda o: (o.round, o.week_number))
    plans = [a for o in openings for a in o.plans]
    done = _done_dates([a.pk for a in plans])
    schedules = schedules_for(plans, zone_of={client.pk: client.zone})
    titles = exercise_titles(
        {i["exercise_id"] for w in weeks for i in w["items"]} | {a.exercise_id for a in plans}
    )
    latest: dict[int, _OpenedWeek] = {o.week_number: o for o in openings}

    def week(number: int) -> CourseWeek:
        data = weeks[number - 1]
        opening = latest.get(number)
        return CourseWeek(
            number=number,
            theme=data["theme"],
            intro=data["intro"],
            # What the week gave this client when it opened (a week built from "what
            # helps" differs from the list), else what the program lists.
            practices=[titles.get(a.exercise_id, "") for a in opening.plans]
            if opening
            else [titles.get(i["exercise_id"], "") for i in data["items"]],
            opened_on=opening.opening.local_date if opening else None,
            adherence=_week_adherence(opening.plans, done, today, schedules)
            if opening
            else NO_PLAN,
            is_current=number == enrolment.current_week,
            from_what_helps=bool(opening and opening.opening.from_what_helps),
        )

    count = len(weeks)
    return Course(
        enrolment=enrolment,
        title=enrolment.version.snapshot.get("title", enrolment.program.title),
        week_count=count,
        current=week(enrolment.current_week) if 1 <= enrolment.current_week <= count else None,
        next=week(enrolment.current_week + 1) if enrolment.current_week < count else None,
        weeks=[week(n) for n in range(1, count + 1)],
    )


@dataclass(frozen=True)
class MemberRow:
    client: User
    enrolment: Enrolment | None
    week: int
    week_count: int
    theme: str
    adherence: Adherence
    needs_attention: bool
    reason: str


@dataclass(frozen=True)
class GroupOverview:
    group: Group
    members: list[MemberRow]
    # Week number -> the group's practice planned and done in that week.
    by_week: list[tuple[int, Adherence]]

    @property
    def attention(self) -> list[MemberRow]:
        return [m for m in self.members if m.needs_attention]


def group_overview(*, group: Group, now: datetime | None = None) -> GroupOverview:
    """Each member's current week and its practice so far, the group's practice by course
    week, and who needs attention. Five queries whatever the group's size."""
    now = now or timezone.now()
    members = list(group.members.order_by("full_name", "email"))
    enrolments = list(
        Enrolment.objects.filter(group=group, client__in=[m.pk for m in members])
        .select_related("version")
        .order_by("client_id", "-created_at")
    )
    latest: dict[int, Enrolment] = {}
    for enrolment in enrolments:
        latest.setdefault(enrolment.client_id, enrolment)
    openings = _openings(list(latest.values()))
    plans = [a for ops in openings.values() for o in ops for a in o.plans]
    done = _done_dates([a.pk for a in plans])
    schedules = schedules_for(plans, zone_of={m.pk: m.zone for m in members})
    by_week: dict[int, Adherence] = defaultdict(lambda: NO_PLAN)
    rows = []
    for client in members:
        enrolment = latest.get(client.pk)
        today = local_date(now, client.zone)
        current = NO_PLAN
        theme = ""
        if enrolment is not None:
            for opening in openings.get(enrolment.pk, []):
                if opening.round != enrolment.round:
                    continue
                adherence = _week_adherence(opening.plans, done, today, schedules)
                by_week[opening.week_number] += adherence
                if opening.week_number == enrolment.current_week:
                    current = adherence
            if 1 <= enrolment.current_week <= enrolment.week_count:
                theme = enrolment.version.weeks[enrolment.current_week - 1]["theme"]
        reason = ""
        if enrolment is None or enrolment.status not in LIVE:
            reason = ""
        elif enrolment.blocked_reason:
            reason = f"Week {enrolment.blocked_week} could not start: {enrolment.blocked_reason}"
        elif enrolment.status == EnrolmentStatus.PAUSED:
            reason = "Course paused"
        elif current.planned >= 2 and (current.ratio or 0) < ATTENTION_BELOW:
            reason = "Less than half of this week's practice so far"
        rows.append(
            MemberRow(
                client=client,
                enrolment=enrolment,
                week=enrolment.current_week if enrolment else 0,
                week_count=enrolment.week_count if enrolment else 0,
                theme=theme,
                adherence=current,
                needs_attention=bool(reason),
                reason=reason,
            )
        )
    return GroupOverview(group=group, members=rows, by_week=sorted(by_week.items()))


def week_dates(*, start: date, number: int) -> tuple[date, date]:
    first = start + timedelta(days=7 * (number - 1))
    return first, first + timedelta(days=6)


def course_weeks_for_clients(*, client_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(current week, number of weeks) of each client's live course that has started, by
    client id: one query, for the weekly summaries ("week 3 of 8", no theme or exercise)."""
    found: dict[int, tuple[int, int]] = {}
    rows = (
        Enrolment.objects.filter(
            client_id__in=list(client_ids), status__in=LIVE, current_week__gt=0
        )
        .select_related("version")
        .order_by("client_id", "-created_at")
    )
    for enrolment in rows:
        found.setdefault(enrolment.client_id, (enrolment.current_week, enrolment.week_count))
    return found
