"""The time zones people choose from: canonical names only, labelled for people.

zoneinfo knows about 600 names, many of them old aliases (US/Eastern, ROK, W-SU, Zulu,
localtime) that list the same clocks twice and confuse a picker. The IANA database's
zone.tab lists one canonical name per region of each country; those (and UTC) are
offered. Aliases stay valid when stored or sent by the API: only the picker leaves them
out.
"""

from datetime import datetime
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

UTC_NAME = "UTC"


@cache
def canonical_timezones() -> tuple[str, ...]:
    text = files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    names = {
        line.split("\t")[2].strip()
        for line in text.splitlines()
        if line and not line.startswith("#") and line.count("\t") >= 2
    }
    return (UTC_NAME, *sorted(names))


def city_of(name: str) -> str:
    """ "America/Argentina/Buenos_Aires" -> "Buenos Aires"."""
    return name.rsplit("/", 1)[-1].replace("_", " ")


def offset_text(name: str, *, now: datetime | None = None) -> str:
    """The zone's offset from UTC right now, e.g. "UTC+05:30" (summer time included)."""
    offset = (now or datetime.now(ZoneInfo(UTC_NAME))).astimezone(ZoneInfo(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def timezone_label(name: str, *, now: datetime | None = None) -> str:
    """A label that starts with the city, so typing in a select finds it."""
    if name == UTC_NAME:
        return "UTC (Coordinated Universal Time)"
    return f"{city_of(name)} · {offset_text(name, now=now)} ({name.replace('_', ' ')})"


def timezone_groups(
    *, first: tuple[str, ...] = (), now: datetime | None = None
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices with optgroups: the suggested zones first, then one group per region."""
    now = now or datetime.now(ZoneInfo(UTC_NAME))
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    suggested = [name for name in dict.fromkeys(first) if name]
    if suggested:
        groups.append(("Suggested", [(name, timezone_label(name, now=now)) for name in suggested]))
    by_region: dict[str, list[tuple[str, str]]] = {}
    for name in canonical_timezones():
        region = name.split("/", 1)[0] if "/" in name else "Other"
        by_region.setdefault(region, []).append((name, timezone_label(name, now=now)))
    for region in sorted(by_region):
        options = sorted(by_region[region], key=lambda option: option[1])
        groups.append((region, options))
    return groups
