"""Shared bits of the benchmark scripts: the bench password, time zones, database guards."""

from urllib.parse import urlparse

# The field-encryption key of the benchmark database (core.encryption): a throwaway
# Fernet key, shared by the generator and the server so stored text can be read back.
FIELD_KEY = "YmVuY2gta2luZHdvcmstZmllbGQta2V5LTMyYnl0ZXM="

# Every generated user has this password (hashed once by the generator).
PASSWORD = "bench-password-kindwork-8"  # noqa: S105  (a throwaway benchmark database)

# A realistic spread of client time zones, with rough weights: North America and
# Europe heavy, plus zones at :30 and :45 offsets and the southern hemisphere's DST.
ZONES = [
    ("America/New_York", 22),
    ("America/Chicago", 12),
    ("America/Denver", 5),
    ("America/Phoenix", 2),
    ("America/Los_Angeles", 14),
    ("America/Anchorage", 1),
    ("Pacific/Honolulu", 1),
    ("America/St_Johns", 1),
    ("America/Sao_Paulo", 3),
    ("Europe/London", 10),
    ("Europe/Berlin", 7),
    ("Europe/Madrid", 3),
    ("Africa/Johannesburg", 2),
    ("Asia/Kolkata", 4),
    ("Asia/Kathmandu", 1),
    ("Asia/Singapore", 2),
    ("Asia/Tokyo", 2),
    ("Australia/Adelaide", 1),
    ("Australia/Sydney", 4),
    ("Pacific/Auckland", 3),
]


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def require_bench_database(url: str) -> None:
    """Refuse to touch a database whose name does not say it is a benchmark's."""
    name = database_name(url)
    if not (name.startswith("kw_bench") or name.startswith("bench")):
        raise SystemExit(
            f"Refusing to use database {name!r}: the benchmarks drop and rewrite their "
            "database, so its name must start with 'kw_bench' or 'bench'."
        )
