"""The kinds of hostile input the suite sends, and how it checks that nothing was written.

Every kind the product must survive: control, NUL and direction-override characters,
lone surrogates, the replacement character, text past every limit, emoji and combining
marks (which must be accepted where text is), dates at and past the edges of the
calendar, numbers past every integer column, wrong JSON types, unknown keys, deep nesting.
"""

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SEED_SETTINGS = settings(
    max_examples=int(os.getenv("HOSTILE_EXAMPLES", "5")),
    deadline=None,
    derandomize=True,  # a fixed seed: every run sends the same requests
    database=None,
    suppress_health_check=list(HealthCheck),
)

HOSTILE_TEXT = [
    "",
    " ",
    "nul\x00byte",
    "bell\x07esc\x1b[31m",
    "\u202eoverride\u202c",
    "\u2066isolate\u2069",
    "\ud800",
    "\udfff lone",
    "broken \ufffd",
    "\ufeffbom",
    "x" * 70_000,
    "💛🧘🏽‍♀️",
    "e\u0301 cafe\u0301",
    "שלום",
    "<script>alert(1)</script>",
    "'; DROP TABLE homework_completion; --",
    "../../etc/passwd",
    "%00%ff",
    "9999-12-30",
    "0001-01-01",
    "2100-12-31",
    "2000-01-01",
    "1999-12-31",
    "2026-02-30",
    "+12026-01-01",
    "24:00",
    "23:59",
    "NaN",
]
HOSTILE_NUMBERS = [0, -1, 1, 7, 2**31, 2**63, -(2**63) - 1, 10**100, 1.5, -0.0, 1e308]


def _nested(levels: int) -> list:
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


DEEP_40 = _nested(40)
HOSTILE_SHAPES: list[object] = [
    None,
    True,
    [],
    {},
    [1, 2, 3],
    {"joy": 3},
    {"\x00": 1},
    DEEP_40,
    {"a": {"b": {"c": {"d": "e"}}}},
    ["x" * 10_000] * 5,
]


def hostile_value(real_ids: list[int]) -> st.SearchStrategy:
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from(HOSTILE_NUMBERS),
        st.sampled_from(HOSTILE_SHAPES),
        st.sampled_from(real_ids),
        st.text(max_size=40),
        st.integers(),
        st.dates().map(str),
        st.lists(st.one_of(st.integers(), st.text(max_size=10)), max_size=5),
        st.dictionaries(st.text(max_size=10), st.one_of(st.integers(), st.text(max_size=10))),
    )


def hostile_body(
    names: list[str], base: dict[str, object], real_ids: list[int]
) -> st.SearchStrategy:
    """A plausible body (the base) with one to three fields, or an unknown key, made hostile."""
    keys = (
        st.sampled_from([*names, "joy", "unknown_field", "\u202ename"])
        if names
        else st.just("unknown_field")
    )
    changes = st.dictionaries(keys, hostile_value(real_ids), min_size=1, max_size=3)
    return changes.map(lambda change: {**base, **change})


# Bodies that are not JSON at all, or JSON no parser should recurse into.
RAW_BODIES = [
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 3000 + b"1" + b"}" * 3000,
    b'{"minutes": 5, "reflection": "\xff\xfe\xfd"}',
    b'{"minutes": 5',
    b"\x00\x00\x00",
    b'{"minutes": NaN}',
    b'{"minutes": 1e999999}',
    b'{"minutes": ' + b"9" * 5000 + b"}",
    b'"just a string"',
    b"[1, 2, 3]",
    b"null",
]


def dumps(body: object) -> bytes:
    # ensure_ascii keeps lone surrogates as \\u escapes, the only way they travel in JSON.
    return json.dumps(body, ensure_ascii=True).encode()


def counted_tables() -> list[str]:
    """Every table of the product's apps and the outbox (not sessions, audit or lockouts:
    a refused request may rightly leave a trace there)."""
    labels = ("accounts", "homework", "measures", "outreach", "records", "notifications")
    return sorted(
        model._meta.db_table
        for label in labels
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy
    )


def row_counts() -> dict[str, int]:
    tables = counted_tables()
    quote = connection.ops.quote_name
    # Table names come from the models, never from input.
    select = ", ".join(f"(SELECT count(*) FROM {quote(table)})" for table in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


@dataclass
class Tally:
    """What the suite sent and what went wrong, for the report and the assertions."""

    operations: set[str] = field(default_factory=set)
    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, label: str, status: int, problem: str | None = None) -> None:
        self.operations.add(label.split(" [")[0])
        self.requests += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if problem and len(self.failures) < 50:
            self.failures.append(f"{label}: {problem}")

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        return (
            f"{len(self.operations)} operations, {self.requests} requests, "
            f"{self.server_errors} 5xx, statuses {dict(sorted(self.statuses.items()))}"
        )

    def lines(self) -> Iterator[str]:
        yield self.summary()
        yield from self.failures
