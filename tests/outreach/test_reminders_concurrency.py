"""Two ticks at once: both decide the same reminders are due, only one row per key results."""

import threading
from datetime import date

import pytest
from django.db import connection

from notifications.models import Notification
from outreach import reminders
from outreach.reminders import reminders_create_due
from tests.conftest import skip_or_fail
from tests.outreach.test_reminders import _many_clients, local


@pytest.mark.django_db(transaction=True)
def test_it_writes_one_row_per_key_when_two_ticks_race(world, monkeypatch):
    if connection.vendor != "postgresql":
        skip_or_fail("two writers at once need PostgreSQL (DATABASE_URL)")
    clients = _many_clients(world.clinician, 30, "Europe/London")
    published: list[list[int]] = []
    monkeypatch.setattr(reminders, "notifications_enqueue", lambda *, ids: published.append(ids))

    # Both runs decide before either writes, the worst interleaving there is.
    both_decided = threading.Barrier(2, timeout=20)
    decide = reminders.reminders_due

    def decide_then_wait(**kwargs):
        due = decide(**kwargs)
        both_decided.wait()
        return due

    monkeypatch.setattr(reminders, "reminders_due", decide_then_wait)
    now = local("Europe/London", 2026, 5, 6, 10, 0)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            results.append(reminders_create_due(now=now))
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    rows = Notification.objects.filter(kind=Notification.Kind.REMINDER)
    assert rows.count() == len(clients)
    assert len(set(rows.values_list("idempotency_key", flat=True))) == len(clients)
    first, second = results
    # Every row was created, and enqueued, by exactly one of the two runs.
    assert set(first).isdisjoint(second)
    assert sorted(first + second) == sorted(rows.values_list("id", flat=True))
    assert sorted(i for ids in published for i in ids) == sorted(first + second)
    assert {row.context["local_date"] for row in rows} == {date(2026, 5, 6).isoformat()}
