"""What measures adds to the caseload's "needs attention" (see homework.attention).

- an open risk flag: urgent, always first, until a clinician acknowledges it;
- a rise of severity band between a client's last two answers to an instrument whose
  higher total means more difficulty (PHQ-9, GAD-7), while the latest is recent.

Each provider costs one query for the whole caseload. A flag's moment is written in the
reader's zone (the clinician acts on it: "on 5 Mar, 23:40" must be their 5 March); a band
rise names the day the client answered, their own local date, as the client page does.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from core.compiled import CompiledModels, IdList
from homework.attention import AttentionReason, attention_provider_register
from measures.engine import UnknownInstrument, instrument_get, instruments
from measures.models import MeasureResponse, RiskFlag
from measures.selectors import scored

# A band rise stays on the caseload while the answer that showed it is this recent.
BAND_RISE_DAYS = 14


def _day(day: date) -> str:
    return f"{day.day} {day:%b}"


def _moment(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{_day(local)}, {local:%H:%M}"


def open_flags_query(client_ids: Sequence[int]) -> QuerySet[RiskFlag]:
    return (
        RiskFlag.objects.filter(client_id__in=client_ids, acknowledged_at__isnull=True)
        .select_related("response")
        .order_by("created_at", "id")
    )


def latest_two_query(client_ids: Sequence[int], banded: Sequence[str]) -> QuerySet:
    """Each client's two latest responses to each instrument in `banded`."""
    return (
        MeasureResponse.objects.filter(client_id__in=client_ids, instrument__in=banded)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("client_id"), F("instrument")],
                order_by=[F("answered_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=2)
        .order_by("client_id", "instrument", "rank")
    )


# Both run on every caseload view, with the caseload's ids: compiled once per process
# (core.compiled; tests/core/test_compiled.py compares them with the ORM).
_OPEN_FLAGS = CompiledModels(open_flags_query, IdList)


@cache
def _latest_two(banded: tuple[str, ...]) -> CompiledModels:
    return CompiledModels(lambda client_ids: latest_two_query(client_ids, banded), IdList)


@attention_provider_register
def open_risk_flags(
    client_ids: Sequence[int], now: datetime, zone: ZoneInfo
) -> dict[int, list[AttentionReason]]:
    found: dict[int, list[AttentionReason]] = defaultdict(list)
    for flag in _OPEN_FLAGS.all(client_ids):
        found[flag.client_id].append(
            AttentionReason(
                text=(
                    f"Urgent: {flag.response.instrument} question {flag.item} was answered "
                    f"above its safety threshold on {_moment(flag.created_at, zone)}; not yet "
                    "acknowledged"
                ),
                urgent=True,
            )
        )
    return found


@attention_provider_register
def severity_band_rises(
    client_ids: Sequence[int], now: datetime, zone: ZoneInfo
) -> dict[int, list[AttentionReason]]:
    banded = tuple(
        code
        for code, instrument in instruments().items()
        if instrument.bands and instrument.higher_is_harder
    )
    if not banded:
        return {}
    latest_two = _latest_two(banded).all(client_ids)
    pairs: dict[tuple[int, str], list[MeasureResponse]] = defaultdict(list)
    for response in latest_two:
        pairs[(response.client_id, response.instrument)].append(response)
    found: dict[int, list[AttentionReason]] = defaultdict(list)
    since = now - timedelta(days=BAND_RISE_DAYS)
    for (client_id, code), (latest, *earlier) in pairs.items():
        if not earlier or latest.answered_at < since:
            continue
        try:
            labels = [band.label for band in instrument_get(code).bands]
        except UnknownInstrument:
            continue
        now_scored, before_scored = scored(latest), scored(earlier[0])
        if now_scored is None or before_scored is None:
            continue
        now_band = now_scored.scores.total.band if now_scored.scores.total else None
        before_band = before_scored.scores.total.band if before_scored.scores.total else None
        if (
            now_band in labels
            and before_band in labels
            and labels.index(now_band) > labels.index(before_band)
        ):
            found[client_id].append(
                AttentionReason(
                    text=(
                        f"{code} severity band rose from {before_band} to {now_band} "
                        f"(answered {_day(latest.local_date)})"
                    ),
                    until=latest.answered_at + timedelta(days=BAND_RISE_DAYS),
                )
            )
    return found
