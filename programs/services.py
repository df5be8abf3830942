"""Writes for programs, groups and enrolments.

Plans are made only through homework's assignment services and questionnaires only
through measures' services: a program week is a set of ordinary plans, so reminders,
summaries, adherence, "what helps" and exports treat it like any other. Dates are the
client's local dates ("today" is today in the client's zone), so a week opens on the
client's own calendar and daylight-saving changes move nothing.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import router, transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.access import clients_visible_to
from accounts.models import Role, User
from audit.models import AuditAction
from audit.services import audit_record, audit_records_create
from core.bulk import insert_rows
from homework.models import Assignment, AssignmentStatus, Exercise, ScheduleKind
from homework.schedule import Schedule, local_date, week_quota, weekdays_from_mask, weekdays_mask
from homework.services.assignments import (
    NewPlan,
    assignment_create,
    assignment_end,
    assignment_pause,
    assignment_resume,
    assignment_schedule_errors,
    assignments_create_allowed,
)
from measures.services import measure_assignments_create_once
from programs.models import (
    MAX_WEEKS,
    Delivery,
    Enrolment,
    EnrolmentStatus,
    Group,
    Program,
    ProgramVersion,
    ProgramWeek,
    ProgramWeekItem,
    WeekOpening,
)

logger = logging.getLogger(__name__)

LIBRARY_PATH = Path(__file__).resolve().parent / "library" / "programs.json"
WEEK = timedelta(days=7)


# --- Programs: editing, publishing versions, the built-in library ---


@dataclass(frozen=True)
class ItemInput:
    exercise_id: int | None
    schedule_kind: str
    weekdays: Sequence[int] = ()
    times_per_week: int | None = None


@dataclass(frozen=True)
class WeekInput:
    theme: str
    intro: str = ""
    rationale: str = ""
    instrument: str = ""
    items: Sequence[ItemInput] = field(default_factory=tuple)
    from_what_helps: bool = False


def week_practices(items: Iterable[dict]) -> int:
    """Practices a week of snapshot items asks for (every day counts 7)."""
    total = 0
    for item in items:
        schedule = Schedule(
            kind=item["schedule_kind"],
            start_date=date(2024, 1, 1),  # a Monday: a full week
            weekdays=weekdays_mask(item.get("weekdays") or ()),
            times_per_week=item.get("times_per_week"),
        )
        total += week_quota(schedule, date(2024, 1, 1))
    return total


def _item_dict(item: ItemInput) -> dict[str, Any]:
    return {
        "exercise_id": item.exercise_id,
        "schedule_kind": item.schedule_kind,
        "weekdays": sorted(set(item.weekdays))
        if item.schedule_kind == ScheduleKind.WEEKDAYS
        else [],
        "times_per_week": item.times_per_week
        if item.schedule_kind == ScheduleKind.TIMES_PER_WEEK
        else None,
    }


def program_errors(
    *,
    clinic_id: int | None,
    title: str,
    delivery: str,
    practices_to_advance: int | None,
    weeks: Sequence[WeekInput],
) -> dict[str, list[str]]:
    """Problems with a program by field (empty when sound). Week fields are named
    `weeks.<n>.<field>` with n from 1, as the builder shows them."""
    from measures.engine import UnknownInstrument, instrument_get

    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = ["Give the program a title."]
    elif len(title) > 200:
        errors["title"] = ["Keep the title under 200 characters."]
    if delivery not in Delivery.values:
        errors["delivery"] = ["Choose when each week opens."]
    if not weeks:
        errors["weeks"] = ["Add at least one week."]
    elif len(weeks) > MAX_WEEKS:
        errors["weeks"] = [f"A program can have up to {MAX_WEEKS} weeks."]
    exercise_ids = {i.exercise_id for w in weeks for i in w.items if i.exercise_id is not None}
    exercises = {
        e.pk: e for e in Exercise.objects.visible_to_clinic(clinic_id).filter(pk__in=exercise_ids)
    }
    for number, week in enumerate(weeks, start=1):
        prefix = f"weeks.{number}"
        if not week.theme.strip():
            errors[f"{prefix}.theme"] = [f"Week {number}: give the week a theme."]
        if not week.items:
            errors[f"{prefix}.items"] = [f"Week {number}: add at least one exercise."]
        if week.instrument:
            try:
                instrument_get(week.instrument)
            except UnknownInstrument:
                errors[f"{prefix}.instrument"] = [f"Week {number}: choose a questionnaire."]
        for position, item in enumerate(week.items, start=1):
            where = f"{prefix}.items.{position}"
            exercise = exercises.get(item.exercise_id)  # type: ignore[arg-type]
            if exercise is None:
                errors[f"{where}.exercise"] = [
                    f"Week {number}: choose an exercise from your library."
                ]
            elif exercise.is_archived:
                errors[f"{where}.exercise"] = [
                    f"Week {number}: “{exercise.title}” is archived. Choose another exercise."
                ]
            schedule = assignment_schedule_errors(
                schedule_kind=item.schedule_kind,
                weekdays=item.weekdays,
                times_per_week=item.times_per_week,
                start_date=date(2024, 1, 1),
                end_date=None,
                note="",
            )
            for name, messages in schedule.items():
                errors[f"{where}.{name}"] = [f"Week {number}: {m}" for m in messages]
    if delivery == Delivery.AFTER_PRACTICES:
        if practices_to_advance is None or practices_to_advance < 1:
            errors["practices_to_advance"] = [
                "Say how many practices in a week open the next one (at least 1)."
            ]
        elif weeks and not any(k.startswith("weeks.") for k in errors):
            # Only weeks with a week after them need to reach K.
            fewest = min(
                (week_practices([_item_dict(i) for i in w.items]) for w in weeks[:-1]),
                default=practices_to_advance,
            )
            if practices_to_advance > fewest:
                errors["practices_to_advance"] = [
                    f"A week asks for as few as {fewest} practices, so the next week could "
                    f"never open after {practices_to_advance}. Choose {fewest} or fewer."
                ]
    return errors


def program_snapshot(program: Program) -> dict[str, Any]:
    """The program as enrolments will follow it (two queries)."""
    weeks = program.weeks.order_by("number").prefetch_related("items")
    return {
        "title": program.title,
        "delivery": program.delivery,
        "practices_to_advance": program.practices_to_advance,
        "weeks": [
            {
                "number": week.number,
                "theme": week.theme,
                "intro": week.intro,
                "rationale": week.rationale,
                "instrument": week.instrument,
                "from_what_helps": week.from_what_helps,
                "items": [
                    {
                        "exercise_id": item.exercise_id,
                        "schedule_kind": item.schedule_kind,
                        "weekdays": weekdays_from_mask(item.weekdays),
                        "times_per_week": item.times_per_week,
                    }
                    for item in week.items.all()
                ],
            }
            for week in weeks
        ],
    }


def program_publish(*, program: Program, now: datetime | None = None) -> ProgramVersion:
    """The program's newest version, made anew only when the program changed."""
    snapshot = program_snapshot(program)
    latest = program.versions.order_by("-number").first()
    if latest is not None and latest.snapshot == snapshot:
        return latest
    return ProgramVersion.objects.create(
        program=program,
        number=(latest.number + 1) if latest else 1,
        snapshot=snapshot,
        created_at=now or timezone.now(),
    )


def _weeks_write(program: Program, weeks: Sequence[WeekInput]) -> None:
    program.weeks.all().delete()
    week_rows = ProgramWeek.objects.bulk_create(
        ProgramWeek(
            program=program,
            number=number,
            theme=week.theme.strip(),
            intro=week.intro.strip(),
            rationale=week.rationale.strip(),
            instrument=week.instrument,
            from_what_helps=week.from_what_helps,
        )
        for number, week in enumerate(weeks, start=1)
    )
    ProgramWeekItem.objects.bulk_create(
        ProgramWeekItem(
            week=row,
            exercise_id=item.exercise_id,
            position=position,
            schedule_kind=item.schedule_kind,
            weekdays=weekdays_mask(item.weekdays)
            if item.schedule_kind == ScheduleKind.WEEKDAYS
            else 0,
            times_per_week=item.times_per_week
            if item.schedule_kind == ScheduleKind.TIMES_PER_WEEK
            else None,
        )
        for row, week in zip(week_rows, weeks, strict=True)
        for position, item in enumerate(week.items)
    )


def _check_clinician(user: User) -> None:
    if user.role != Role.CLINICIAN:
        raise ValidationError("Only a clinician can change programs, groups and enrolments.")


@transaction.atomic
def program_save(
    *,
    clinician: User,
    title: str,
    weeks: Sequence[WeekInput],
    summary: str = "",
    delivery: str = Delivery.ON_DATE,
    practices_to_advance: int | None = None,
    program: Program | None = None,
    now: datetime | None = None,
) -> Program:
    """Create or change a clinic's program and publish it as a new version.

    Enrolled clients keep the version they follow until moved to the new one.
    Raises ValidationError (field messages), writing nothing.
    """
    _check_clinician(clinician)
    if program is not None and program.clinic_id != clinician.clinic_id:
        raise ValidationError("Built-in programs are read-only: copy one to change it.")
    errors = program_errors(
        clinic_id=clinician.clinic_id,
        title=title,
        delivery=delivery,
        practices_to_advance=practices_to_advance,
        weeks=weeks,
    )
    if errors:
        raise ValidationError(errors)
    if program is None:
        program = Program(clinic_id=clinician.clinic_id, created_by=clinician)
    program.title = title.strip()
    program.summary = summary.strip()
    program.delivery = delivery
    program.practices_to_advance = (
        practices_to_advance if delivery == Delivery.AFTER_PRACTICES else None
    )
    program.save()
    _weeks_write(program, weeks)
    program_publish(program=program, now=now)
    return program


def _week_inputs(snapshot: dict) -> list[WeekInput]:
    return [
        WeekInput(
            theme=w["theme"],
            intro=w["intro"],
            rationale=w["rationale"],
            instrument=w["instrument"],
            from_what_helps=w.get("from_what_helps", False),
            items=[
                ItemInput(
                    exercise_id=i["exercise_id"],
                    schedule_kind=i["schedule_kind"],
                    weekdays=i["weekdays"],
                    times_per_week=i["times_per_week"],
                )
                for i in w["items"]
            ],
        )
        for w in snapshot["weeks"]
    ]


@transaction.atomic
def program_copy(*, clinician: User, program: Program) -> Program:
    """A clinic's own editable copy of a program it can see (built-in or its own)."""
    _check_clinician(clinician)
    snapshot = program_snapshot(program)
    copy = program_save(
        clinician=clinician,
        title=f"{program.title} (copy)"[:200],
        summary=program.summary,
        delivery=program.delivery,
        practices_to_advance=program.practices_to_advance,
        weeks=_week_inputs(snapshot),
    )
    copy.copied_from = program
    copy.save(update_fields=["copied_from", "updated_at"])
    return copy


def program_library_load(*, path: Path = LIBRARY_PATH, using: str | None = None) -> int:
    """Create or update the built-in programs from their data file; returns how many
    changed. Idempotent: an unchanged file writes nothing."""
    using = using or router.db_for_write(Program)
    entries = json.loads(path.read_text())["programs"]
    changed = 0
    with transaction.atomic(using=using):
        exercises = dict(
            Exercise.objects.using(using).filter(clinic__isnull=True).values_list("slug", "pk")
        )
        for entry in entries:
            weeks = [
                WeekInput(
                    theme=w["theme"],
                    intro=w["intro"],
                    rationale=w["rationale"],
                    instrument=w["instrument"],
                    from_what_helps=w.get("from_what_helps", False) is True,
                    items=[
                        ItemInput(
                            exercise_id=exercises.get(i["exercise"]),
                            schedule_kind=i["schedule_kind"],
                            weekdays=i.get("weekdays", ()),
                            times_per_week=i.get("times_per_week"),
                        )
                        for i in w["items"]
                    ],
                )
                for w in entry["weeks"]
            ]
            errors = program_errors(
                clinic_id=None,
                title=entry["title"],
                delivery=entry["delivery"],
                practices_to_advance=entry["practices_to_advance"],
                weeks=weeks,
            )
            if errors:
                raise ValueError(f"Built-in program {entry['slug']!r} is not valid: {errors}")
            program = (
                Program.objects.using(using).filter(clinic__isnull=True, slug=entry["slug"]).first()
            )
            wanted = {
                "title": entry["title"],
                "summary": entry["summary"],
                "delivery": entry["delivery"],
                "practices_to_advance": entry["practices_to_advance"],
            }
            if program is not None:
                latest = program.versions.order_by("-number").first()
                current = {name: getattr(program, name) for name in wanted}
                if current == wanted and latest is not None:
                    expected = {
                        "title": entry["title"],
                        "delivery": entry["delivery"],
                        "practices_to_advance": entry["practices_to_advance"],
                        "weeks": [
                            {
                                "number": n,
                                "theme": w.theme,
                                "intro": w.intro,
                                "rationale": w.rationale,
                                "instrument": w.instrument,
                                "from_what_helps": w.from_what_helps,
                                "items": [_item_dict(i) for i in w.items],
                            }
                            for n, w in enumerate(weeks, start=1)
                        ],
                    }
                    if latest.snapshot == expected:
                        continue
            else:
                program = Program(clinic=None, slug=entry["slug"])
            for name, value in wanted.items():
                setattr(program, name, value)
            program.save(using=using)
            _weeks_write(program, weeks)
            program_publish(program=program)
            changed += 1
    return changed


# --- Groups ---


def _person(user: User) -> str:
    return user.full_name or user.email


@transaction.atomic
def group_save(
    *,
    clinician: User,
    name: str,
    member_ids: Iterable[int],
    group: Group | None = None,
    now: datetime | None = None,
) -> Group:
    """Create or change a group of the clinician's own clients."""
    _check_clinician(clinician)
    member_ids = set(member_ids)
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Give the group a name."]
    elif len(name) > 120:
        errors["name"] = ["Keep the name under 120 characters."]
    found = set(
        clients_visible_to(clinician).filter(pk__in=member_ids).values_list("pk", flat=True)
    )
    if member_ids - found:
        # Another clinician's client answers like one that does not exist.
        errors["members"] = ["Choose clients from your own caseload."]
    if errors:
        raise ValidationError(errors)
    if group is None:
        group = Group.objects.create(
            clinic_id=clinician.clinic_id,
            clinician=clinician,
            name=name.strip(),
            created_at=now or timezone.now(),
        )
    else:
        group.name = name.strip()
        group.save(update_fields=["name"])
    group.members.set(found)
    return group


# --- Enrolments ---


def _clients_refusals(
    *, clinician: User, clients: Sequence[User], start_date: date | None, now: datetime
) -> dict[str, list[str]]:
    """Why each client cannot take part, one message naming each (empty when all can)."""
    errors: dict[str, list[str]] = {}
    if not clients:
        errors["clients"] = ["Choose at least one client."]
        return errors
    on_caseload = set(
        clients_visible_to(clinician)
        .filter(pk__in=[c.pk for c in clients])
        .values_list("pk", flat=True)
    )
    problems = []
    for client in clients:
        if client.pk not in on_caseload:
            # Never a name here: the caller may not know who this is.
            problems.append(f"Client {client.pk}: not on your caseload.")
        elif not client.is_active:
            problems.append(f"{_person(client)}: the account is deactivated.")
        elif start_date is not None and start_date < local_date(now, client.zone):
            problems.append(
                f"{_person(client)}: the start date is before today in their time zone."
            )
    if problems:
        errors["clients"] = problems
    return errors


@transaction.atomic
def enrolments_create(
    *,
    clinician: User,
    program: Program,
    clients: Sequence[User],
    start_date: date | None,
    group: Group | None = None,
    now: datetime | None = None,
) -> list[Enrolment]:
    """Enrol every client, or none: a ValidationError names each client who cannot be
    enrolled and why. A week whose date has come opens at once."""
    now = now or timezone.now()
    _check_clinician(clinician)
    errors: dict[str, list[str]] = {}
    if program.clinic_id not in (None, clinician.clinic_id) or program.archived_at is not None:
        errors["program"] = ["Choose a program from your list."]
    if start_date is None:
        errors["start_date"] = ["Choose a start date."]
    errors.update(
        _clients_refusals(clinician=clinician, clients=clients, start_date=start_date, now=now)
    )
    already = set(
        Enrolment.objects.filter(
            program=program,
            client__in=[c.pk for c in clients],
            status__in=[EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED],
        ).values_list("client_id", flat=True)
    )
    if already:
        errors.setdefault("clients", []).extend(
            f"{_person(c)}: already in this program." for c in clients if c.pk in already
        )
    if errors:
        raise ValidationError(errors)
    assert start_date is not None
    version = program_publish(program=program, now=now)
    enrolments = Enrolment.objects.bulk_create(
        Enrolment(
            program=program,
            version=version,
            client=client,
            clinician=clinician,
            group=group,
            start_date=start_date,
            next_week_on=start_date,
            created_at=now,
        )
        for client in clients
    )
    for enrolment, client in zip(enrolments, clients, strict=True):
        enrolment.client = client
        enrolment.clinician = clinician
        enrolment.version = version
        enrolment.program = program
    audit_records_create(
        actor=clinician,
        action=AuditAction.CREATE,
        targets=[(enrolment, enrolment.client_id) for enrolment in enrolments],
    )
    _weeks_open(enrolments=enrolments, now=now)
    return enrolments


def _week_assignments(enrolment: Enrolment) -> list[Assignment]:
    opening = (
        WeekOpening.objects.filter(
            enrolment=enrolment, round=enrolment.round, week_number=enrolment.current_week
        )
        .prefetch_related("assignments")
        .first()
    )
    return list(opening.assignments.all()) if opening else []


def _practices_logged(enrolments: Sequence[Enrolment]) -> dict[int, int]:
    """Logs in each enrolment's current week, by enrolment id (one query)."""
    if not enrolments:
        return {}
    through = WeekOpening.assignments.through
    current = Q()
    for enrolment in enrolments:
        current |= Q(
            weekopening__enrolment_id=enrolment.pk,
            weekopening__round=enrolment.round,
            weekopening__week_number=enrolment.current_week,
        )
    rows = (
        through.objects.filter(current)
        .values("weekopening__enrolment_id")
        .annotate(logged=Count("assignment__completions"))
    )
    return {row["weekopening__enrolment_id"]: row["logged"] for row in rows}


def _week_to_open(enrolment: Enrolment, today: date, logged: int) -> tuple[int, date] | None:
    """(week number, its local date) when a week is due today, else None."""
    if enrolment.next_week_on is None or enrolment.next_week_on > today:
        return None
    snapshot = enrolment.version.snapshot
    week = enrolment.current_week + 1
    opens_on = enrolment.next_week_on
    if snapshot["delivery"] == Delivery.AFTER_PRACTICES:
        if week > 1 and logged < (snapshot["practices_to_advance"] or 0):
            return None  # not pushed on: the week stays open until enough practice
        # A week that waited for practice runs a full seven days from the day it opens.
        opens_on = today
    else:
        # Caught up after downtime: open the week the calendar has reached, not every
        # week missed on the way.
        behind = (today - opens_on).days // 7
        week += behind
        opens_on += WEEK * behind
    return week, opens_on


def _course_finish(*, enrolment: Enrolment, today: date, now: datetime) -> None:
    enrolment.status = EnrolmentStatus.FINISHED
    enrolment.next_week_on = None
    enrolment.save(update_fields=["status", "next_week_on", "updated_at"])
    for assignment in _live(_week_assignments(enrolment), today):
        assignment_end(assignment=assignment, actor=enrolment.clinician, now=now)


def _helped_items(
    opening: Sequence[tuple[Enrolment, date, int, date]],
) -> dict[int, list[dict]]:
    """For weeks built from "what helps": each client's items, by enrolment id.

    The exercises that helped the client most (measures' what_helps, best first) take
    the listed items' places and schedules in order; listed practices fill any place
    left. An enrolment without enough data (nothing that seems to help yet, or only
    exercises it can no longer be given) is left out: its week uses the listed items.
    Two queries, however many clients.
    """
    from measures.insights import what_helps_by_client

    wanted = [
        (enrolment, number)
        for enrolment, _, number, _ in opening
        if enrolment.version.weeks[number - 1].get("from_what_helps")
    ]
    if not wanted:
        return {}
    helped = what_helps_by_client(clients=[enrolment.client for enrolment, _ in wanted])
    usable = {
        pk: (clinic_id, archived)
        for pk, clinic_id, archived in Exercise.objects.filter(
            pk__in={i.exercise_id for insights in helped.values() for i in insights}
        ).values_list("pk", "clinic_id", "archived_at")
    }
    result: dict[int, list[dict]] = {}
    for enrolment, number in wanted:
        listed = enrolment.version.weeks[number - 1]["items"]
        chosen: list[int] = []
        for insight in helped.get(enrolment.client_id, []):
            clinic_id, archived = usable.get(insight.exercise_id, (-1, None))
            if (
                insight.seems_to_help
                and archived is None
                and clinic_id in (None, enrolment.clinician.clinic_id)
                and insight.exercise_id not in chosen
            ):
                chosen.append(insight.exercise_id)
        if not chosen:
            continue
        chosen = chosen[: len(listed)]
        chosen += [i["exercise_id"] for i in listed if i["exercise_id"] not in chosen][
            : len(listed) - len(chosen)
        ]
        result[enrolment.pk] = [
            {**item, "exercise_id": exercise_id}
            for item, exercise_id in zip(listed, chosen, strict=False)
        ]
    return result


def _blocked_record(refused: dict[int, tuple[Enrolment, int, str]], *, now: datetime) -> None:
    """Note why each refused week could not open, once: an enrolment already showing the
    same reason for the same week is not written (or logged) again."""
    changed: dict[tuple[int, str], list[int]] = defaultdict(list)
    for enrolment, number, reason in refused.values():
        if enrolment.blocked_week == number and enrolment.blocked_reason == reason:
            continue
        changed[(number, reason)].append(enrolment.pk)
        # Ids only: the reason can name a client or an exercise.
        logger.warning("Program week %s not opened for enrolment %s", number, enrolment.pk)
    for (number, reason), ids in changed.items():
        Enrolment.objects.filter(pk__in=ids).update(
            blocked_reason=reason, blocked_week=number, blocked_at=now, updated_at=now
        )


def _weeks_open(*, enrolments: Sequence[Enrolment], now: datetime) -> int:
    """Open the week that is due for each enrolment, in bulk; returns how many opened.

    The caller holds the enrolments (locked, or just created in its transaction) with
    client, client profile, clinician and version loaded. The plans are made by
    homework's assignment services under their usual rules, each checked once; an
    enrolment whose plans those rules refuse (an archived exercise, a discharged
    client) opens nothing, and the reason is kept on it for the clinician. A fixed
    number of queries however many.
    """
    logged = _practices_logged(
        [
            e
            for e in enrolments
            if e.version.snapshot["delivery"] == Delivery.AFTER_PRACTICES and e.current_week
        ]
    )
    opening: list[tuple[Enrolment, date, int, date]] = []
    for enrolment in enrolments:
        today = local_date(now, enrolment.client.zone)
        due = _week_to_open(enrolment, today, logged.get(enrolment.pk, 0))
        if due is None:
            continue
        number, opens_on = due
        if number > enrolment.version.week_count:
            _course_finish(enrolment=enrolment, today=today, now=now)
        else:
            opening.append((enrolment, today, number, opens_on))
    if not opening:
        return 0
    helped = _helped_items(opening)
    week_items = {
        enrolment.pk: helped.get(enrolment.pk) or enrolment.version.weeks[number - 1]["items"]
        for enrolment, _, number, _ in opening
    }
    exercises = Exercise.objects.in_bulk(
        {item["exercise_id"] for items in week_items.values() for item in items}
    )
    plans: list[NewPlan] = []
    owners: list[int] = []
    for enrolment, today, _number, opens_on in opening:
        start, end = max(opens_on, today), opens_on + WEEK - timedelta(days=1)
        for item in week_items[enrolment.pk]:
            plans.append(
                NewPlan(
                    clinician=enrolment.clinician,
                    client=enrolment.client,
                    exercise=exercises.get(item["exercise_id"]),
                    schedule_kind=item["schedule_kind"],
                    weekdays=item["weekdays"],
                    times_per_week=item["times_per_week"],
                    start_date=start,
                    end_date=end,
                )
            )
            owners.append(enrolment.pk)
    made, problems = assignments_create_allowed(plans=plans, together=owners, now=now)
    by_pk = {o[0].pk: o for o in opening}
    refused: dict[int, tuple[Enrolment, int, str]] = {}
    for index in sorted(problems):
        owner = owners[index]
        if owner not in refused:
            messages = [m for ms in problems[index].values() for m in ms]
            enrolment, _, number, _ = by_pk[owner]
            refused[owner] = (enrolment, number, " ".join(messages[:1]))
    _blocked_record(refused, now=now)
    opening = [o for o in opening if o[0].pk not in refused]
    opening_ids = insert_rows(
        WeekOpening,
        {
            "enrolment": [enrolment.pk for enrolment, _, _, _ in opening],
            "round": [enrolment.round for enrolment, _, _, _ in opening],
            "week_number": [number for _, _, number, _ in opening],
            "local_date": [opens_on for _, _, _, opens_on in opening],
            "from_what_helps": [enrolment.pk in helped for enrolment, _, _, _ in opening],
        },
        constants={"opened_at": now},
    )
    by_enrolment = {
        enrolment.pk: pk for (enrolment, _, _, _), pk in zip(opening, opening_ids, strict=True)
    }
    insert_rows(
        WeekOpening.assignments.through,
        {
            "weekopening": [by_enrolment[owners[index]] for index in made],
            "assignment": list(made.values()),
        },
    )
    measure_assignments_create_once(
        requests=[
            (
                enrolment.clinician,
                enrolment.client,
                enrolment.version.weeks[number - 1]["instrument"],
                max(opens_on, today),
            )
            for enrolment, today, number, opens_on in opening
            if enrolment.version.weeks[number - 1]["instrument"]
        ]
    )
    # One UPDATE per (week, date): a batch has a handful of them (the clients' zones
    # straddle at most two dates), where bulk_update's CASE per row cost seconds.
    moved: dict[tuple[int, date], list[int]] = defaultdict(list)
    for enrolment, _, number, opens_on in opening:
        enrolment.current_week = number
        enrolment.current_week_on = opens_on
        enrolment.next_week_on = opens_on + WEEK
        enrolment.blocked_reason, enrolment.blocked_week, enrolment.blocked_at = "", None, None
        enrolment.updated_at = now
        moved[(number, opens_on)].append(enrolment.pk)
    for (number, opens_on), ids in moved.items():
        Enrolment.objects.filter(pk__in=ids).update(
            current_week=number,
            current_week_on=opens_on,
            next_week_on=opens_on + WEEK,
            blocked_reason="",
            blocked_week=None,
            blocked_at=None,
            updated_at=now,
        )
    return len(opening_ids)


def _week_open_if_due(*, enrolment: Enrolment, now: datetime) -> bool:
    return _weeks_open(enrolments=[enrolment], now=now) == 1


def _due_locked(ids: Sequence[int]) -> list[Enrolment]:
    # skip_locked: another beat (or a move) holding a row has it in hand; the next
    # tick sees it again if it still needs anything.
    enrolments = list(
        Enrolment.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("client__client_profile")
        .filter(pk__in=ids, status=EnrolmentStatus.ACTIVE)
        .order_by("pk")
    )
    # A batch follows a handful of versions and clinicians: each is read once, not once
    # per enrolment (a second per 2,000 for the snapshots with select_related).
    versions = ProgramVersion.objects.in_bulk({e.version_id for e in enrolments})
    clinicians = User.objects.in_bulk({e.clinician_id for e in enrolments})
    for enrolment in enrolments:
        enrolment.version = versions[enrolment.version_id]
        enrolment.clinician = clinicians[enrolment.clinician_id]
    return enrolments


def enrolment_week_open(*, enrolment_id: int, now: datetime | None = None) -> bool:
    """Open the week due for one enrolment, if any. Safe to run twice or in parallel:
    the enrolment row is locked and the opening is unique per enrolment and week."""
    now = now or timezone.now()
    with transaction.atomic():
        return _weeks_open(enrolments=_due_locked([enrolment_id]), now=now) == 1


def enrolments_due_ids(*, now: datetime, after_id: int = 0, limit: int = 500) -> list[int]:
    """Active enrolments whose next week may have come somewhere on Earth, by id.

    Local dates run at most 14 hours ahead of UTC, so tomorrow's UTC date bounds them;
    each one is checked again in its client's own zone when opened.
    """
    horizon = now.date() + timedelta(days=1)
    return list(
        Enrolment.objects.filter(
            status=EnrolmentStatus.ACTIVE, next_week_on__lte=horizon, pk__gt=after_id
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def enrolments_open_due(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Open every week that has come, a batch of enrolments per transaction; returns how
    many opened."""
    now = now or timezone.now()
    opened = 0
    after_id = 0
    while ids := enrolments_due_ids(now=now, after_id=after_id, limit=batch_size):
        with transaction.atomic():
            opened += _weeks_open(enrolments=_due_locked(ids), now=now)
        after_id = ids[-1]
    return opened


def _locked_enrolment(enrolment: Enrolment) -> Enrolment:
    return (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("client__client_profile", "clinician", "version", "program")
        .get(pk=enrolment.pk)
    )


def _check_may_change(actor: User, enrolment: Enrolment) -> None:
    _check_clinician(actor)
    if not clients_visible_to(actor).filter(pk=enrolment.client_id).exists():
        raise ValidationError("This client is not on your caseload.")


def _live(assignments: Iterable[Assignment], today: date) -> list[Assignment]:
    return [
        a
        for a in assignments
        if a.status != AssignmentStatus.ENDED and (a.end_date is None or a.end_date >= today)
    ]


@transaction.atomic
def enrolment_move(
    *, enrolment: Enrolment, actor: User, forward: bool, now: datetime | None = None
) -> Enrolment:
    """Move a client a week forward or back, from today: this week's plans end (their
    logs stay) and the chosen week opens now."""
    now = now or timezone.now()
    current = _locked_enrolment(enrolment)
    _check_may_change(actor, current)
    if current.status != EnrolmentStatus.ACTIVE:
        raise ValidationError({"status": "Only an active course can be moved. Resume it first."})
    target = current.current_week + (1 if forward else -1)
    if target < 1 or target > current.version.week_count:
        raise ValidationError(
            {"week": "There is no later week." if forward else "There is no earlier week."}
        )
    today = local_date(now, current.client.zone)
    for assignment in _live(_week_assignments(current), today):
        assignment_end(assignment=assignment, actor=actor, now=now)
    current.round += 1
    current.current_week = target - 1
    current.next_week_on = today
    current.save(update_fields=["round", "current_week", "next_week_on", "updated_at"])
    _week_open_if_due(enrolment=current, now=now)
    audit_record(actor=actor, action=AuditAction.CHANGE, target=current, client=current.client_id)
    return current


@transaction.atomic
def enrolment_pause(*, enrolment: Enrolment, actor: User, now: datetime | None = None) -> Enrolment:
    """No new week starts and this week's plans pause until resumed."""
    now = now or timezone.now()
    current = _locked_enrolment(enrolment)
    _check_may_change(actor, current)
    if current.status != EnrolmentStatus.ACTIVE:
        raise ValidationError({"status": "Only an active course can be paused."})
    today = local_date(now, current.client.zone)
    for assignment in _live(_week_assignments(current), today):
        if assignment.status == AssignmentStatus.ACTIVE:
            assignment_pause(assignment=assignment, actor=actor, now=now)
    current.status = EnrolmentStatus.PAUSED
    current.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action=AuditAction.CHANGE, target=current, client=current.client_id)
    return current


@transaction.atomic
def enrolment_resume(
    *, enrolment: Enrolment, actor: User, now: datetime | None = None
) -> Enrolment:
    """Carry on; the next week opens on its date, or today if that has passed."""
    now = now or timezone.now()
    current = _locked_enrolment(enrolment)
    _check_may_change(actor, current)
    if current.status != EnrolmentStatus.PAUSED:
        raise ValidationError({"status": "Only a paused course can be resumed."})
    today = local_date(now, current.client.zone)
    for assignment in _live(_week_assignments(current), today):
        if assignment.status == AssignmentStatus.PAUSED:
            assignment_resume(assignment=assignment, actor=actor, now=now)
    current.status = EnrolmentStatus.ACTIVE
    if current.next_week_on is not None and current.next_week_on < today:
        current.next_week_on = today
    current.save(update_fields=["status", "next_week_on", "updated_at"])
    audit_record(actor=actor, action=AuditAction.CHANGE, target=current, client=current.client_id)
    return current


@transaction.atomic
def enrolment_remove(
    *, enrolment: Enrolment, actor: User, now: datetime | None = None
) -> Enrolment:
    """Take the client out of the course: future weeks do not start, past logs stay."""
    now = now or timezone.now()
    current = _locked_enrolment(enrolment)
    _check_may_change(actor, current)
    if current.status not in (EnrolmentStatus.ACTIVE, EnrolmentStatus.PAUSED):
        raise ValidationError({"status": "This client is no longer in the course."})
    today = local_date(now, current.client.zone)
    for assignment in _live(_week_assignments(current), today):
        assignment_end(assignment=assignment, actor=actor, now=now)
    current.status = EnrolmentStatus.REMOVED
    current.next_week_on = None
    current.save(update_fields=["status", "next_week_on", "updated_at"])
    audit_record(actor=actor, action=AuditAction.DELETE, target=current, client=current.client_id)
    return current


@transaction.atomic
def enrolment_version_update(
    *, enrolment: Enrolment, actor: User, now: datetime | None = None
) -> Enrolment:
    """Follow the program's newest version from the next week on."""
    current = _locked_enrolment(enrolment)
    _check_may_change(actor, current)
    version = program_publish(program=current.program, now=now)
    if version.pk != current.version_id:
        current.version = version
        current.save(update_fields=["version", "updated_at"])
        audit_record(
            actor=actor, action=AuditAction.CHANGE, target=current, client=current.client_id
        )
    return current


# --- One exercise for several clients ---


@transaction.atomic
def assignments_create_for_clients(
    *,
    clinician: User,
    clients: Sequence[User],
    exercise: Exercise | None,
    schedule_kind: str,
    start_date: date | None,
    weekdays: Sequence[int] = (),
    times_per_week: int | None = None,
    end_date: date | None = None,
    note: str = "",
    now: datetime | None = None,
) -> list[Assignment]:
    """Give every client the exercise, or none: a ValidationError names each client
    who cannot have it and why."""
    now = now or timezone.now()
    _check_clinician(clinician)
    errors = _clients_refusals(clinician=clinician, clients=clients, start_date=start_date, now=now)
    if errors:
        raise ValidationError(errors)
    return [
        assignment_create(
            clinician=clinician,
            client=client,
            exercise=exercise,
            schedule_kind=schedule_kind,
            start_date=start_date,
            weekdays=weekdays,
            times_per_week=times_per_week,
            end_date=end_date,
            note=note,
            now=now,
        )
        for client in clients
    ]
