"""Page bodies cached under the record versions of everyone they show.

The client page, the pre-session report, the group page and a client's today page are
made of whole records: plans, logs, replies, notes, questionnaires, flags, course.
Rendering one costs 5-46 ms of Python; serving the same body again costs well under one.
Every row such a page is made from gives its client a new record version in the same
transaction as the write (homework.triggers, database triggers, so no write path can
forget it); rows that belong
to no one client (the exercise library, courses, clinics, a person's name) give the
library version a new value. A body is kept under:

- what page it is, the code and templates that rendered it (`build()`), and the full path
  with its query string;
- the reader, and the versions of the reader, of every client it shows and of the library,
  read in one query before anything the body is made of (so nothing older than a version
  is ever stored under it);
- whatever else the caller says the body depends on (the client's local date).

So an entry is never stale, only unused: a write makes a new key, and the old entry
expires. The CSRF fields are stored as a mark and filled with the reader's token on the
way out. A body is stored only when the caller says it may be (never a form with errors,
never a body that marked replies as read on its way). Entries hold clinical words, so
they are compressed and encrypted with the field keys (core.encryption) before they leave
the process. A cache that fails renders the page.

With PAGE_CACHE_VERIFY (on in the test suite) every body served from the cache is also
rendered afresh and compared: a write the versions missed fails the test that made it.
"""

import hashlib
import logging
import re
import uuid
import zlib
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.middleware.csrf import get_token
from prometheus_client import Counter

from accounts.models import User
from core.compiled import CompiledModels, IdList
from core.encryption import decrypt_bytes, encrypt_bytes
from homework.models import FiguresVersion
from homework.selectors.practice import client_today
from homework.triggers import LIBRARY

logger = logging.getLogger(__name__)

PAGE_CACHE = Counter(
    "kindwork_page_cache",
    "Page bodies served from the cache (hit), rendered and kept (miss), or rendered "
    "without keeping (skip), by page.",
    ["page", "result"],
)

# Django's {% csrf_token %} and Jinja2's csrf_input both print exactly this. A person's text
# can never print it: every value is escaped, so it cannot contain a raw "<".
CSRF_FIELD = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"<>]*">')
CSRF_MARK = '<input type="hidden" name="csrfmiddlewaretoken" value="{kindwork:csrf}">'


class StalePage(AssertionError):
    """A cached body differs from a fresh rendering (PAGE_CACHE_VERIFY)."""


@cache
def build() -> str:
    """The code and templates pages are rendered with, the static files' names, the
    framework's version and the settings a page may print: a deploy that changes any of
    them changes every key (nobody has to remember to)."""
    digest = hashlib.sha256()
    base = Path(settings.BASE_DIR)
    roots = [base / "templates", *(base / app for app in _project_apps())]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in {".py", ".html", ".jinja", ".json", ".txt"} and path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        digest.update(manifest.read_bytes())
    # The framework's own markup (form widgets), and the settings a page may print.
    import django
    import jinja2

    for part in (django.__version__, jinja2.__version__, settings.STATIC_URL):
        digest.update(part.encode())
    digest.update(repr((settings.SITE_NAME, settings.DEMO_MODE)).encode())
    return digest.hexdigest()[:16]


def _project_apps() -> Iterable[str]:
    from django.apps import apps

    base = Path(settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.parent == base:
            yield path.name


_VERSIONS = CompiledModels(lambda ids: FiguresVersion.objects.filter(client_id__in=ids), IdList)


def _versions(ids: list[int]) -> dict[int, uuid.UUID] | None:
    """The record versions of `ids`, or None when one has none (never written since the
    triggers came: nothing can be keyed by it)."""
    found = {row.client_id: row.version for row in _VERSIONS.all(ids)}
    return found if len(found) == len(ids) else None


def cached_body(
    request: HttpRequest,
    *,
    page: str,
    client_ids: Iterable[int],
    depends_on: Iterable[object],
    render: Callable[[], tuple[str, bool]],
) -> str:
    """The body of `page` for `request.user` showing `client_ids`: from the cache, or
    `render()` -> (html, may be kept). `depends_on`: what else the body depends on."""
    ids = sorted({*client_ids, request.user.pk, LIBRARY})
    try:
        versions = _versions(ids)
    except Exception:  # the version table must never fail a page
        logger.warning("page versions unreadable; rendering", exc_info=True)
        versions = None
    if versions is None:
        PAGE_CACHE.labels(page=page, result="skip").inc()
        return _with_token(request, render()[0])
    key = _key(request, page, versions, depends_on)
    stored = _read(key)
    if stored is not None:
        PAGE_CACHE.labels(page=page, result="hit").inc()
        if settings.PAGE_CACHE_VERIFY:
            _verify(page, stored, render()[0])
        return _with_token(request, stored)
    html, keep = render()
    PAGE_CACHE.labels(page=page, result="miss" if keep else "skip").inc()
    if keep:
        _write(key, CSRF_FIELD.sub(CSRF_MARK, html))
    return _with_token(request, html)


def cached_client_body(
    request: HttpRequest, *, page: str, client: User, render: Callable[[], tuple[str, bool]]
) -> str:
    """`cached_body` for a page of one client's record, as of the client's day."""
    return cached_body(
        request, page=page, client_ids=[client.pk], depends_on=[client_today(client)], render=render
    )


def _key(
    request: HttpRequest, page: str, versions: dict[int, uuid.UUID], depends_on: Iterable[object]
) -> str:
    parts = [page, build(), request.user.pk, request.get_full_path()]
    parts += [f"{pk}={version.hex}" for pk, version in sorted(versions.items())]
    parts += [str(part) for part in depends_on]
    # Hashed: a key stays short whatever the query string, and names no one in Redis.
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _read(key: str) -> str | None:
    try:
        token = caches["pages"].get(key)
        if token is None:
            return None
        return zlib.decompress(decrypt_bytes(token)).decode()
    # A cache that fails, or an entry no key opens (keys rotated away), renders the page.
    except (InvalidToken, zlib.error, UnicodeDecodeError):
        logger.warning("cached page unreadable; rendering")
        return None
    except Exception:
        logger.warning("page cache unavailable for reading; rendering", exc_info=True)
        return None


def _write(key: str, html: str) -> None:
    try:
        caches["pages"].set(key, encrypt_bytes(zlib.compress(html.encode(), 1)))
    except Exception:
        logger.warning("page cache unavailable for writing", exc_info=True)


def _with_token(request: HttpRequest, html: str) -> str:
    if CSRF_MARK not in html:
        return html
    field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{get_token(request)}">'
    return html.replace(CSRF_MARK, field)


def _verify(page: str, stored: str, fresh: str) -> None:
    if CSRF_FIELD.sub(CSRF_MARK, fresh) != stored:
        raise StalePage(f"The cached {page} differs from a fresh rendering: a write was missed.")
