from django.http import HttpRequest
from django.utils import timezone

from accounts import sessions


def session_timeout(request: HttpRequest) -> dict:
    """When the session ends without activity, for the notice on every page."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated:
        return {}
    ends_at = sessions.session_ends_at(session=session, user=user, now=timezone.now())
    return {
        "session_ends_at": ends_at,
        "session_ends_at_epoch": int(ends_at.timestamp()),
        "session_ends_at_local": ends_at.astimezone(user.zone),
        "session_idle_minutes": int(sessions.idle_limit_for(user).total_seconds() // 60),
    }
