"""Session rules: idle timeout by role, an absolute lifetime, and recent re-authentication.

Times live in the session as epoch seconds and are checked on the server for
every request (accounts.middleware.SessionTimeoutMiddleware); the page only shows
when the session will end. Functions take `now` so tests pin the clock.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from accounts.models import Role, User

LOGIN_AT_KEY = "kw_login_at"
LAST_ACTIVITY_KEY = "kw_last_activity"
REAUTH_AT_KEY = "kw_reauth_at"
MFA_ENROLLED_KEY = "kw_mfa_enrolled"

# Activity is written at most this often, so browsing does not save the session on
# every request. The session may end up to this much before the full idle time.
ACTIVITY_WRITE_INTERVAL = timedelta(seconds=60)

STAFF_ROLES = frozenset({Role.CLINICIAN, Role.SUPERVISOR, Role.ADMIN})


def idle_limit_for(user: User) -> timedelta:
    if user.role in STAFF_ROLES or user.is_superuser:
        return timedelta(minutes=settings.SESSION_IDLE_MINUTES_STAFF)
    return timedelta(minutes=settings.SESSION_IDLE_MINUTES_CLIENT)


def absolute_limit() -> timedelta:
    return timedelta(minutes=settings.SESSION_ABSOLUTE_MINUTES)


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(session: SessionBase, key: str) -> datetime | None:
    value = session.get(key)
    if not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def session_start(*, session: SessionBase, now: datetime, mfa_enrolled: bool) -> None:
    """At login: the clocks start, and a password was just given."""
    session[LOGIN_AT_KEY] = _epoch(now)
    session[LAST_ACTIVITY_KEY] = _epoch(now)
    session[REAUTH_AT_KEY] = _epoch(now)
    session[MFA_ENROLLED_KEY] = mfa_enrolled


def session_ends_at(*, session: SessionBase, user: User, now: datetime) -> datetime:
    """When this session ends if nothing more happens."""
    last_activity = _moment(session, LAST_ACTIVITY_KEY) or now
    ends = last_activity + idle_limit_for(user)
    login_at = _moment(session, LOGIN_AT_KEY)
    if login_at is not None:
        ends = min(ends, login_at + absolute_limit())
    return ends


def session_expired(*, session: SessionBase, user: User, now: datetime) -> str | None:
    """ "idle" or "absolute" when the session is over, None while it is live."""
    last_activity = _moment(session, LAST_ACTIVITY_KEY)
    if last_activity is not None and now - last_activity >= idle_limit_for(user):
        return "idle"
    login_at = _moment(session, LOGIN_AT_KEY)
    if login_at is not None and now - login_at >= absolute_limit():
        return "absolute"
    return None


def session_touch(*, session: SessionBase, now: datetime) -> None:
    """Record activity. A session from before these rules starts its clocks now."""
    if LOGIN_AT_KEY not in session:
        session[LOGIN_AT_KEY] = _epoch(now)
    last_activity = _moment(session, LAST_ACTIVITY_KEY)
    if last_activity is None or now - last_activity >= ACTIVITY_WRITE_INTERVAL:
        session[LAST_ACTIVITY_KEY] = _epoch(now)


def reauth_is_recent(*, session: SessionBase, now: datetime) -> bool:
    """Whether the person proved it is them (password or a fresh code) within REAUTH_MINUTES."""
    reauth_at = _moment(session, REAUTH_AT_KEY)
    return reauth_at is not None and now - reauth_at < timedelta(minutes=settings.REAUTH_MINUTES)


def reauth_mark(*, session: SessionBase, now: datetime) -> None:
    session[REAUTH_AT_KEY] = _epoch(now)
