"""The client's weekly summary mentions the course week, never its theme or practices."""

from datetime import UTC, date, datetime

import pytest

from notifications.models import Notification
from notifications.services import notification_render
from outreach import summaries
from outreach.summaries import weekly_summaries_create_due
from programs.models import Program
from programs.selectors import course_weeks_for_clients
from programs.services import enrolments_create, enrolments_open_due


@pytest.fixture(autouse=True)
def _quiet_queue(monkeypatch):
    monkeypatch.setattr(summaries, "notifications_enqueue", lambda *, ids: None)


def test_the_weekly_summary_says_the_course_week_without_naming_practices(world) -> None:
    world.client.timezone = "Europe/London"
    world.client.date_joined = datetime(2026, 1, 5, tzinfo=UTC)
    world.client.save()
    program = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
    enrolments_create(
        clinician=world.clinician,
        program=program,
        clients=[world.client],
        start_date=date(2026, 4, 27),
        now=datetime(2026, 4, 27, 9, tzinfo=UTC),
    )
    enrolments_open_due(now=datetime(2026, 5, 4, 9, tzinfo=UTC))
    enrolments_open_due(now=datetime(2026, 5, 11, 9, tzinfo=UTC))
    assert course_weeks_for_clients(client_ids=[world.client.pk]) == {world.client.pk: (3, 8)}
    weekly_summaries_create_due(now=datetime(2026, 5, 11, 9, tzinfo=UTC))
    row = Notification.objects.get(kind=Notification.Kind.WEEKLY_CLIENT, recipient=world.client)
    message = notification_render(row)
    html = message.alternatives[0][0] if message.alternatives else ""
    for text in (message.body, html):
        assert "week 3 of 8 of your course" in text
        for word in ("inner critic", "Self-compassion break", "Soothing touch", "kind pause"):
            assert word not in text
