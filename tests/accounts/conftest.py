"""Fixtures for the accounts tests: run the outbox as the worker would, an open invitation."""

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.core import mail

from accounts import services
from accounts.models import Invitation, Role
from tests.accounts.helpers import link_in, token_from


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
