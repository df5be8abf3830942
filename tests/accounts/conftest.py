"""Fixtures for the accounts tests: run the outbox as the worker would, an open invitation."""

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.core import mail

from accounts import services
from accounts.models import Invitation, Role
from tests.accounts.helpers import link_in, token_from


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Argon2 is slow by design; the world's eight accounts would cost a second per test.

    Autouse, so it applies before the world fixture builds its accounts. The
    production hasher list (Argon2 first) is still what the settings module declares.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def send_outbox(django_capture_on_commit_callbacks) -> Callable[[], AbstractContextManager]:
    """`with send_outbox(): ...` runs the block's on-commit work, so the (eager) worker sends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def invitation(world, send_outbox) -> tuple[Invitation, str]:
    """An open client invitation from world.clinician, and the token from its email."""
    with send_outbox():
        created = services.invitation_create(
            clinic=world.clinic,
            email="new.client@example.test",
            full_name="Nico New",
            role=Role.CLIENT,
            clinician=world.clinician,
            invited_by=world.clinician,
        )
    return created, token_from(link_in(mail.outbox[-1], "/invite/"))
