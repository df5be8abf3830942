"""Outbox fixtures: a kind of email of our own, and a mail backend that fails on cue."""

from datetime import datetime

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.notifications.mail_backends import ScriptedBackend

KIND = "outbox_test"


def _test_context(notification: Notification) -> dict:
    # Stands in for a builder that makes a secret at send time (an invitation token).
    return {"reset_path": f"/secret-link-{notification.pk}/"}


@pytest.fixture
def outbox_kind(monkeypatch) -> str:
    """Register a kind for these tests only, rendered with the password reset templates."""
    monkeypatch.setattr(services, "_KINDS", dict(services._KINDS))
    services.register_kind(
        KIND, template_prefix="emails/password_reset", build_context=_test_context
    )
    return KIND


@pytest.fixture
def scripted_mail(settings) -> type[ScriptedBackend]:
    settings.MAILERS = {"default": {"BACKEND": "tests.notifications.mail_backends.ScriptedBackend"}}
    ScriptedBackend.reset()
    yield ScriptedBackend
    ScriptedBackend.reset()


def make_notification(
    *,
    to_email: str = "reader@example.test",
    key: str | None = None,
    now: datetime | None = None,
    **fields,
) -> Notification:
    """A row as notification_create writes it, without publishing anything."""
    now = now or timezone.now()
    fields.setdefault("kind", KIND)
    return Notification.objects.create(
        to_email=to_email,
        idempotency_key=key or f"test:{to_email}:{Notification.objects.count()}",
        created_at=now,
        next_attempt_at=fields.pop("next_attempt_at", now),
        **fields,
    )
