"""Pages cached under the record versions of everyone they show.

The client page, the pre-session report, the group page, a client's today page and the
caseload are made of whole records: plans, logs, replies, notes, questionnaires, flags,
course. Rendering one costs 3-46 ms of Python; serving the same page again costs well
under one.
Every row such a page is made from gives its client a new record version in the same
transaction as the write (homework.triggers, database triggers, so no write path can
forget it); rows that belong
to no one client (the exercise library, courses, clinics, a person's name) give the
library version a new value. A page is kept under:

- what page it is, the code and templates that rendered it (`build()`), and the full path
  with its query string;
- the reader, and the versions of the reader, of every client it shows and of the library,
  read in one query before the page reads its records (so nothing older than a version is
  ever stored under it);
- the rows read before the versions whose contents the page shows, as they were read (the
  reader, read with the session; the client or group the view checked access to): a
  write between that read and the versions' would otherwise key an older row's page
  under the newer version;
- whatever else the caller says the page depends on (each client's local date);
- and, for a page with reasons that lapse at a moment (the caseload's "asked you to look"
  for seven days), until the first of those moments: after it the entry is not used.

So an entry is never stale, only unused: a write makes a new key, and the old entry
expires. What differs in every response is stored as a mark and filled on the way out:
the CSRF fields (the reader's token), the CSP nonce, and the session's timeout notice
(when the session ends without activity). A page with messages waiting (a flash "Saved")
is neither served from nor kept in the cache. A page is kept only when the caller says it
may be (never a form with errors, never one that marked replies as read on its way) and
it answered 200. Entries hold clinical words, so they are compressed and encrypted with
the field keys (core.encryption) before they leave the process; each process also keeps
the pages it kept or read last, in memory, in front of the shared cache. A cache that
fails renders the page.

With PAGE_CACHE_VERIFY (on in the test suite) every page served from the cache is also
rendered afresh and compared: a write the versions missed fails the test that made it.
"""

import hashlib
import json
import logging
import re
import threading
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template import engines
from django.utils import timezone
from prometheus_client import Counter

from accounts.context_processors import session_notice
from accounts.models import User
from accounts.offline import offline_cache_key
from core.compiled import CompiledModels, IdList
from core.encryption import decrypt_bytes, encrypt_bytes
from homework.models import FiguresVersion
from homework.selectors.practice import client_today
from homework.triggers import LIBRARY

logger = logging.getLogger(__name__)

PAGE_CACHE = Counter(
    "kindwork_page_cache",
    "Pages served from the cache (hit), rendered and kept (miss), or rendered without "
    "keeping (skip), by page.",
    ["page", "result"],
)

HTML = "text/html; charset=utf-8"

# Django's {% csrf_token %} and Jinja2's csrf_input both print exactly this. A person's text
# can never print it: every value is escaped, so it cannot contain a raw "<".
CSRF_FIELD = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"<>]*">')
CSRF_MARK = '<input type="hidden" name="csrfmiddlewaretoken" value="{kindwork:csrf}">'
# The session's timeout notice (on every signed-in page) names the moment the session
# ends: rendered afresh for every response.
SESSION_NOTICE_TEMPLATE = "accounts/_session_timeout.jinja"
SESSION_NOTICE = re.compile(r"<!--kindwork:session-->.*?<!--/kindwork:session-->", re.S)
SESSION_MARK = "<!--kindwork:session-notice-->"
NONCE_MARK = "{kindwork:nonce}"


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


@dataclass(frozen=True)
class Rendered:
    """A page as its view rendered it: kept unless `keep` is False, and only until `until`
    when the page shows something that lapses at a moment."""

    response: HttpResponse
    keep: bool = True
    until: datetime | None = None


def cached_page(
    request: HttpRequest,
    *,
    page: str,
    client_ids: Iterable[int],
    depends_on: Iterable[object],
    render: Callable[[], Rendered],
) -> HttpResponse:
    """`page` for `request.user` showing `client_ids`: from the cache, or `render()`.
    `depends_on`: what else the page depends on: values, and the rows the view read
    before this call whose contents the page shows (their fields go into the key)."""
    if len(get_messages(request)):
        # The page would show (and so use up) the messages: never from or into the cache.
        PAGE_CACHE.labels(page=page, result="skip").inc()
        return render().response
    key = _key_now(request, page, client_ids, depends_on)
    if key is None:
        PAGE_CACHE.labels(page=page, result="skip").inc()
        return render().response
    stored = _read(key)
    if stored is not None:
        PAGE_CACHE.labels(page=page, result="hit").inc()
        if settings.PAGE_CACHE_VERIFY:
            fresh = render().response
            _verify(page, stored, _marked(request, fresh.content.decode()))
        return HttpResponse(_filled(request, stored))
    rendered = render()
    response = rendered.response
    keep = (
        rendered.keep
        and response.status_code == 200
        and not response.streaming
        and response.get("Content-Type") == HTML
    )
    PAGE_CACHE.labels(page=page, result="miss" if keep else "skip").inc()
    if keep:
        _write(key, _marked(request, response.content.decode()), until=rendered.until)
    return response


def cached_client_data(
    request: HttpRequest, *, page: str, client: User, compute: Callable[[], object]
) -> object:
    """An API answer's JSON-ready data for one client's record as of their day: from the
    cache (as `cached_page` keeps pages), or `compute()`."""
    key = _key_now(request, page, [client.pk], [client_today(client), client])
    if key is None:
        PAGE_CACHE.labels(page=page, result="skip").inc()
        return compute()
    stored = _read(key)
    if stored is not None:
        PAGE_CACHE.labels(page=page, result="hit").inc()
        if settings.PAGE_CACHE_VERIFY:
            _verify(page, stored, json.dumps(compute()))
        return json.loads(stored)
    data = compute()
    PAGE_CACHE.labels(page=page, result="miss").inc()
    _write(key, json.dumps(data))
    return data


def _key_now(
    request: HttpRequest, page: str, client_ids: Iterable[int], depends_on: Iterable[object]
) -> str | None:
    """The key of `page` as of now, or None when a version is missing or unreadable."""
    ids = sorted({*client_ids, request.user.pk, LIBRARY})
    try:
        versions = _versions(ids)
    except Exception:  # the version table must never fail a page
        logger.warning("page versions unreadable; rendering", exc_info=True)
        return None
    return None if versions is None else _key(request, page, versions, depends_on)


def cached_client_page(
    request: HttpRequest,
    *,
    page: str,
    client: User,
    render: Callable[[], Rendered],
    depends_on: Iterable[object] = (),
) -> HttpResponse:
    """`cached_page` for a page of one client's record, as of the client's day."""
    return cached_page(
        request,
        page=page,
        client_ids=[client.pk],
        depends_on=[client_today(client), client, *depends_on],
        render=render,
    )


def _key(
    request: HttpRequest, page: str, versions: dict[int, uuid.UUID], depends_on: Iterable[object]
) -> str:
    # The reader's offline key is printed on every page, and depends on the secret key.
    parts = [page, build(), request.user.pk, offline_cache_key(request.user)]
    parts.append(request.get_full_path())
    parts += [f"{pk}={version.hex}" for pk, version in sorted(versions.items())]
    # The reader was read with the session, before the versions: what the page shows of
    # them (their role, zone and clinic in the layout) goes into the key as read.
    parts += _row_state(request.user)
    for part in depends_on:
        parts += _row_state(part) if isinstance(part, Model) else [part]
    # Hashed: a key stays short whatever the query string, and names no one in Redis.
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _row_state(row: Model, depth: int = 2) -> list[object]:
    """A row read before the versions, as read: its fields and those of the rows read
    with it. A write between that read and the versions' changes a version, and so would
    key the older row's page under the newer version; with the row itself in the key, a
    page is only ever found under what it was made from."""
    parts: list[object] = [row._meta.label]
    parts += [
        getattr(row, field.attname)
        for field in row._meta.concrete_fields
        if field.attname != "password"
    ]
    if depth > 1:
        for name, related in sorted(row._state.fields_cache.items()):
            parts.append(name)
            if isinstance(related, Model):
                parts += _row_state(related, depth - 1)
    return parts


class _Recent:
    """The pages this process kept or read last, in front of the shared cache: a page
    opened again on the same process costs no round trip, decryption or decompression.
    Bounded by count (PAGE_CACHE_LOCAL_ENTRIES); its keys are the shared cache's, so an
    entry is as never-stale as theirs."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[float | None, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[float | None, str] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple[float | None, str]) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > settings.PAGE_CACHE_LOCAL_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_recent = _Recent()


def _read(key: str) -> str | None:
    """The page kept under `key`, unless none is or the moment it was kept until passed."""
    entry = _recent.get(key)
    if entry is None:
        entry = _read_shared(key)
        if entry is None:
            return None
        _recent.put(key, entry)
    until, html = entry
    if until is not None and timezone.now().timestamp() > until:
        return None
    return html


def _read_shared(key: str) -> tuple[float | None, str] | None:
    try:
        token = caches["pages"].get(key)
        if token is None:
            return None
        until, _, html = zlib.decompress(decrypt_bytes(token)).decode().partition("\n")
        return (float(until) if until else None), html
    # A cache that fails, or an entry no key opens (keys rotated away), renders the page.
    except (InvalidToken, zlib.error, UnicodeDecodeError, ValueError):
        logger.warning("cached page unreadable; rendering")
        return None
    except Exception:
        logger.warning("page cache unavailable for reading; rendering", exc_info=True)
        return None


def _write(key: str, html: str, *, until: datetime | None = None) -> None:
    moment = until.timestamp() if until else None
    _recent.put(key, (moment, html))
    entry = f"{moment if moment is not None else ''}\n{html}"
    try:
        caches["pages"].set(key, encrypt_bytes(zlib.compress(entry.encode(), 1)))
    except Exception:
        logger.warning("page cache unavailable for writing", exc_info=True)


def _marked(request: HttpRequest, html: str) -> str:
    """`html` with what differs in every response replaced by marks."""
    html = SESSION_NOTICE.sub(SESSION_MARK, html)
    html = CSRF_FIELD.sub(CSRF_MARK, html)
    nonce = getattr(request, "_csp_nonce", None)
    if nonce:  # a LazyNonce is true once generated: printed on this page
        html = html.replace(f'nonce="{nonce}"', f'nonce="{NONCE_MARK}"')
    return html


def _filled(request: HttpRequest, html: str) -> str:
    """A kept page with this response's own notice, tokens and nonce."""
    if SESSION_MARK in html:
        notice = session_notice(request)
        fresh = ""
        if notice:
            template = engines["jinja2"].get_template(SESSION_NOTICE_TEMPLATE)
            fresh = template.render({"notice": notice}, request)
        html = html.replace(SESSION_MARK, fresh)
    if CSRF_MARK in html:
        field = f'<input type="hidden" name="csrfmiddlewaretoken" value="{get_token(request)}">'
        html = html.replace(CSRF_MARK, field)
    if NONCE_MARK in html:
        html = html.replace(NONCE_MARK, str(request._csp_nonce))
    return html


def _verify(page: str, stored: str, fresh: str) -> None:
    if fresh != stored:
        raise StalePage(f"The cached {page} differs from a fresh rendering: a write was missed.")
