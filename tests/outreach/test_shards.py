"""The reminder and weekly-summary ticks split into shards that any worker takes."""

from datetime import UTC, date, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from notifications.models import Notification
from outreach import tasks
from outreach.reminders import Shard, reminders_create_due, reminders_due
from outreach.summaries import weekly_summaries_create_due
from tests.factories import make_clients, make_daily_plans

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
# 10:00 in Kolkata on a Wednesday: every 09:00 reminder there has fallen due.
KOLKATA_MORNING = datetime(2026, 5, 6, 4, 30, tzinfo=UTC)
# Monday 08:00 in Kolkata (02:30 UTC): the weekly summaries of the week before are due.
KOLKATA_MONDAY = datetime(2026, 5, 11, 2, 30, tzinfo=UTC)


@pytest.fixture
def many(world) -> list[User]:
    # Everyone else in the world is placed where nothing falls due at these instants.
    User.objects.exclude(role=Role.ADMIN).update(timezone="Pacific/Honolulu")
    clients = make_clients(world.clinician, 23, zones=["Asia/Kolkata"], reminder_time=time(9, 0))
    make_daily_plans(clients, world.clinician, start_date=date(2026, 4, 1), created_at=LONG_AGO)
    User.objects.filter(pk__in=[c.pk for c in clients]).update(date_joined=LONG_AGO)
    return clients


def keys(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("idempotency_key", flat=True))


def test_it_refuses_a_shard_that_does_not_exist():
    for index, count in [(3, 3), (-1, 2), (0, 0)]:
        with pytest.raises(ValueError, match=f"No shard {index} of {count}"):
            Shard(index=index, count=count)


@pytest.mark.parametrize("count", [2, 3, 5])
def test_it_covers_every_due_reminder_exactly_once_across_the_shards(many, count):
    whole = {r.key for r in reminders_due(now=KOLKATA_MORNING)}
    parts = [
        {r.key for r in reminders_due(now=KOLKATA_MORNING, shard=Shard(index=i, count=count))}
        for i in range(count)
    ]
    assert len(whole) == 23
    assert set().union(*parts) == whole
    assert sum(len(part) for part in parts) == 23  # disjoint
    # Each client's reminders land in the shard of its id.
    by_client = {r.client_id: r.key for r in reminders_due(now=KOLKATA_MORNING)}
    for index, part in enumerate(parts):
        assert part == {key for client, key in by_client.items() if client % count == index}


def test_it_writes_each_shard_once_however_often_it_runs(many):
    shards = [Shard(index=i, count=3) for i in range(3)]
    first = [reminders_create_due(now=KOLKATA_MORNING, shard=shard) for shard in shards]
    assert sorted(len(ids) for ids in first) == sorted(
        sum(1 for c in many if c.pk % 3 == i) for i in range(3)
    )
    # Run again, in another order, and unsharded: nothing more to write.
    assert [reminders_create_due(now=KOLKATA_MORNING, shard=s) for s in shards[::-1]] == [[]] * 3
    assert reminders_create_due(now=KOLKATA_MORNING) == []
    assert len(keys(Notification.Kind.REMINDER)) == 23


def test_it_decides_a_shard_in_the_same_number_of_queries_as_the_whole(many):
    with CaptureQueriesContext(connection) as whole:
        reminders_due(now=KOLKATA_MORNING)
    with CaptureQueriesContext(connection) as part:
        reminders_due(now=KOLKATA_MORNING, shard=Shard(index=1, count=4))
    assert len(part) == len(whole) <= 5


def test_it_covers_every_weekly_summary_exactly_once_across_the_shards(world, many):
    whole = set()
    for index in range(4):
        created = weekly_summaries_create_due(now=KOLKATA_MONDAY, shard=Shard(index=index, count=4))
        rows = Notification.objects.filter(pk__in=created)
        assert {row.recipient_id % 4 for row in rows} <= {index}
        whole |= set(rows.values_list("idempotency_key", flat=True))
    # 23 clients with a plan that week; their clinician is in Honolulu (not yet Monday 08:00).
    assert len(whole) == 23
    assert weekly_summaries_create_due(now=KOLKATA_MONDAY) == []


def test_it_runs_the_tick_itself_with_one_shard(many, settings, monkeypatch):
    settings.OUTREACH_SHARDS = 1
    sent: list[tuple] = []
    monkeypatch.setattr(
        tasks.reminders_shard, "apply_async", lambda *args, **kwargs: sent.append(args)
    )
    # The tick reads the real clock: whatever is due now is written by the tick itself.
    written = tasks.reminders_tick.run()
    assert written == len(keys(Notification.Kind.REMINDER))
    assert sent == []


def test_it_enqueues_one_task_per_shard_with_numbers_only(
    many, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OUTREACH_SHARDS = 3
    sent: list[tuple] = []
    # The broker is outside this test: record what would be published.
    monkeypatch.setattr(
        tasks.reminders_shard,
        "apply_async",
        lambda args, expires: sent.append((tasks.reminders_shard.name, args, expires)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reminders_tick.run() == 0
    assert sent == [("outreach.tasks.reminders_shard", (i, 3), 55) for i in range(3)]
    # Each shard task, run as a worker would, writes its part.
    assert sum(tasks.reminders_shard.run(i, 3) for i in range(3)) == len(
        keys(Notification.Kind.REMINDER)
    )
