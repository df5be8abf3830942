"""Django's database sessions, kept with the signed-in person's id and read with them in
one query compiled once per process (core.compiled).

Every signed-in request reads its session and then its person: two queries, each built
afresh by the ORM. This store keeps the person's id in a column of the session's row
(accounts.models.UserSession), written from the session's own data at every save, and
reads the row joined to the person, their clinic and their client profile, as the
authentication backend would read them (accounts.backends). The backend takes that
person only when they are the one the session's data names; anything else is read as
before. Writing, expiry and everything else are Django's.

A cookie whose key holds characters Django never puts in one (a NUL, which PostgreSQL
refuses in a query, or any other) is no session, as a wrong key is: the visitor is
anonymous rather than answered with a server error.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone

from accounts.models import User, UserSession
from core.compiled import CompiledModels

_SESSION = CompiledModels(
    lambda key, now: UserSession.objects.filter(
        session_key=key, expire_date__gt=now
    ).select_related("user__clinic", "user__client_profile"),
    str,
    datetime,
)
_KEY_CHARS = frozenset(VALID_KEY_CHARS)
# The largest id the column (a bigint) holds.
_MAX_ID = 2**63 - 1


def session_user_id(data: dict[str, Any]) -> int | None:
    """The id of the person session data names, as the column keeps it (None for none,
    and for anything that is not an id)."""
    value = data.get(SESSION_KEY)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
        return number if 0 < number <= _MAX_ID else None
    return None


class SessionStore(DatabaseSessionStore):
    # The person the session's row was read with: None until read, and when the row
    # names nobody (or someone whose row is gone).
    prefetched_user: User | None = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def _validate_session_key(self, key: str | None) -> bool:
        return super()._validate_session_key(key) and _KEY_CHARS.issuperset(key)

    def _get_session_from_db(self) -> UserSession | None:
        found = _SESSION.all(self.session_key, timezone.now())
        if not found:
            self._session_key = None
            return None
        session = found[0]
        self.prefetched_user = session.user
        return session

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        session = super().create_model_instance(data)
        session.user_id = session_user_id(data)
        return session

    def save(self, must_create: bool = False) -> None:
        """Django's save, but an existing session's new data is one UPDATE statement of
        its own: Django's forced-update save runs it between BEGIN and COMMIT, three
        round trips, after the ORM has built it. A signed-in request writes its session
        whenever a minute has passed since the last write (the idle clock,
        accounts.sessions), so most practice logs sent from the form do. As in Django, a
        row that is gone by now raises UpdateError (the middleware answers 400)."""
        if must_create or self.session_key is None:
            super().save(must_create=must_create)
            return
        session = self.create_model_instance(self._get_session())
        alias = router.db_for_write(UserSession, instance=session)
        connection = connections[alias]
        meta = UserSession._meta
        quote = connection.ops.quote_name
        columns = ("session_data", "expire_date", "user_id")
        assignments = ", ".join(f"{quote(meta.get_field(c).column)} = %s" for c in columns)
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {assignments} "  # noqa: S608 names from _meta
            f"WHERE {quote(meta.pk.column)} = %s"
        )
        params = [
            session.session_data,
            connection.ops.adapt_datetimefield_value(session.expire_date),
            session.user_id,
            session.session_key,
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.rowcount != 1:
                raise UpdateError
