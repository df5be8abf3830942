"""Django's database sessions, read with SQL compiled once per process (core.compiled).

Every signed-in request reads its session first. Django builds that one-row query
afresh each time, which costs more Python than PostgreSQL spends answering it; this
store runs the same query (key, not yet expired) compiled once. Writing, expiry and
everything else are Django's.

A cookie whose key holds characters Django never puts in one (a NUL, which PostgreSQL
refuses in a query, or any other) is no session, as a wrong key is: the visitor is
anonymous rather than answered with a server error.
"""

from datetime import datetime

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from core.compiled import CompiledModels

_SESSION = CompiledModels(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now), str, datetime
)
_KEY_CHARS = frozenset(VALID_KEY_CHARS)


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return super()._validate_session_key(key) and _KEY_CHARS.issuperset(key)

    def _get_session_from_db(self) -> Session | None:
        found = _SESSION.all(self.session_key, timezone.now())
        if not found:
            self._session_key = None
            return None
        return found[0]
