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
    items         [{"n": 1, "text": str, "reverse": bool, "subscale": str (optional)}]
    scoring       {"bands": [[low, high, "label"], ...] (optional),
                   "composites": {"key": [item numbers]} (optional)}
    labels        optional {"subscales": {key: label}, "composites": {key: label}}
    subscales_less_reliable  optional bool: mark subscale scores as secondary

Scoring rules (the same for every instrument):
- A reverse item counts as (min + max - answer), e.g. 6 - x on a 1-5 scale.
- Total: the mean of all items, reverse items reversed. Its band is the last band
  whose lower bound is at or below the total, so the upper bounds written in the
  file (2.49, 3.49) read as "up to the next band".
- Composite: the mean of its listed items, reverse items reversed (so the SCS-SF
  "negative_reversed" composite is high when self-judgment is low).
- Subscale: the mean of its items' raw answers, NOT reversed, as in Neff's scoring
  key: a high self-judgment score means more self-judgment. The direction is
  reported with the score so a page can say so.

Scores are derived on every read from the stored raw answers, never stored.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
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
class Item:
    n: int
    text: str
    reverse: bool
    subscale: str | None


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

    @property
    def choices(self) -> list[tuple[int, str]]:
        """Every point of the scale with its label, if the file gives one."""
        return [
            (value, self.scale_labels.get(value, ""))
            for value in range(self.scale_min, self.scale_max + 1)
        ]

    @property
    def subscales(self) -> list[str]:
        """Subscale keys in the order of the file's "labels.subscales", then as items appear."""
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


def instrument_parse(data: object, *, source: str = "<data>") -> Instrument:
    """Check an instrument's structure and build it; raise InstrumentError on any problem."""
    _require(isinstance(data, dict), source, "the file must hold one JSON object.")
    assert isinstance(data, dict)
    for key in ("code", "name", "citation"):
        _require(
            isinstance(data.get(key), str) and data[key].strip(), source, f'"{key}" is required.'
        )
    scale = data.get("scale")
    _require(isinstance(scale, dict), source, '"scale" must be an object with "min" and "max".')
    low, high = scale.get("min"), scale.get("max")
    _require(
        _is_int(low) and _is_int(high) and low < high,
        source,
        '"scale" needs whole-number "min" and "max", with min below max.',
    )
    raw_labels = scale.get("labels", {})
    _require(isinstance(raw_labels, dict), source, '"scale.labels" must be an object.')
    scale_labels: dict[int, str] = {}
    for key, label in raw_labels.items():
        _require(
            str(key).lstrip("-").isdigit() and low <= int(key) <= high and isinstance(label, str),
            source,
            f'scale label "{key}" is not a point of the scale.',
        )
        scale_labels[int(key)] = label

    raw_items = data.get("items")
    _require(isinstance(raw_items, list) and raw_items, source, '"items" must be a non-empty list.')
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
        _require(
            isinstance(raw.get("reverse", False), bool),
            source,
            f'item {n}: "reverse" is true/false.',
        )
        subscale = raw.get("subscale")
        _require(
            subscale is None or (isinstance(subscale, str) and subscale),
            source,
            f'item {n}: "subscale" must be a name.',
        )
        items.append(
            Item(n=n, text=raw["text"], reverse=raw.get("reverse", False), subscale=subscale)
        )
    numbers = [item.n for item in items]
    _require(len(set(numbers)) == len(numbers), source, "item numbers must be unique.")

    scoring = data.get("scoring", {})
    _require(isinstance(scoring, dict), source, '"scoring" must be an object.')
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
        _require(
            bands[0].low <= low and bands[-1].high >= high,
            source,
            "the bands must cover the whole scale.",
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
            isinstance(members, list) and members and all(m in numbers for m in members),
            source,
            f'composite "{key}" must list existing item numbers.',
        )
        composites[key] = tuple(members)

    labels = data.get("labels", {})
    _require(isinstance(labels, dict), source, '"labels" must be an object.')
    subscale_keys = {item.subscale for item in items if item.subscale}
    return Instrument(
        code=data["code"].strip(),
        name=data["name"].strip(),
        version=str(data.get("version", "1")),
        citation=data["citation"].strip(),
        instructions=str(data.get("instructions", "")),
        scale_min=low,
        scale_max=high,
        scale_labels=scale_labels,
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
    """Every item answered with a whole number on the scale, or a clear ValidationError.

    Returns the answers keyed by item number as a string ({"1": 3, ...}), the shape
    stored on MeasureResponse.answers. The error's message_dict is keyed "item_<n>"
    per question (forms show it next to the question) plus "__all__" for a summary.
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
    choose = f"choose a number from {instrument.scale_min} to {instrument.scale_max}"
    clean: dict[str, int] = {}
    missing: list[int] = []
    for item in instrument.items:
        value = given.get(item.n)
        if value is None or value == "":
            missing.append(item.n)
            problems[f"item_{item.n}"] = [f"Please answer question {item.n}."]
            continue
        number = _answer_value(value)
        if number is None or not instrument.scale_min <= number <= instrument.scale_max:
            problems[f"item_{item.n}"] = [f"Question {item.n}: {choose}."]
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
    # For subscales: True when its items are worded negatively, so higher means harder.
    higher_is_harder: bool = False


@dataclass(frozen=True)
class Scores:
    total: Score
    composites: list[Score]
    subscales: list[Score]

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
            "total": one(self.total),
            "composites": [one(s) for s in self.composites],
            "subscales": [one(s) for s in self.subscales],
        }


def band_for(instrument: Instrument, value: float) -> str | None:
    label = None
    for band in instrument.bands:
        if band.low <= value + 1e-9:
            label = band.label
    return label


def response_score(instrument: Instrument, answers: Mapping[object, object]) -> Scores:
    """Total with its band, composites, then subscales, from raw answers (checked first)."""
    clean = response_clean(instrument, answers)
    raw = {int(n): value for n, value in clean.items()}
    scored = {item.n: instrument.scored(item, raw[item.n]) for item in instrument.items}
    total_value = fmean(scored.values())
    total = Score(
        key="total",
        label="Total",
        value=total_value,
        items=len(scored),
        band=band_for(instrument, total_value),
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
    subscales = []
    for key in instrument.subscales:
        members = [item for item in instrument.items if item.subscale == key]
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
    return Scores(total=total, composites=composites, subscales=subscales)
