"""The SQL decision of "who is due" answers exactly as the per-candidate rule it replaced.

Random plans (a fixed seed, a bounded number) around days on which clocks change in
zones far from UTC and near it: DST gaps and folds at midnight (Santiago, Havana,
Beirut), by half an hour (Lord Howe), at 02:45 (Chatham), and zones at UTC+14 and
UTC-12, compared at instants spread over two UTC days. Each instant's answer must be
the same set of reminders (plan, client, address, local date, instant due) from both.
"""

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from accounts.models import ClientProfile, User
from homework.models import Assignment, AssignmentEvent, AssignmentStatus, Completion
from outreach import reminders as sql_decision
from outreach.reminders import Shard, local_instant, zone_for
from tests.factories import make_clients, make_exercise
from tests.outreach import old_who_is_due

ZONES = [
    "Pacific/Kiritimati",  # UTC+14
    "Etc/GMT+12",  # UTC-12
    "Pacific/Pago_Pago",  # UTC-11
    "Pacific/Chatham",  # UTC+12:45, DST at 02:45 / 03:45
    "Australia/Lord_Howe",  # a half-hour DST
    "America/Santiago",  # DST at midnight
    "America/Havana",  # DST at midnight
    "Asia/Beirut",  # DST at midnight
    "America/St_Johns",
    "Asia/Kathmandu",
    "America/New_York",
    "Europe/London",
    "UTC",
    "Not/AZone",  # unknown: never due
]
# Days on which some of those zones change their clocks, and one on which none does.
DAYS = [
    date(2026, 3, 8),  # US spring forward at 02:00; Havana at 00:00
    date(2026, 3, 29),  # EU at 01:00 UTC; Beirut at 00:00
    date(2026, 4, 5),  # Santiago back at 00:00; Lord Howe back half an hour; Chatham back
    date(2026, 5, 6),  # nothing changes
    date(2026, 9, 6),  # Santiago forward at 00:00
    date(2026, 9, 27),  # Chatham forward at 02:45
    date(2026, 10, 4),  # Lord Howe forward half an hour
    date(2026, 10, 25),  # EU back; Beirut back at 00:00
    date(2026, 11, 1),  # US back at 02:00; Havana back at 01:00
]
# Wall-clock times around the changes, and ordinary ones.
TIMES = [
    time(0, 0),
    time(0, 15),
    time(0, 30),
    time(1, 0),
    time(1, 30),
    time(2, 0),
    time(2, 15),
    time(2, 30),
    time(2, 45),
    time(3, 0),
    time(3, 15),
    time(7, 0),
    time(9, 0),
    time(12, 30),
    time(18, 45),
    time(23, 0),
    time(23, 45),
]
CLIENTS = 70
PLANS_PER_CLIENT = (1, 3)


def _maybe_time(rng: random.Random, share_none: float) -> time | None:
    if rng.random() < share_none:
        return None
    if rng.random() < 0.8:
        return rng.choice(TIMES)
    return time(rng.randrange(24), rng.randrange(60))


def _instant_near(rng: random.Random, day: date, before: int, after: int) -> datetime:
    """A random instant from `before` hours before the day (UTC) to `after` hours after."""
    start = datetime.combine(day, time(0), UTC) - timedelta(hours=before)
    return start + timedelta(minutes=rng.randrange((before + 24 + after) * 60))


def _world_of_plans(world, day: date, seed: int) -> int:
    """Random clients and plans around `day`; the number of plans."""
    rng = random.Random(seed)
    clinician = world.clinician
    clients = make_clients(clinician, CLIENTS, zones=ZONES)
    inactive = set(rng.sample(range(CLIENTS), 3))
    User.objects.filter(pk__in=[c.pk for i, c in enumerate(clients) if i in inactive]).update(
        is_active=False
    )
    profiles = list(ClientProfile.objects.filter(user__in=clients))
    for profile in profiles:
        profile.reminder_time = _maybe_time(rng, 0.0)
        if rng.random() < 0.35:
            profile.quiet_hours_start = _maybe_time(rng, 0.0)
            profile.quiet_hours_end = _maybe_time(rng, 0.0)
        if rng.random() < 0.2:
            profile.reminders_paused_until = _instant_near(rng, day, 30, 30)
    ClientProfile.objects.bulk_update(
        profiles,
        ["reminder_time", "quiet_hours_start", "quiet_hours_end", "reminders_paused_until"],
    )
    exercise = make_exercise(clinician.clinic)
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    plans = []
    for client in clients:
        for _ in range(rng.randint(*PLANS_PER_CLIENT)):
            kind = rng.choice(["daily", "weekdays", "times_per_week"])
            start = day + timedelta(days=rng.randrange(-20, 3))
            end = None if rng.random() < 0.6 else start + timedelta(days=rng.randrange(0, 30))
            status = rng.choices(
                [AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED, AssignmentStatus.ENDED],
                [8, 1, 1],
            )[0]
            plans.append(
                Assignment(
                    client=client,
                    clinician=clinician,
                    exercise=exercise,
                    schedule_kind=kind,
                    weekdays=rng.randrange(1, 128) if kind == "weekdays" else 0,
                    times_per_week=rng.randint(1, 7) if kind == "times_per_week" else None,
                    start_date=start,
                    end_date=end,
                    reminder_time=_maybe_time(rng, 0.5),
                    status=status,
                    # Mostly long ago; some on the day itself, around its reminder times.
                    created_at=long_ago if rng.random() < 0.7 else _instant_near(rng, day, 40, 12),
                )
            )
    # Some plans created, and some clients' pauses ending, at the very instant a reminder
    # of theirs falls due on the day: the rule's boundaries (created before, paused until).
    preferred = {profile.user_id: profile for profile in profiles}
    for plan in plans:
        if rng.random() < 0.15:
            zone = zone_for(plan.client.timezone)
            if zone is not None:
                at = plan.reminder_time or preferred[plan.client_id].reminder_time
                instant = local_instant(day, at, zone).astimezone(UTC)
                if rng.random() < 0.5:
                    plan.created_at = instant
                else:
                    profile = preferred[plan.client_id]
                    profile.reminders_paused_until = instant
                    profile.save(update_fields=["reminders_paused_until"])
    plans = Assignment.objects.bulk_create(plans)
    # updated_at is auto_now: spread it as plans edited at various moments would have it.
    for plan in plans:
        plan.updated_at = _instant_near(rng, day, 200, 12)
    Assignment.objects.bulk_update(plans, ["updated_at"])
    events, completions = [], []
    for plan in plans:
        # Pauses, resumes and ends in the history of some plans, running or not.
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 4)):
                events.append(
                    AssignmentEvent(
                        assignment=plan,
                        action=rng.choice(["paused", "resumed", "pause", "resume", "ended"]),
                        created_at=_instant_near(rng, day, 24 * 10, 0),
                    )
                )
        # Practice on some of the days before, the day itself and the day after.
        for offset in range(-9, 2):
            if rng.random() < 0.3:
                completions.append(
                    Completion(
                        assignment=plan,
                        client=plan.client,
                        local_date=day + timedelta(days=offset),
                        minutes=5,
                    )
                )
    AssignmentEvent.objects.bulk_create(events)
    Completion.objects.bulk_create(completions)
    return len(plans)


def _answer(module, now: datetime, shard: Shard | None = None) -> list[tuple]:
    kwargs = {"now": now} if shard is None else {"now": now, "shard": shard}
    return sorted(
        (r.assignment_id, r.client_id, r.to_email, r.day, r.due_at)
        for r in module.reminders_due(**kwargs)
    )


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_the_sql_decision_equals_the_per_plan_rule(world, day):
    plans = _world_of_plans(world, day, seed=day.toordinal())
    assert plans >= CLIENTS
    # Every 53 minutes from noon UTC the day before to noon UTC the day after: every
    # zone's local `day` and both its neighbours, at many wall-clock times.
    start = datetime.combine(day, time(12), UTC) - timedelta(days=1)
    due_total = 0
    for step in range(0, 48 * 60, 53):
        now = start + timedelta(minutes=step)
        new = _answer(sql_decision, now)
        old = _answer(old_who_is_due, now)
        assert new == old, f"at {now.isoformat()}"
        due_total += len(new)
    # The comparison is about something: many reminders fell due across the instants.
    assert due_total > 100


def test_the_sql_decision_equals_the_per_plan_rule_in_each_shard(world):
    day = date(2026, 11, 1)
    _world_of_plans(world, day, seed=1901)
    for hour in (3, 11, 19):
        now = datetime.combine(day, time(hour, 7), UTC)
        for index in range(3):
            shard = Shard(index=index, count=3)
            assert _answer(sql_decision, now, shard) == (_answer(old_who_is_due, now, shard))
    assert sql_decision.reminders_due(now=datetime.combine(day, time(19, 7), UTC))
