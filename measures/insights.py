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

from django.db.models import Avg, Count, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast

from accounts.access import clients_visible_to
from accounts.models import User
from core.compiled import CompiledValues
from homework.models import RATING_PAIRS, Completion

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
