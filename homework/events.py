"""Things that happened in the practice that other apps act on, without homework importing them.

Outreach listens (from its AppConfig.ready()) to tell the client about a reply or a new
plan. Listeners get ids only and run inside the caller's transaction, so what they
write is rolled back with it.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Literal

Event = Literal["feedback_created", "assignment_created"]
Listener = Callable[..., None]

_listeners: dict[str, list[Listener]] = {"feedback_created": [], "assignment_created": []}


def event_listen(*, event: Event, listener: Listener) -> None:
    if listener not in _listeners[event]:
        _listeners[event].append(listener)


def event_fire(*, event: Event, now: datetime | None = None, **ids: int) -> None:
    """Tell every listener, with the ids and the service's clock (tests pin it)."""
    for listener in _listeners[event]:
        listener(now=now, **ids)
