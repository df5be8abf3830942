"""Reads for measures: who may see which schedule, what is due, scored history, the trend.

When a measure falls due (in the client's own time zone):
- "Once": from its start date until it is answered.
- "Every N weeks": on the start date and every N weeks after it. Each occurrence
  stays open until it is answered or the next one begins; a missed occurrence
  simply lapses (nobody is asked to fill in two questionnaires at once).
A schedule that is ended asks for nothing.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from django.core.exceptions import ValidationError
from django.db.models import Max, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from accounts.access import clients_visible_to
from accounts.models import Role, User
from core.compiled import CompiledModels
from homework.models import AssignmentStatus, Completion
from homework.schedule import local_date, week_start
from measures.engine import (
    Instrument,
    Scores,
    UnknownInstrument,
    instrument_get,
    response_score,
)
from measures.models import MeasureAssignment, MeasureResponse, RiskFlag

TREND_MIN_WEEKS = 12
TREND_MAX_WEEKS = 52


# --- Occurrences: pure date arithmetic ---


def occurrence_on(measure: MeasureAssignment, day: date) -> date | None:
    """The occurrence that is open on `day`: the latest one on or before it."""
    if day < measure.start_date:
        return None
    if not measure.every_weeks:
        return measure.start_date
    period = 7 * measure.every_weeks
    return measure.start_date + timedelta(days=(day - measure.start_date).days // period * period)


def next_occurrence_after(measure: MeasureAssignment, day: date) -> date | None:
    if day < measure.start_date:
        return measure.start_date
    if not measure.every_weeks:
        return None
    current = occurrence_on(measure, day)
    assert current is not None
    return current + timedelta(weeks=measure.every_weeks)


def describe_frequency(measure: MeasureAssignment) -> str:
    if not measure.every_weeks:
        return "Once"
    if measure.every_weeks == 1:
        return "Every week"
    return f"Every {measure.every_weeks} weeks"


# --- Access: other people's schedules answer 404 like missing ones ---


def measure_assignments_visible_to(user: User) -> QuerySet[MeasureAssignment]:
    return MeasureAssignment.objects.filter(client__in=clients_visible_to(user))


def measure_assignment_for_user_or_404(user: User, measure_id: int) -> MeasureAssignment:
    measure = (
        measure_assignments_visible_to(user).select_related("client").filter(pk=measure_id).first()
    )
    if measure is None:
        raise Http404("No such questionnaire.")
    return measure


def measure_assignment_for_client_or_404(client: User, measure_id: int) -> MeasureAssignment:
    measure = MeasureAssignment.objects.filter(pk=measure_id, client_id=client.pk).first()
    if measure is None:
        raise Http404("No such questionnaire.")
    return measure


# --- What is due ---


@dataclass(frozen=True)
class MeasureStatus:
    """A schedule as it stands on the client's local day."""

    measure: MeasureAssignment
    instrument: Instrument
    due_date: date | None  # the open occurrence, when it is not yet answered
    last_answered: date | None
    next_date: date | None  # the next occurrence after today (None: no more)

    @property
    def is_due(self) -> bool:
        return self.due_date is not None

    @property
    def frequency(self) -> str:
        return describe_frequency(self.measure)

    def as_dict(self) -> dict:
        return {
            "id": self.measure.pk,
            "instrument": self.instrument.code,
            "instrument_name": self.instrument.name,
            "every_weeks": self.measure.every_weeks,
            "start_date": self.measure.start_date.isoformat(),
            "status": self.measure.status,
            "is_due": self.is_due,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "last_answered": self.last_answered.isoformat() if self.last_answered else None,
            "next_date": self.next_date.isoformat() if self.next_date else None,
        }


def _schedules(client_id: int, *, include_ended: bool) -> QuerySet[MeasureAssignment]:
    measures = MeasureAssignment.objects.filter(client_id=client_id)
    if not include_ended:
        measures = measures.filter(status=AssignmentStatus.ACTIVE)
    return measures.annotate(
        last_due_answered=Max("responses__due_date"),
        last_answered=Max("responses__local_date"),
    ).order_by("start_date", "id")


# The today page reads these on every request: compiled once per process (core.compiled).
_SCHEDULES = CompiledModels(lambda client_id: _schedules(client_id, include_ended=True), int)
_ACTIVE_SCHEDULES = CompiledModels(
    lambda client_id: _schedules(client_id, include_ended=False), int
)


def measure_statuses(
    *, client: User, now: datetime | None = None, include_ended: bool = False
) -> list[MeasureStatus]:
    """Every schedule of the client with what is due today, in one query.

    Occurrences only move forward, so the open occurrence is answered exactly when
    it equals the latest due date answered: the query annotates that maximum
    rather than reading the responses.
    """
    day = local_date(now or timezone.now(), client.zone)
    measures = (_SCHEDULES if include_ended else _ACTIVE_SCHEDULES).all(client.pk)
    result = []
    for measure in measures:
        try:
            instrument = instrument_get(measure.instrument)
        except UnknownInstrument:
            continue  # its data file was removed; nothing can be shown or answered
        active = measure.status == AssignmentStatus.ACTIVE
        current = occurrence_on(measure, day)
        answered = (
            measure.last_due_answered is not None
            and current is not None
            and (measure.last_due_answered >= current)
        )
        result.append(
            MeasureStatus(
                measure=measure,
                instrument=instrument,
                due_date=current if active and current is not None and not answered else None,
                last_answered=measure.last_answered,
                next_date=next_occurrence_after(measure, day) if active else None,
            )
        )
    return result


def measures_due(*, client: User, now: datetime | None = None) -> list[MeasureStatus]:
    return [status for status in measure_statuses(client=client, now=now) if status.is_due]


# --- Scored history ---


@dataclass(frozen=True)
class ScoredResponse:
    response: MeasureResponse
    instrument: Instrument
    scores: Scores

    @property
    def answer_rows(self) -> list[tuple]:
        """(item, answer) in the instrument's order, for pages."""
        return [(item, self.response.answers.get(str(item.n))) for item in self.instrument.items]

    def as_dict(self) -> dict:
        return {
            "id": self.response.pk,
            "instrument": self.instrument.code,
            "instrument_version": self.response.instrument_version,
            "answered_at": self.response.answered_at.isoformat(),
            "local_date": self.response.local_date.isoformat(),
            "due_date": self.response.due_date.isoformat() if self.response.due_date else None,
            "answers": self.response.answers,
            "scores": self.scores.as_dict(),
        }


def scored(response: MeasureResponse) -> ScoredResponse | None:
    """A response with its scores; None if its instrument file is gone or its answers
    no longer fit (a broken row must not break a page)."""
    try:
        instrument = instrument_get(response.instrument)
        return ScoredResponse(response, instrument, response_score(instrument, response.answers))
    except (UnknownInstrument, ValidationError):
        return None


def measure_history(*, client: User, instrument: str | None = None) -> list[ScoredResponse]:
    """The client's responses, newest first, with scores derived from the raw answers."""
    responses = MeasureResponse.objects.filter(client_id=client.pk)
    if instrument:
        responses = responses.filter(instrument=instrument)
    return [s for s in map(scored, responses.order_by("-answered_at", "-id")) if s is not None]


# --- The trend: total by week beside minutes of practice ---


@dataclass(frozen=True)
class TrendWeek:
    monday: date
    total: float | None  # mean total of the week's responses
    responses: int
    minutes: int
    is_current: bool


@dataclass(frozen=True)
class Trend:
    instrument: Instrument
    weeks: list[TrendWeek]
    history: list[ScoredResponse]  # oldest first


def measure_trends(
    *, client: User, history: list[ScoredResponse] | None = None, now: datetime | None = None
) -> list[Trend]:
    """One trend per instrument the client has answered, in at most two queries.

    Each runs weekly from its first response (or TREND_MIN_WEEKS ago, if later) to
    the current week, at most TREND_MAX_WEEKS, with minutes of practice per week.
    Pass `history` (newest first, as measure_history gives it) to save its query.
    """
    today = local_date(now or timezone.now(), client.zone)
    this_monday = week_start(today)
    history = measure_history(client=client) if history is None else history
    if not history:
        return []
    by_instrument: dict[str, list[ScoredResponse]] = defaultdict(list)
    for item in reversed(history):
        by_instrument[item.instrument.code].append(item)
    floor = this_monday - timedelta(weeks=TREND_MAX_WEEKS - 1)
    firsts = {
        code: max(
            floor,
            min(
                this_monday - timedelta(weeks=TREND_MIN_WEEKS - 1),
                week_start(items[0].response.local_date),
            ),
        )
        for code, items in by_instrument.items()
    }
    minutes: dict[date, int] = defaultdict(int)
    for day, total in (
        Completion.objects.filter(
            client_id=client.pk, local_date__gte=min(firsts.values()), local_date__lte=today
        )
        .values("local_date")
        .annotate(minutes=Sum("minutes"))
        .values_list("local_date", "minutes")
    ):
        minutes[week_start(day)] += total or 0
    trends = []
    for code in sorted(by_instrument):
        items, first = by_instrument[code], firsts[code]
        totals: dict[date, list[float]] = defaultdict(list)
        for item in items:
            if item.scores.total is not None:
                totals[week_start(item.response.local_date)].append(item.scores.total.value)
        weeks = []
        monday = first
        while monday <= this_monday:
            values = totals.get(monday, [])
            weeks.append(
                TrendWeek(
                    monday=monday,
                    total=sum(values) / len(values) if values else None,
                    responses=len(values),
                    minutes=minutes.get(monday, 0),
                    is_current=monday == this_monday,
                )
            )
            monday += timedelta(weeks=1)
        trends.append(
            Trend(
                instrument=items[0].instrument,
                weeks=weeks,
                history=[i for i in items if i.response.local_date >= first],
            )
        )
    return trends


# --- Risk flags: the clinician's, never shown to the client as a flag ---


def risk_flags_visible_to(user: User) -> QuerySet[RiskFlag]:
    """Flags of the clients a clinician may see; nobody else sees a flag."""
    if user.role != Role.CLINICIAN:
        return RiskFlag.objects.none()
    return RiskFlag.objects.filter(client__in=clients_visible_to(user))


def risk_flag_for_user_or_404(user: User, flag_id: int) -> RiskFlag:
    flag = risk_flags_visible_to(user).select_related("client", "response").filter(pk=flag_id)
    found = flag.first()
    if found is None:
        raise Http404("No such flag.")
    return found


def _client_flags(client_id: int) -> QuerySet[RiskFlag]:
    return RiskFlag.objects.filter(client_id=client_id).select_related(
        "response", "acknowledged_by"
    )


def _open_flags(client_id: int) -> QuerySet[RiskFlag]:
    return (
        _client_flags(client_id).filter(acknowledged_at__isnull=True).order_by("-created_at", "-id")
    )


def _acknowledged_flags(client_id: int, count: int) -> QuerySet[RiskFlag]:
    return (
        _client_flags(client_id)
        .filter(acknowledged_at__isnull=False)
        .order_by("-acknowledged_at", "-id")[:count]
    )


# Both read by every client page (core.compiled; tests/core/test_compiled.py). The
# number of acknowledged flags shown is part of the SQL (a LIMIT): one per number.
_OPEN_FLAGS = CompiledModels(_open_flags, int)


@cache
def _acknowledged(count: int) -> CompiledModels:
    return CompiledModels(lambda client_id: _acknowledged_flags(client_id, count), int)


def risk_flags_for_client(*, client: User, recent_acknowledged: int = 5) -> list[RiskFlag]:
    """Open flags, then the latest few acknowledged ones with who acknowledged them."""
    open_flags = _OPEN_FLAGS.all(client.pk)
    if recent_acknowledged <= 0:
        return open_flags
    return open_flags + _acknowledged(recent_acknowledged).all(client.pk)
