"""What seems to help: the average before/after change per exercise, for a client or a caseload.

Rules, in words a clinician would use:
- An exercise counts once it has been practised (logged) at least MIN_PRACTICES
  times by the client (across the caseload: in total).
- For each before/after pair the exercise collects (homework.models.RATING_PAIRS:
  distress, belief in the critical thought, self-criticism), the change is the
  mean of (after - before) over the logs that record both; n is that number of
  logs. For all three pairs a fall is the hoped-for direction.
- A figure from fewer than SMALL_SAMPLE logs is labelled a small sample.
- Exercises are ordered by their mean change across their pairs (largest fall
  first); this is an ordering of what was observed around practice, never a
  claim that the practice caused the change. Pages say "seems" and show n.

Every figure comes from SQL aggregates: one query per list, whatever the number
of logs, clients or exercises.
"""

from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

from django.db.models import Avg, Count, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast

from accounts.access import clients_visible_to
from accounts.models import User
from core.compiled import CompiledValues
from homework.models import RATING_PAIRS, Completion
from measures.selectors import ScoredResponse, measure_history

MIN_PRACTICES = 3
SMALL_SAMPLE = 5
# A mean change smaller than this (on the 0-10 scale) is described as "about the same".
STEADY = 0.5

PAIR_LABELS = {
    "distress": "Distress",
    "belief": "Belief in the critical thought",
    "self_criticism": "Self-criticism",
}


@dataclass(frozen=True)
class PairChange:
    key: str
    label: str
    logs: int
    mean_before: float
    mean_after: float

    @property
    def change(self) -> float:
        return self.mean_after - self.mean_before

    @property
    def change_text(self) -> str:
        return f"{self.change:+.1f}"

    @property
    def small_sample(self) -> bool:
        return self.logs < SMALL_SAMPLE

    @property
    def direction(self) -> str:
        """ "eased", "rose" or "steady": the words pages use, never "improved"."""
        if self.change <= -STEADY:
            return "eased"
        if self.change >= STEADY:
            return "rose"
        return "steady"

    @property
    def description(self) -> str:
        size = f"{abs(self.change):.1f}"
        if self.direction == "eased":
            return f"{self.label} seems to ease by {size} points on average"
        if self.direction == "rose":
            return f"{self.label} was {size} points higher after, on average"
        return f"{self.label} stayed about the same on average"

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "logs": self.logs,
            "mean_before": round(self.mean_before, 2),
            "mean_after": round(self.mean_after, 2),
            "change": round(self.change, 2),
            "small_sample": self.small_sample,
            "description": self.description,
        }


@dataclass(frozen=True)
class ExerciseInsight:
    exercise_id: int
    title: str
    practices: int
    pairs: list[PairChange]
    clients: int = 1

    @property
    def mean_change(self) -> float | None:
        if not self.pairs:
            return None
        return sum(p.change for p in self.pairs) / len(self.pairs)

    @property
    def small_sample(self) -> bool:
        """True when any figure shown for it rests on fewer than SMALL_SAMPLE logs."""
        return self.practices < SMALL_SAMPLE or any(p.small_sample for p in self.pairs)

    @property
    def seems_to_help(self) -> bool:
        return any(p.direction == "eased" for p in self.pairs) and (self.mean_change or 0) < 0

    def as_dict(self) -> dict:
        return {
            "exercise_id": self.exercise_id,
            "title": self.title,
            "practices": self.practices,
            "clients": self.clients,
            "small_sample": self.small_sample,
            "seems_to_help": self.seems_to_help,
            "mean_change": None if self.mean_change is None else round(self.mean_change, 2),
            "pairs": [p.as_dict() for p in self.pairs],
        }


def _aggregates() -> dict:
    """Count, mean before and mean after per pair, over logs that record both.

    The names must not be the columns' own (distress_before ...), or the filter
    would read the aggregate instead of the column.
    """
    fields: dict = {"practices": Count("id")}
    for key, before, after in RATING_PAIRS:
        both = Q(**{f"{before}__isnull": False, f"{after}__isnull": False})
        fields[f"{key}_logs"] = Count("id", filter=both)
        fields[f"{key}_mean_before"] = Avg(Cast(F(before), FloatField()), filter=both)
        fields[f"{key}_mean_after"] = Avg(Cast(F(after), FloatField()), filter=both)
    return fields


def _insight(row: dict, *, clients: int = 1) -> ExerciseInsight:
    pairs = [
        PairChange(
            key=key,
            label=PAIR_LABELS.get(key, key),
            logs=row[f"{key}_logs"],
            mean_before=float(row[f"{key}_mean_before"]),
            mean_after=float(row[f"{key}_mean_after"]),
        )
        for key, _before, _after in RATING_PAIRS
        if row[f"{key}_logs"]
    ]
    return ExerciseInsight(
        exercise_id=row["exercise_id"],
        title=row["title"],
        practices=row["practices"],
        pairs=pairs,
        clients=clients,
    )


def _ordered(insights: list[ExerciseInsight]) -> list[ExerciseInsight]:
    """Largest mean fall first; exercises without before/after ratings last."""
    return sorted(
        insights,
        key=lambda i: (
            i.mean_change is None,
            i.mean_change if i.mean_change is not None else 0.0,
            -i.practices,
            i.title,
        ),
    )


def _per_exercise(completions: QuerySet[Completion], *, by_client: bool) -> QuerySet:
    group = ["client_id"] if by_client else []
    return (
        completions.values(
            *group, exercise_id=F("assignment__exercise_id"), title=F("assignment__exercise__title")
        )
        .annotate(**_aggregates())
        .filter(practices__gte=MIN_PRACTICES)
        .order_by()
    )


# The client page and the pre-session report run this aggregate on every view; its SQL
# is built once per process (core.compiled), the same query the ORM would send.
_PER_EXERCISE_FOR_CLIENT = CompiledValues(
    lambda client_id: _per_exercise(Completion.objects.filter(client_id=client_id), by_client=False)
)


def what_helps_for_client(*, client: User) -> list[ExerciseInsight]:
    """One client's exercises practised at least MIN_PRACTICES times; one query."""
    rows = _PER_EXERCISE_FOR_CLIENT.rows(client.pk)
    return _ordered([_insight(row) for row in rows])


def what_helps_by_client(*, clients: list[User]) -> dict[int, list[ExerciseInsight]]:
    """The same for many clients at once, keyed by client id; one query."""
    result: dict[int, list[ExerciseInsight]] = defaultdict(list)
    rows = _per_exercise(
        Completion.objects.filter(client_id__in=[c.pk for c in clients]), by_client=True
    )
    for row in rows:
        result[row["client_id"]].append(_insight(row))
    return {client_id: _ordered(items) for client_id, items in result.items()}


def what_helps_across_caseload(*, clinician: User) -> list[ExerciseInsight]:
    """Every log on the clinician's caseload pooled per exercise; one query.

    An exercise counts once it has MIN_PRACTICES logs in total; `clients` says how
    many clients those logs come from, so one keen client is not read as a trend.
    """
    completions = Completion.objects.filter(client__in=clients_visible_to(clinician))
    rows = (
        completions.values(
            exercise_id=F("assignment__exercise_id"), title=F("assignment__exercise__title")
        )
        .annotate(
            clients=Count("client_id", distinct=True),
            **_aggregates(),
        )
        .filter(practices__gte=MIN_PRACTICES)
        .order_by()
    )
    return _ordered([_insight(row, clients=row["clients"]) for row in rows])


# --- A questionnaire's change in periods with more or less of a practice ---
#
# Rules, in words a clinician would use:
# - A period runs between two consecutive answers of the client to one questionnaire
#   with a total (by the client's own dates: from the day after the earlier answer up to
#   and including the day of the later one). Its change is the later total minus the
#   earlier one. Answers on the same day make no period.
# - In each period, a practice's rate is its logs in the period per week (logs / days x 7).
# - For each practice, the periods are split at the middle (median) of its rates: "more"
#   periods are those above it, "less" those at or below it. A practice is compared only
#   when each side has at least MIN_PERIODS periods; a side with fewer than
#   SMALL_PERIODS is a small sample.
# - The figure is the mean change of the "more" periods beside that of the "less"
#   periods. It says what happened alongside practice, never that practice caused it.

MIN_PERIODS = 2
SMALL_PERIODS = 3
# A difference between the sides smaller than this share of the total's range (PHQ-9:
# 0 to 27, so 1.35 points) is described as "about the same".
NOTABLE_SHARE = 0.05


@dataclass(frozen=True)
class PeriodGroup:
    periods: int
    mean_rate: float  # logs of the practice per week, averaged over the periods
    mean_change: float  # the questionnaire total's change per period, averaged


@dataclass(frozen=True)
class QuestionnaireInsight:
    instrument: str
    exercise_id: int
    title: str
    more: PeriodGroup
    less: PeriodGroup
    higher_is_harder: bool
    total_span: float  # the total's possible range (max - min)
    # "points" for a summed total; for a mean, its scale ("1 to 5 scale").
    unit: str = "points"

    @property
    def difference(self) -> float:
        return self.more.mean_change - self.less.mean_change

    @property
    def small_sample(self) -> bool:
        return min(self.more.periods, self.less.periods) < SMALL_PERIODS

    @property
    def hoped_for(self) -> float:
        """The difference turned so that positive is the hoped-for direction."""
        return -self.difference if self.higher_is_harder else self.difference

    @property
    def direction(self) -> str:
        """ "better", "worse" or "same": how the "more" periods compare, in the hoped-for
        direction of this questionnaire (a fall for PHQ-9, a rise for the SCS-SF)."""
        if abs(self.difference) < NOTABLE_SHARE * self.total_span:
            return "same"
        return "better" if self.hoped_for > 0 else "worse"

    @property
    def seems_to_help(self) -> bool:
        return self.direction == "better"

    @staticmethod
    def _moved(change: float) -> str:
        if round(change, 1) == 0:
            return "stayed about the same"
        return f"{'rose' if change > 0 else 'fell'} by {abs(change):.1f}"

    @property
    def description(self) -> str:
        more, less = self.more, self.less
        return (
            f"{self.instrument} total: in the {more.periods} periods between questionnaires "
            f"with more {self.title} (about {more.mean_rate:.1f} times a week) it "
            f"{self._moved(more.mean_change)} on average; in the {less.periods} periods with "
            f"less (about {less.mean_rate:.1f} times a week) it "
            f"{self._moved(less.mean_change)}."
        )

    @property
    def summary(self) -> str:
        lower = "lower" if self.difference < 0 else "higher"
        if self.direction == "same":
            return "About the same either way."
        hoped = "the hoped-for direction" if self.direction == "better" else "the other direction"
        size = f"{abs(self.difference):.1f}"
        amount = f"{size} points {lower}" if self.unit == "points" else f"{size} {lower}"
        scale = "" if self.unit == "points" else f" (on its {self.unit})"
        return f"With more practice the total ended {amount} per period{scale}, in {hoped}."

    def as_dict(self) -> dict:
        def group(g: PeriodGroup) -> dict:
            return {
                "periods": g.periods,
                "mean_rate_per_week": round(g.mean_rate, 2),
                "mean_change": round(g.mean_change, 2),
            }

        return {
            "instrument": self.instrument,
            "exercise_id": self.exercise_id,
            "title": self.title,
            "more_practice": group(self.more),
            "less_practice": group(self.less),
            "difference": round(self.difference, 2),
            "small_sample": self.small_sample,
            "seems_to_help": self.seems_to_help,
            "description": self.description,
        }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def what_helps_by_questionnaire(
    *, client: User, history: list[ScoredResponse] | None = None
) -> list[QuestionnaireInsight]:
    """For each questionnaire with a total and each practice the client logged: the total's
    mean change in periods with more of the practice beside periods with less. Two
    queries (the answers, the logs between the first and last answer); one when the
    caller already holds the client's `history` (measure_history, newest first)."""
    if history is None:
        history = measure_history(client=client)
    totals: dict[str, list[tuple]] = defaultdict(list)
    instruments = {}
    for item in reversed(history):  # oldest first
        total = item.scores.total
        if total is None:
            continue
        instruments[item.instrument.code] = item.instrument
        totals[item.instrument.code].append((item.response.local_date, total.value))
    periods: dict[str, list[tuple]] = {}
    for code, answers in totals.items():
        found = [
            (earlier_day, later_day, later - earlier)
            for (earlier_day, earlier), (later_day, later) in pairwise(answers)
            if later_day > earlier_day
        ]
        if len(found) >= 2 * MIN_PERIODS:
            periods[code] = found
    if not periods:
        return []
    first = min(p[0][0] for p in periods.values())
    last = max(p[-1][1] for p in periods.values())
    logs: dict[int, list] = defaultdict(list)
    titles: dict[int, str] = {}
    for day, exercise_id, title in Completion.objects.filter(
        client_id=client.pk, local_date__gt=first, local_date__lte=last
    ).values_list("local_date", "assignment__exercise_id", "assignment__exercise__title"):
        logs[exercise_id].append(day)
        titles[exercise_id] = title

    found_insights = []
    for code, spans in periods.items():
        instrument = instruments[code]
        low, high = instrument.total_range or (0, 0)
        mean_total = instrument.total_rule is not None and instrument.total_rule.method == "mean"
        unit = f"{low} to {high} scale" if mean_total else "points"
        for exercise_id, days in logs.items():
            rated = [
                (sum(earlier < d <= later for d in days) / (later - earlier).days * 7, change)
                for earlier, later, change in spans
            ]
            middle = _median([rate for rate, _ in rated])
            more = [(rate, change) for rate, change in rated if rate > middle]
            less = [(rate, change) for rate, change in rated if rate <= middle]
            if len(more) < MIN_PERIODS or len(less) < MIN_PERIODS:
                continue
            found_insights.append(
                QuestionnaireInsight(
                    instrument=code,
                    exercise_id=exercise_id,
                    title=titles[exercise_id],
                    more=_group(more),
                    less=_group(less),
                    higher_is_harder=instrument.higher_is_harder,
                    total_span=float(high - low),
                    unit=unit,
                )
            )
    return sorted(found_insights, key=lambda i: (i.instrument, -i.hoped_for, i.title))


def _group(rated: list[tuple[float, float]]) -> PeriodGroup:
    return PeriodGroup(
        periods=len(rated),
        mean_rate=sum(rate for rate, _ in rated) / len(rated),
        mean_change=sum(change for _, change in rated) / len(rated),
    )
