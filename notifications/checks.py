"""Start-up checks: production does not run without what it needs to send pushes."""

from typing import Any

from django.conf import settings
from django.core.checks import Error


def vapid_keys_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Without a VAPID pair no browser can subscribe and no push can be signed; in
    development bin/run writes one into the var folder, in production it must be set."""
    if settings.DEBUG:
        return []
    missing = [
        name
        for name in ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT")
        if not getattr(settings, name, "")
    ]
    if not missing:
        return []
    return [
        Error(
            f"{', '.join(missing)} must be set when DEBUG is off.",
            hint="Run `python manage.py vapid_keys` once and put the pair in the environment.",
            id="notifications.E001",
        )
    ]
