"""Expired sessions are deleted hourly (accounts.tasks): Django never deletes one that
simply expired, so a clinic's session table would otherwise grow with every login."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services
from accounts.models import UserSession
from accounts.session_store import SessionStore
from accounts.tasks import sessions_clear_expired_tick

pytestmark = pytest.mark.django_db


def session_expiring(delta: timedelta) -> str:
    store = SessionStore()
    store["n"] = 1
    store.create()
    UserSession.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() + delta
    )
    return store.session_key


def test_it_deletes_the_expired_sessions_and_keeps_the_live_ones(world, monkeypatch):
    monkeypatch.setattr(services, "SESSIONS_CLEAR_BATCH", 2)  # several batches
    expired = [session_expiring(timedelta(minutes=-m)) for m in (1, 2, 3, 60 * 24 * 30, 5)]
    live = [session_expiring(timedelta(minutes=m)) for m in (1, 60)]
    signed_in = world.login(world.client)

    assert sessions_clear_expired_tick() == 5

    left = set(UserSession.objects.values_list("session_key", flat=True))
    assert left == {*live, signed_in.session.session_key}
    assert not left & set(expired)
    assert signed_in.get("/portal/").status_code == 200
    assert sessions_clear_expired_tick() == 0


def test_beat_runs_it_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["accounts-sessions-clear"]
    assert entry["task"] == sessions_clear_expired_tick.name
    assert entry["schedule"] == 3600.0
