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

from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from accounts.access import clients_visible_to
from accounts.models import User
from homework import schedule as plan
from homework.measures.engine import (
    Instrument,
    Scores,
    UnknownInstrument,
    instrument_get,
    response_score,
)
from homework.models import AssignmentStatus, Completion, MeasureAssignment, MeasureResponse

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


def measure_statuses(
    *, client: User, now: datetime | None = None, include_ended: bool = False
) -> list[MeasureStatus]:
    """Every schedule of the client with what is due today: two queries, any number of them."""
    day = plan.local_date(now or timezone.now(), client.zone)
    measures = MeasureAssignment.objects.filter(client_id=client.pk)
    if not include_ended:
        measures = measures.filter(status=AssignmentStatus.ACTIVE)
    measures = list(measures.order_by("start_date", "id"))
    answered: dict[int, set[date]] = defaultdict(set)
    last: dict[int, date] = {}
    for measure_id, due_date, local_date in MeasureResponse.objects.filter(
        measure_assignment__in=[m.pk for m in measures]
    ).values_list("measure_assignment_id", "due_date", "local_date"):
        if due_date is not None:
            answered[measure_id].add(due_date)
        last[measure_id] = max(local_date, last.get(measure_id, local_date))
    result = []
    for measure in measures:
        try:
            instrument = instrument_get(measure.instrument)
        except UnknownInstrument:
            continue  # its data file was removed; nothing can be shown or answered
        current = occurrence_on(measure, day)
        due = (
            current
            if measure.status == AssignmentStatus.ACTIVE
            and current is not None
            and current not in answered.get(measure.pk, set())
            else None
        )
        result.append(
            MeasureStatus(
                measure=measure,
                instrument=instrument,
                due_date=due,
                last_answered=last.get(measure.pk),
                next_date=(
                    next_occurrence_after(measure, day)
                    if measure.status == AssignmentStatus.ACTIVE
                    else None
                ),
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


def measure_trend(*, client: User, instrument: Instrument, now: datetime | None = None) -> Trend:
    """Weekly mean total beside weekly minutes of practice, in two queries.

    The weeks run from the first response (or TREND_MIN_WEEKS ago, if later)
    to the current week, at most TREND_MAX_WEEKS.
    """
    today = plan.local_date(now or timezone.now(), client.zone)
    this_monday = plan.week_start(today)
    history = list(reversed(measure_history(client=client, instrument=instrument.code)))
    first = this_monday - timedelta(weeks=TREND_MIN_WEEKS - 1)
    if history:
        first = min(first, plan.week_start(history[0].response.local_date))
    first = max(first, this_monday - timedelta(weeks=TREND_MAX_WEEKS - 1))
    minutes_by_day = (
        Completion.objects.filter(client_id=client.pk, local_date__gte=first, local_date__lte=today)
        .values("local_date")
        .annotate(minutes=Sum("minutes"))
        .values_list("local_date", "minutes")
    )
    minutes: dict[date, int] = defaultdict(int)
    for day, total in minutes_by_day:
        minutes[plan.week_start(day)] += total or 0
    totals: dict[date, list[float]] = defaultdict(list)
    for item in history:
        totals[plan.week_start(item.response.local_date)].append(item.scores.total.value)
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
    return Trend(
        instrument=instrument,
        weeks=weeks,
        history=[h for h in history if h.response.local_date >= first],
    )
