"""Questionnaires as data: load instrument files, check them, and score a response.

An instrument is one JSON file in a folder named by the MEASURE_INSTRUMENT_DIRS
setting (default: homework/measures/instruments/). Adding an instrument is adding
a file; nothing here knows about any particular scale. The file's shape:

    code          short unique code, e.g. "SCS-SF" (stored on every response)
    name          full name shown to people
    version       optional, default "1"; stored with each response
    citation      required: shown wherever the scale is shown
    instructions  optional text shown above the items
    scale         {"min": int, "max": int, "labels": {"1": "Almost never", ...}}
    copyright     optional permission line, shown with the citation
    instructions  optional text shown above the items
    scale         {"min": int, "max": int, "labels": {"1": "Almost never", ...}}
    items         [{"n": 1, "text": str, "reverse": bool, "subscale": str (optional),
                    "scored": bool (default true), "optional": bool (default false),
                    "scale": {...} (optional: its own answers, e.g. a difficulty question)}]
    scoring       {"total": {"method": "sum"|"mean", "items": [n, ...]} | null | a description,
                   "bands": [[low, high, "label"], ...] (optional, on the total),
                   "reverse_items": [n, ...], "not_scored": [n, ...] (optional),
                   "composites": {"key": [item numbers]} (optional),
                   "subscales": {"key": {"method": "sum"|"mean", "items": [n, ...],
                                 "label": str, "higher_is_harder": bool}} (optional),
                   "alerts": [{"item": n, "comparison": ">", "threshold": 0}] (optional),
                   "cutoffs": [{"score": 10, "meaning": str}] (optional)}
    labels        optional {"subscales": {key: label}, "composites": {key: label}}
    subscales_less_reliable  optional bool: mark subscale scores as secondary
    higher_is_harder  optional bool: a higher total means more difficulty (PHQ-9)
    score_note    optional sentence shown under the scores, in plain words

Scoring rules (the same for every instrument):
- Only scored items count: an item with "scored": false or listed in "not_scored"
  (PHQ-9's difficulty question) is stored and shown but never added in.
- A reverse item counts as (min + max - answer), e.g. 6 - x on a 1-5 scale.
- Total: "scoring.total" names its method and items. Written as a description (the
  SCS-SF) or left out, it is the mean of all scored items; null means no total (a
  scale of subscales only). Its band is the last band whose lower bound is at or
  below the total, so the upper bounds written in the file (2.49, 3.49) read as "up
  to the next band".
- Composite: the mean of its listed items, reverse items reversed (so the SCS-SF
  "negative_reversed" composite is high when self-judgment is low).
- Subscale in "scoring.subscales": its own method over its items, reverse items
  reversed. Subscale named on the items instead: the mean of its items' raw answers,
  NOT reversed, as in Neff's scoring key: a high self-judgment score means more
  self-judgment. The direction is reported with the score so a page can say so.
- Alert: an item whose raw answer passes its threshold raises an alert, whatever
  the total (PHQ-9 item 9 above 0). measures.services acts on it.

Scores are derived on every read from the stored raw answers, never stored.
"""

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from statistics import fmean

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

DEFAULT_DIR = Path(__file__).resolve().parent / "instruments"


class InstrumentError(ImproperlyConfigured):
    """An instrument file that cannot be used, with the file and the problem."""


class UnknownInstrument(LookupError):
    pass


@dataclass(frozen=True)
class ItemScale:
    low: int
    high: int
    labels: dict[int, str]


@dataclass(frozen=True)
class Item:
    n: int
    text: str
    reverse: bool
    subscale: str | None
    scored: bool = True
    optional: bool = False
    # An item with answers of its own (a difficulty question); None: the instrument's.
    own_scale: ItemScale | None = None


@dataclass(frozen=True)
class Rule:
    """How one score is computed: which items, summed or averaged, reversed or raw."""

    key: str
    label: str
    method: str  # "sum" or "mean"
    items: tuple[int, ...]
    higher_is_harder: bool = False


COMPARISONS: dict[str, Callable[[int, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Alert:
    item: int
    comparison: str
    threshold: float

    def raised_by(self, answer: int | None) -> bool:
        return answer is not None and COMPARISONS[self.comparison](answer, self.threshold)


@dataclass(frozen=True)
class Cutoff:
    score: float
    meaning: str


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    label: str


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    version: str
    citation: str
    instructions: str
    scale_min: int
    scale_max: int
    scale_labels: dict[int, str]
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    composites: dict[str, tuple[int, ...]]
    composite_labels: dict[str, str]
    subscale_labels: dict[str, str]
    subscales_less_reliable: bool
    source: str  # the file it came from, for error messages
    copyright: str = ""
    total_rule: Rule | None = None
    subscale_rules: tuple[Rule, ...] = ()
    alerts: tuple[Alert, ...] = ()
    cutoffs: tuple[Cutoff, ...] = ()
    higher_is_harder: bool = False
    score_note: str = ""

    @property
    def total_range(self) -> tuple[int, int] | None:
        """The lowest and highest total possible (None when there is no total)."""
        rule = self.total_rule
        if rule is None:
            return None
        if rule.method == "mean":
            return self.scale_min, self.scale_max
        count = len(rule.items)
        return self.scale_min * count, self.scale_max * count

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.scored)

    @property
    def alert_items(self) -> frozenset[int]:
        return frozenset(alert.item for alert in self.alerts)

    def item_choices(self, item: Item) -> list[tuple[int, str]]:
        """The answers one item offers, with their labels."""
        scale = item.own_scale
        if scale is None:
            return self.choices
        return [(value, scale.labels.get(value, "")) for value in range(scale.low, scale.high + 1)]

    def item_range(self, item: Item) -> tuple[int, int]:
        scale = item.own_scale
        return (scale.low, scale.high) if scale else (self.scale_min, self.scale_max)

    def alerts_raised(self, answers: Mapping[str, int]) -> list[Alert]:
        """The alert rules these (clean) answers raise."""
        return [a for a in self.alerts if a.raised_by(answers.get(str(a.item)))]

    @property
    def choices(self) -> list[tuple[int, str]]:
        """Every point of the scale with its label, if the file gives one."""
        return [
            (value, self.scale_labels.get(value, ""))
            for value in range(self.scale_min, self.scale_max + 1)
        ]

    @property
    def subscales(self) -> list[str]:
        """Subscale keys in the order of the file's "labels.subscales", then as items appear.

        Subscales named on the items only; those in "scoring.subscales" are
        `subscale_rules`.
        """
        seen = [key for key in self.subscale_labels if any(i.subscale == key for i in self.items)]
        for item in self.items:
            if item.subscale and item.subscale not in seen:
                seen.append(item.subscale)
        return seen

    def item(self, n: int) -> Item:
        return next(item for item in self.items if item.n == n)

    def scored(self, item: Item, answer: int) -> int:
        return self.scale_min + self.scale_max - answer if item.reverse else answer


# --- Loading ---


def _humanise(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _require(condition: bool, source: str, problem: str) -> None:
    if not condition:
        raise InstrumentError(f"Instrument file {source}: {problem}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scale_parse(scale: object, source: str, where: str) -> ItemScale:
    _require(isinstance(scale, dict), source, f'"{where}" must be an object with "min" and "max".')
    assert isinstance(scale, dict)
    low, high = scale.get("min"), scale.get("max")
    _require(
        _is_int(low) and _is_int(high) and low < high,
        source,
        f'"{where}" needs whole-number "min" and "max", with min below max.',
    )
    raw_labels = scale.get("labels", {})
    _require(isinstance(raw_labels, dict), source, f'"{where}.labels" must be an object.')
    labels: dict[int, str] = {}
    for key, label in raw_labels.items():
        _require(
            str(key).lstrip("-").isdigit() and low <= int(key) <= high and isinstance(label, str),
            source,
            f'{where} label "{key}" is not a point of the scale.',
        )
        labels[int(key)] = label
    return ItemScale(low=low, high=high, labels=labels)


def _numbers_parse(value: object, numbers: list[int], source: str, where: str) -> tuple[int, ...]:
    _require(
        isinstance(value, list) and all(_is_int(n) and n in numbers for n in value),
        source,
        f'"{where}" must list existing item numbers.',
    )
    assert isinstance(value, list)
    return tuple(value)


def _method_parse(value: object, source: str, where: str) -> str:
    _require(value in ("sum", "mean"), source, f'{where}: "method" is "sum" or "mean".')
    return str(value)


def instrument_parse(data: object, *, source: str = "<data>") -> Instrument:
    """Check an instrument's structure and build it; raise InstrumentError on any problem."""
    _require(isinstance(data, dict), source, "the file must hold one JSON object.")
    assert isinstance(data, dict)
    for key in ("code", "name", "citation"):
        _require(
            isinstance(data.get(key), str) and data[key].strip(), source, f'"{key}" is required.'
        )
    scale = _scale_parse(data.get("scale"), source, "scale")
    low, high = scale.low, scale.high

    scoring = data.get("scoring", {})
    _require(isinstance(scoring, dict), source, '"scoring" must be an object.')
    raw_items = data.get("items")
    _require(isinstance(raw_items, list) and raw_items, source, '"items" must be a non-empty list.')
    raw_numbers = [raw.get("n") for raw in raw_items if isinstance(raw, dict)]
    not_scored = set(
        _numbers_parse(scoring.get("not_scored", []), raw_numbers, source, "not_scored")
    )
    reverse_items = set(
        _numbers_parse(scoring.get("reverse_items", []), raw_numbers, source, "reverse_items")
    )
    items = []
    for position, raw in enumerate(raw_items, start=1):
        _require(isinstance(raw, dict), source, f"item {position} must be an object.")
        n = raw.get("n")
        _require(_is_int(n) and n >= 1, source, f'item {position} needs a positive whole "n".')
        _require(
            isinstance(raw.get("text"), str) and raw["text"].strip(),
            source,
            f"item {n} needs a text.",
        )
        for flag in ("reverse", "scored", "optional", "alert"):
            _require(
                isinstance(raw.get(flag, False), bool),
                source,
                f'item {n}: "{flag}" is true/false.',
            )
        subscale = raw.get("subscale")
        _require(
            subscale is None or (isinstance(subscale, str) and subscale),
            source,
            f'item {n}: "subscale" must be a name.',
        )
        is_scored = raw.get("scored", True) and n not in not_scored
        _require(
            is_scored or not raw.get("reverse", False),
            source,
            f"item {n} is not scored, so it cannot be reversed.",
        )
        items.append(
            Item(
                n=n,
                text=raw["text"],
                reverse=raw.get("reverse", False) or n in reverse_items,
                subscale=subscale,
                scored=is_scored,
                optional=raw.get("optional", False),
                own_scale=_scale_parse(raw["scale"], source, f"item {n} scale")
                if "scale" in raw
                else None,
            )
        )
    numbers = [item.n for item in items]
    _require(len(set(numbers)) == len(numbers), source, "item numbers must be unique.")
    scored_numbers = [item.n for item in items if item.scored]
    _require(bool(scored_numbers), source, "at least one item must be scored.")
    _require(
        all(item.own_scale is None for item in items if item.scored),
        source,
        "a scored item uses the instrument's scale.",
    )

    labels = data.get("labels", {})
    _require(isinstance(labels, dict), source, '"labels" must be an object.')

    raw_total = scoring.get("total", "mean of all scored items")
    total_rule: Rule | None
    if raw_total is None:
        total_rule = None
    elif isinstance(raw_total, dict):
        total_rule = Rule(
            key="total",
            label="Total",
            method=_method_parse(raw_total.get("method"), source, "total"),
            items=_numbers_parse(raw_total.get("items"), scored_numbers, source, "total.items"),
        )
        _require(bool(total_rule.items), source, '"total.items" must not be empty.')
    else:
        # A description in words (the SCS-SF file): the mean of every scored item.
        total_rule = Rule(key="total", label="Total", method="mean", items=tuple(scored_numbers))

    subscale_rules = []
    raw_subscales = scoring.get("subscales", {})
    _require(isinstance(raw_subscales, dict), source, '"scoring.subscales" must be an object.')
    for key, rule in raw_subscales.items():
        _require(isinstance(rule, dict), source, f'subscale "{key}" must be an object.')
        members = _numbers_parse(rule.get("items"), scored_numbers, source, f"subscale {key}")
        _require(bool(members), source, f'subscale "{key}" needs items.')
        _require(
            isinstance(rule.get("higher_is_harder", False), bool),
            source,
            f'subscale "{key}": "higher_is_harder" is true/false.',
        )
        subscale_rules.append(
            Rule(
                key=key,
                label=str(rule.get("label") or _humanise(key)),
                method=_method_parse(rule.get("method"), source, f"subscale {key}"),
                items=members,
                higher_is_harder=rule.get("higher_is_harder", False),
            )
        )
    _require(
        total_rule is not None or subscale_rules,
        source,
        "an instrument without a total needs subscales in scoring.subscales.",
    )

    bands = []
    for raw in scoring.get("bands", []):
        _require(
            isinstance(raw, list)
            and len(raw) == 3
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw[:2])
            and isinstance(raw[2], str),
            source,
            f"band {raw!r} must be [low, high, label].",
        )
        bands.append(Band(low=float(raw[0]), high=float(raw[1]), label=raw[2]))
    bands.sort(key=lambda band: band.low)
    if bands:
        _require(total_rule is not None, source, "bands need a total.")
        assert total_rule is not None
        count = len(total_rule.items)
        floor, ceiling = (low, high) if total_rule.method == "mean" else (low * count, high * count)
        _require(
            bands[0].low <= floor and bands[-1].high >= ceiling,
            source,
            "the bands must cover the whole scale of the total.",
        )
        _require(
            all(a.high < b.low for a, b in pairwise(bands)),
            source,
            "bands must not overlap.",
        )
    composites: dict[str, tuple[int, ...]] = {}
    raw_composites = scoring.get("composites", {})
    _require(isinstance(raw_composites, dict), source, '"scoring.composites" must be an object.')
    for key, members in raw_composites.items():
        _require(
            isinstance(members, list) and members and all(m in scored_numbers for m in members),
            source,
            f'composite "{key}" must list existing item numbers (scored ones).',
        )
        composites[key] = tuple(members)

    alerts = []
    raw_alerts = scoring.get("alerts", [])
    _require(isinstance(raw_alerts, list), source, '"scoring.alerts" must be a list.')
    for raw in raw_alerts:
        _require(
            isinstance(raw, dict)
            and raw.get("item") in numbers
            and raw.get("comparison") in COMPARISONS
            and isinstance(raw.get("threshold"), int | float)
            and not isinstance(raw.get("threshold"), bool),
            source,
            f"alert {raw!r} needs an existing item, a comparison "
            f"({', '.join(COMPARISONS)}) and a numeric threshold.",
        )
        alerts.append(
            Alert(item=raw["item"], comparison=raw["comparison"], threshold=raw["threshold"])
        )
    flagged = {item["n"] for item in raw_items if item.get("alert")}
    _require(
        flagged <= {alert.item for alert in alerts},
        source,
        'an item marked "alert" needs a rule in "scoring.alerts".',
    )
    cutoffs = []
    for raw in scoring.get("cutoffs", []):
        _require(
            isinstance(raw, dict)
            and isinstance(raw.get("score"), int | float)
            and isinstance(raw.get("meaning", ""), str),
            source,
            f"cut-off {raw!r} needs a numeric score.",
        )
        cutoffs.append(Cutoff(score=float(raw["score"]), meaning=raw.get("meaning", "")))
    _require(not cutoffs or total_rule is not None, source, "cut-offs need a total.")

    subscale_keys = {item.subscale for item in items if item.subscale and item.scored}
    return Instrument(
        code=data["code"].strip(),
        name=data["name"].strip(),
        version=str(data.get("version", "1")),
        citation=data["citation"].strip(),
        instructions=str(data.get("instructions", "")),
        scale_min=low,
        scale_max=high,
        scale_labels=scale.labels,
        items=tuple(items),
        bands=tuple(bands),
        composites=composites,
        composite_labels={
            key: labels.get("composites", {}).get(key) or _humanise(key) for key in composites
        },
        subscale_labels={
            key: labels.get("subscales", {}).get(key) or _humanise(key)
            for key in [*labels.get("subscales", {}), *sorted(subscale_keys)]
            if key in subscale_keys
        },
        subscales_less_reliable=bool(data.get("subscales_less_reliable", False)),
        source=source,
        copyright=str(data.get("copyright", "")).strip(),
        total_rule=total_rule,
        subscale_rules=tuple(subscale_rules),
        alerts=tuple(alerts),
        cutoffs=tuple(cutoffs),
        higher_is_harder=bool(data.get("higher_is_harder", False)),
        score_note=str(data.get("score_note", "")).strip(),
    )


def instrument_dirs() -> tuple[Path, ...]:
    configured = getattr(settings, "MEASURE_INSTRUMENT_DIRS", None)
    return tuple(Path(d) for d in configured) if configured else (DEFAULT_DIR,)


@lru_cache(maxsize=8)
def _load(dirs: tuple[Path, ...]) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise InstrumentError(
                    f"Instrument file {path}: not readable JSON ({error})."
                ) from error
            instrument = instrument_parse(data, source=str(path))
            if instrument.code in found:
                raise InstrumentError(
                    f"Instrument file {path}: code {instrument.code} is already used by "
                    f"{found[instrument.code].source}."
                )
            found[instrument.code] = instrument
    return found


def instruments() -> dict[str, Instrument]:
    """Every instrument in the configured folders, by code (read once, then cached)."""
    return _load(instrument_dirs())


def instrument_get(code: str) -> Instrument:
    try:
        return instruments()[code]
    except KeyError:
        raise UnknownInstrument(f"No instrument with the code {code!r}.") from None


# --- Answers and scores ---


def _answer_value(value: object) -> int | None:
    if _is_int(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def response_clean(instrument: Instrument, answers: Mapping[object, object]) -> dict[str, int]:
    """Every item answered with a whole number on its scale, or a clear ValidationError.

    An optional item (a difficulty question) may be left out. Returns the answers keyed
    by item number as a string ({"1": 3, ...}), the shape stored on
    MeasureResponse.answers. The error's message_dict is keyed "item_<n>" per question
    (forms show it next to the question) plus "__all__" for a summary.
    """
    if not isinstance(answers, Mapping):
        raise ValidationError({"__all__": ["Answers must map question numbers to values."]})
    given: dict[int, object] = {}
    problems: dict[str, list[str]] = {}
    numbers = {item.n for item in instrument.items}
    for key, value in answers.items():
        number = _answer_value(key)
        if number is None or number not in numbers:
            problems.setdefault("__all__", []).append(f"There is no question {key}.")
            continue
        given[number] = value
    clean: dict[str, int] = {}
    missing: list[int] = []
    for item in instrument.items:
        value = given.get(item.n)
        if value is None or value == "":
            if not item.optional:
                missing.append(item.n)
                problems[f"item_{item.n}"] = [f"Please answer question {item.n}."]
            continue
        number = _answer_value(value)
        low, high = instrument.item_range(item)
        if number is None or not low <= number <= high:
            problems[f"item_{item.n}"] = [
                f"Question {item.n}: choose a number from {low} to {high}."
            ]
            continue
        clean[str(item.n)] = number
    if missing:
        listed = ", ".join(str(n) for n in missing)
        problems.setdefault("__all__", []).insert(
            0,
            f"Please answer every question: {listed} still "
            f"need{'s' if len(missing) == 1 else ''} an answer.",
        )
    if problems:
        raise ValidationError(problems)
    return clean


@dataclass(frozen=True)
class Score:
    key: str
    label: str
    value: float
    items: int
    band: str | None = None
    less_reliable: bool = False
    # True when a higher score means more difficulty (PHQ-9, a self-judgment subscale).
    higher_is_harder: bool = False
    method: str = "mean"

    @property
    def display(self) -> str:
        """A sum as a whole number (12), a mean with two decimals (3.25)."""
        if self.method == "sum":
            return f"{self.value:.0f}"
        return f"{self.value:.2f}"


@dataclass(frozen=True)
class Scores:
    total: Score | None
    composites: list[Score]
    subscales: list[Score]
    alerts: list[Alert] = field(default_factory=list)
    cutoffs_reached: list[Cutoff] = field(default_factory=list)

    def as_dict(self) -> dict:
        def one(score: Score) -> dict:
            return {
                "key": score.key,
                "label": score.label,
                "value": round(score.value, 2),
                "band": score.band,
                "less_reliable": score.less_reliable,
                "higher_is_harder": score.higher_is_harder,
            }

        return {
            "total": one(self.total) if self.total else None,
            "composites": [one(s) for s in self.composites],
            "subscales": [one(s) for s in self.subscales],
        }


def band_for(instrument: Instrument, value: float) -> str | None:
    label = None
    for band in instrument.bands:
        if band.low <= value + 1e-9:
            label = band.label
    return label


def _combine(method: str, values: list[int]) -> float:
    return float(sum(values)) if method == "sum" else fmean(values)


def response_score(instrument: Instrument, answers: Mapping[object, object]) -> Scores:
    """Total with its band, composites, subscales and alerts, from raw answers (checked first)."""
    clean = response_clean(instrument, answers)
    raw = {int(n): value for n, value in clean.items()}
    scored = {
        item.n: instrument.scored(item, raw[item.n]) for item in instrument.items if item.scored
    }
    total = None
    rule = instrument.total_rule
    if rule is not None:
        value = _combine(rule.method, [scored[n] for n in rule.items])
        total = Score(
            key="total",
            label="Total",
            value=value,
            items=len(rule.items),
            band=band_for(instrument, value),
            higher_is_harder=instrument.higher_is_harder,
            method=rule.method,
        )
    composites = [
        Score(
            key=key,
            label=instrument.composite_labels[key],
            value=fmean(scored[n] for n in members),
            items=len(members),
        )
        for key, members in instrument.composites.items()
    ]
    subscales = [
        Score(
            key=rule.key,
            label=rule.label,
            value=_combine(rule.method, [scored[n] for n in rule.items]),
            items=len(rule.items),
            higher_is_harder=rule.higher_is_harder,
            method=rule.method,
        )
        for rule in instrument.subscale_rules
    ]
    for key in instrument.subscales:
        members = [item for item in instrument.items if item.subscale == key and item.scored]
        subscales.append(
            Score(
                key=key,
                label=instrument.subscale_labels[key],
                value=fmean(raw[item.n] for item in members),
                items=len(members),
                less_reliable=instrument.subscales_less_reliable,
                higher_is_harder=all(item.reverse for item in members),
            )
        )
    return Scores(
        total=total,
        composites=composites,
        subscales=subscales,
        alerts=instrument.alerts_raised(clean),
        cutoffs_reached=[c for c in instrument.cutoffs if total and total.value >= c.score],
    )
