"""Reasons other apps add to the caseload's "needs attention", without homework importing them.

An app registers a provider (from its AppConfig.ready()): given the caseload's client
ids, the time and the reader's time zone, it returns the reasons per client id, in a
fixed number of queries whatever the caseload's size. An urgent reason (a risk flag)
puts the client above every other on the caseload.

A reason that depends on the time beyond the client's local date must say until when
(`until`); one that lapses only with a write needs nothing more: every row a provider
reads is under the record versions (homework.triggers).

Dates in a reason: a moment (when a flag was raised) is written in the reader's zone,
the clinician acting on it; a day of the client's (a log's day, the day a questionnaire
was answered) is the client's own local date, as the client page labels it.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class AttentionReason:
    text: str  # stated in words on the caseload, e.g. "PHQ-9 band rose from mild to moderate"
    urgent: bool = False
    # The last moment the reason holds, for a reason shown for a while after something
    # (a band rise for 14 days after the answer): the cached caseload (homework.page_cache)
    # is used until then. A reason that lapses with a write (a flag acknowledged) has none.
    until: datetime | None = None


# provider(client_ids, now, reader_zone) -> reasons per client id.
AttentionProvider = Callable[[Sequence[int], datetime, ZoneInfo], dict[int, list[AttentionReason]]]

_providers: list[AttentionProvider] = []


def attention_provider_register(provider: AttentionProvider) -> AttentionProvider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def attention_reasons_for(
    *, client_ids: Sequence[int], now: datetime, zone: ZoneInfo
) -> dict[int, list[AttentionReason]]:
    """Every provider's reasons per client id, urgent ones first; moments in `zone`."""
    found: dict[int, list[AttentionReason]] = {}
    if not client_ids:
        return found
    for provider in _providers:
        for client_id, reasons in provider(client_ids, now, zone).items():
            found.setdefault(client_id, []).extend(reasons)
    for reasons in found.values():
        reasons.sort(key=lambda reason: not reason.urgent)
    return found
