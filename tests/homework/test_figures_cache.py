"""The caseload's cached figures, and each client's cached progress, are never stale.

homework.selectors.progress keeps each client's computed caseload figures in a cache
under (client, figures version, zone, local date), and database triggers give the
client a new version with every write the figures come from
(homework/migrations/0010). The property test applies random sequences of writes
(logs, corrections, deletions, plan edits, pauses, resumes, ends, new plans, a time-zone
change, the day rolling over in the client's zone, and writes that bypass the ORM:
queryset updates, raw SQL, bulk inserts and deletes) and after every step compares what
the caseload shows and each client's progress (`client_progress`), through the cache,
with a fresh computation from the database, exactly. It runs on whichever database
the suite runs on; a last test runs this module again on SQLite when the suite runs on
PostgreSQL.
"""

import itertools
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Role, User
from homework.models import Assignment, AssignmentEvent, AssignmentStatus, Completion
from homework.schedule import local_date
from homework.selectors import progress as progress_module
from homework.selectors.progress import (
    caseload_figures,
    caseload_figures_compute,
    caseload_for_clinician,
    client_progress,
    client_progress_compute,
    with_figures_version,
)
from homework.services.assignments import assignment_end, assignment_pause, assignment_resume
from tests.conftest import make_user, run_module_on_sqlite
from tests.factories import make_assignment, make_clients, make_completion, make_exercise

pytestmark = pytest.mark.django_db

ZONES = ["UTC", "Pacific/Auckland", "America/Los_Angeles", "Asia/Kathmandu", "Europe/London"]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _clients(clinician: User) -> list[User]:
    return list(
        with_figures_version(User.objects.filter(client_profile__clinician=clinician)).order_by(
            "pk"
        )
    )


def _assert_fresh(clinician: User, now: datetime) -> None:
    """What the cache gives equals what the database gives now, for every client."""
    clients = _clients(clinician)
    cached = caseload_figures(clients, now=now)
    fresh = caseload_figures_compute(
        clients, todays={c.pk: local_date(now, c.zone) for c in clients}
    )
    assert cached == fresh
    # The page's rows agree too (they read the cache again, now filled).
    rows = {row.client.pk: row for row in caseload_for_clinician(clinician=clinician, now=now)}
    for pk, figures in fresh.items():
        assert rows[pk].adherence_7 == figures.adherence_7
        assert rows[pk].adherence_28 == figures.adherence_28
        assert rows[pk].idle_days == figures.idle_days
        assert rows[pk].last_practice == figures.last_practice
        assert rows[pk].distress_recent == figures.distress_recent
    # The client's progress (client page, progress page, report, API), through the
    # cache, equals a fresh computation. (A step changes one client at most, so the
    # others' progress comes from the entry the previous check left.)
    for client in clients:
        cached_progress = client_progress(client=client, now=now)
        fresh_progress = client_progress_compute(client=client, now=now)
        assert cached_progress == fresh_progress
        assert [(s.assignment.pk, s.schedule) for s in cached_progress.assignments] == [
            (s.assignment.pk, s.schedule) for s in fresh_progress.assignments
        ]


_numbers = itertools.count()


class Sandbox:
    """A clinician, three clients with plans and a few logs, and a clock."""

    def __init__(self, world) -> None:
        self.clinician = make_user(
            f"clinician{next(_numbers)}@figures.test", Role.CLINICIAN, world.clinic
        )
        self.clients = make_clients(self.clinician, 3, zones=ZONES[:3])
        self.exercise = make_exercise()
        self.exercises = [self.exercise, make_exercise(title="Soothing touch")]
        self.now = START
        for client in self.clients:
            plan = make_assignment(client, self.exercise, start_date=date(2026, 2, 2))
            make_completion(plan, date(2026, 2, 27), distress_after=4)

    def plans(self) -> list[Assignment]:
        return list(Assignment.objects.filter(client__in=self.clients).order_by("pk"))

    def logs(self) -> list[Completion]:
        return list(Completion.objects.filter(client__in=self.clients).order_by("pk"))


def _pick(data, items):
    return data.draw(st.sampled_from(items)) if items else None


def step_log(box: Sandbox, data) -> None:
    plan = _pick(data, box.plans())
    day = local_date(box.now, plan.client.zone) - timedelta(days=data.draw(st.integers(0, 40)))
    if not Completion.objects.filter(assignment=plan, local_date=day).exists():
        told = box.now - timedelta(hours=data.draw(st.integers(0, 300)))
        make_completion(
            plan,
            day,
            distress_before=data.draw(st.none() | st.integers(0, 10)),
            distress_after=data.draw(st.none() | st.integers(0, 10)),
            self_kindness_after=data.draw(st.none() | st.integers(0, 10)),
            minutes=data.draw(st.integers(0, 60)),
            clinician_told_at=data.draw(st.none() | st.just(told)),
        )


def step_correct(box: Sandbox, data) -> None:
    log = _pick(data, box.logs())
    if log is not None:
        log.distress_after = data.draw(st.none() | st.integers(0, 10))
        log.minutes = data.draw(st.integers(0, 60))
        log.save()


def step_delete(box: Sandbox, data) -> None:
    log = _pick(data, box.logs())
    if log is not None:
        log.delete()


def step_edit_plan(box: Sandbox, data) -> None:
    plan = _pick(data, box.plans())
    kind = data.draw(st.sampled_from(["daily", "weekdays", "times_per_week"]))
    plan.schedule_kind = kind
    plan.weekdays = data.draw(st.integers(1, 127)) if kind == "weekdays" else 0
    plan.times_per_week = data.draw(st.integers(1, 7)) if kind == "times_per_week" else None
    plan.start_date = date(2026, 1, 1) + timedelta(days=data.draw(st.integers(0, 80)))
    plan.end_date = data.draw(
        st.none() | st.integers(0, 60).map(lambda n: plan.start_date + timedelta(days=n))
    )
    plan.save()


def step_status(box: Sandbox, data) -> None:
    plan = _pick(data, box.plans())
    change = {
        AssignmentStatus.ACTIVE: data.draw(st.sampled_from([assignment_pause, assignment_end])),
        AssignmentStatus.PAUSED: data.draw(st.sampled_from([assignment_resume, assignment_end])),
    }.get(plan.status)
    if change is not None:
        change(assignment=plan, actor=box.clinician, now=box.now)


def step_new_plan(box: Sandbox, data) -> None:
    client = _pick(data, box.clients)
    start = local_date(box.now, client.zone) - timedelta(days=data.draw(st.integers(-3, 30)))
    make_assignment(client, _pick(data, box.exercises), start_date=start)


def step_rename_exercise(box: Sandbox, data) -> None:
    """Not a figure: the progress shows the new title at once, from the plans it reads."""
    exercise = _pick(data, box.exercises)
    exercise.title = data.draw(st.sampled_from(["Affectionate breathing", "A kind pause", "Zen"]))
    exercise.save(update_fields=["title"])


def step_zone(box: Sandbox, data) -> None:
    client = _pick(data, box.clients)
    client.timezone = data.draw(st.sampled_from(ZONES))
    client.save(update_fields=["timezone"])


def step_time_passes(box: Sandbox, data) -> None:
    # Hours, so the day rolls over in some zones and not others.
    box.now += timedelta(hours=data.draw(st.integers(1, 40)))


def step_bulk_update(box: Sandbox, data) -> None:
    client = _pick(data, box.clients)
    Completion.objects.filter(client=client, distress_after__lt=10).update(
        distress_after=F("distress_after") + 1
    )


def step_raw_sql(box: Sandbox, data) -> None:
    """A write no Python code sees: as a data migration or a hand-run fix would do."""
    log = _pick(data, box.logs())
    if log is None:
        return
    earlier = log.local_date - timedelta(days=data.draw(st.integers(1, 5)))
    with connection.cursor() as cursor:
        if not Completion.objects.filter(assignment_id=log.assignment_id, local_date=earlier):
            cursor.execute(
                "UPDATE homework_completion SET local_date = %s WHERE id = %s", [earlier, log.pk]
            )


def step_raw_plan_status(box: Sandbox, data) -> None:
    plan = _pick(data, box.plans())
    status = data.draw(st.sampled_from(list(AssignmentStatus.values)))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE homework_assignment SET status = %s WHERE id = %s", [status, plan.pk]
        )


def step_bulk_insert(box: Sandbox, data) -> None:
    plan = _pick(data, box.plans())
    today = local_date(box.now, plan.client.zone)
    taken = set(Completion.objects.filter(assignment=plan).values_list("local_date", flat=True))
    days = {today - timedelta(days=n) for n in data.draw(st.lists(st.integers(0, 30), max_size=4))}
    Completion.objects.bulk_create(
        Completion(assignment=plan, client=plan.client, local_date=day, minutes=3)
        for day in sorted(days - taken)
    )


def step_bulk_delete(box: Sandbox, data) -> None:
    client = _pick(data, box.clients)
    cutoff = local_date(box.now, client.zone) - timedelta(days=data.draw(st.integers(0, 20)))
    Completion.objects.filter(client=client, local_date__gte=cutoff).delete()


def step_history_deleted(box: Sandbox, data) -> None:
    """A plan's pause history removed behind the ORM's back changes its schedule."""
    plan = _pick(data, box.plans())
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM homework_assignmentevent WHERE assignment_id = %s", [plan.pk])


STEPS = [
    step_log,
    step_correct,
    step_delete,
    step_edit_plan,
    step_status,
    step_new_plan,
    step_zone,
    step_time_passes,
    step_bulk_update,
    step_raw_sql,
    step_raw_plan_status,
    step_bulk_insert,
    step_bulk_delete,
    step_history_deleted,
    step_rename_exercise,
]


@hypothesis_settings(
    max_examples=int(os.environ.get("FIGURES_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_cached_figures_equal_a_fresh_computation_after_any_writes(world, data):
    # A sandbox of its own for each example (its own clinician and clients), so an
    # example that fails replays the same way.
    box = Sandbox(world)
    _assert_fresh(box.clinician, box.now)
    for step in data.draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=8)):
        step(box, data)
        _assert_fresh(box.clinician, box.now)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda plan, log: make_completion(plan, date(2026, 3, 1)), id="log"),
        pytest.param(lambda plan, log: log.save(), id="log saved"),
        pytest.param(lambda plan, log: log.delete(), id="log deleted"),
        pytest.param(
            lambda plan, log: Completion.objects.filter(pk=log.pk).update(minutes=9), id="update()"
        ),
        pytest.param(lambda plan, log: plan.save(), id="plan saved"),
        pytest.param(
            lambda plan, log: AssignmentEvent.objects.create(assignment=plan, action="paused"),
            id="history",
        ),
        pytest.param(
            lambda plan, log: Assignment.objects.filter(pk=plan.pk).update(status="ended"),
            id="plan update()",
        ),
    ],
)
def test_every_kind_of_write_gives_the_client_a_new_version(world, write):
    (client, bystander) = make_clients(world.clinician, 2)
    plan = make_assignment(client, start_date=date(2026, 2, 2))
    log = make_completion(plan, date(2026, 2, 27))
    make_assignment(bystander, start_date=date(2026, 2, 2))

    def versions():
        return {c.pk: c.figures_version for c in with_figures_version(User.objects.all())}

    before = versions()
    write(plan, log)
    after = versions()
    assert after[client.pk] is not None
    assert after[client.pk] != before[client.pk]
    # Another client's figures stay cached.
    assert before[bystander.pk] is not None
    assert after[bystander.pk] == before[bystander.pk]


def test_a_cached_caseload_reads_no_figures_from_the_database(world):
    clients = make_clients(world.clinician, 5)
    for client in clients:
        plan = make_assignment(client, start_date=date(2026, 2, 2))
        make_completion(plan, date(2026, 2, 27), distress_after=3)
    now = START
    with CaptureQueriesContext(connection) as cold:
        first = caseload_for_clinician(clinician=world.clinician, now=now)
    with CaptureQueriesContext(connection) as warm:
        second = caseload_for_clinician(clinician=world.clinician, now=now)
    assert [(r.client.pk, r.adherence_28, r.reasons) for r in first] == [
        (r.client.pk, r.adherence_28, r.reasons) for r in second
    ]
    figures_tables = ("homework_completion", "homework_assignment")
    assert any(t in q["sql"] for q in cold.captured_queries for t in figures_tables)
    assert not any(f'FROM "{t}"' in q["sql"] for q in warm.captured_queries for t in figures_tables)
    assert len(warm) < len(cold)


def test_a_cached_progress_reads_no_logs_and_keeps_no_words(world):
    (client,) = make_clients(world.clinician, 1)
    plan = make_assignment(
        client, make_exercise(title="Compassionate letter"), start_date=date(2026, 2, 2)
    )
    make_completion(plan, date(2026, 2, 27), distress_before=7, distress_after=4)
    with CaptureQueriesContext(connection) as cold:
        first = client_progress(client=client, now=START)
    with CaptureQueriesContext(connection) as warm:
        second = client_progress(client=client, now=START)
    assert second == first
    assert [e.title for e in second.exercises] == ["Compassionate letter"]
    assert second.rating_series[0].weeks[-2].before == 7
    assert any('FROM "homework_completion"' in q["sql"] for q in cold.captured_queries)
    assert not any('FROM "homework_completion"' in q["sql"] for q in warm.captured_queries)
    assert len(warm) == len(cold) - 1
    # The entry holds numbers, dates and ids: the exercise's title is read with the plans.
    key = progress_module._progress_key(client, local_date(START, client.zone), 12)
    entry = caches["figures"].get(key)
    assert "Compassionate letter" not in repr(entry)
    assert entry.assignment_ids == (plan.pk,)


def test_a_cache_that_fails_leaves_the_page_working(world, monkeypatch):
    """Redis down: the figures are computed, and the caseload shows them."""
    (client,) = make_clients(world.clinician, 1)
    plan = make_assignment(client, start_date=date(2026, 2, 2))
    make_completion(plan, date(2026, 3, 1))

    class Broken:
        def get_many(self, keys):
            raise ConnectionError("cache down")

        def set_many(self, entries):
            raise ConnectionError("cache down")

    monkeypatch.setattr("homework.selectors.progress.caches", {"figures": Broken()})
    (row,) = [
        row
        for row in caseload_for_clinician(clinician=world.clinician, now=START)
        if row.client.pk == client.pk
    ]
    assert row.last_practice == date(2026, 3, 1)
    assert row.practised_days_7 == 1
    progress = client_progress(client=client, now=START)
    assert progress.practice_days_total == 1
    assert progress == client_progress_compute(client=client, now=START)


@pytest.mark.skipif(
    connection.vendor != "postgresql" or os.environ.get("FIGURES_ON_SQLITE") == "1",
    reason="runs this module on SQLite when the suite runs on PostgreSQL",
)
def test_the_same_properties_hold_on_sqlite(tmp_path):
    run_module_on_sqlite(__file__, tmp_path, "FIGURES_ON_SQLITE")


def test_a_migrate_gives_every_client_a_new_version(world):
    """After a restore from a dump the versions go back to ones that newer figures may be
    cached under; the restore's migrate (docs/operations.md) renews them all."""
    from django.apps import apps
    from django.db.models.signals import post_migrate

    (client,) = make_clients(world.clinician, 1)
    make_assignment(client, start_date=date(2026, 2, 2))
    before = with_figures_version(User.objects.filter(pk=client.pk)).get().figures_version
    homework = apps.get_app_config("homework")
    post_migrate.send(
        sender=homework,
        app_config=homework,
        using=connection.alias,
        verbosity=0,
        interactive=False,
        plan=[],
        apps=apps,
    )
    after = with_figures_version(User.objects.filter(pk=client.pk)).get().figures_version
    assert after is not None
    assert after != before
    # The triggers are still there after the reinstall.
    make_completion(Assignment.objects.get(client=client), date(2026, 3, 1))
    assert with_figures_version(User.objects.filter(pk=client.pk)).get().figures_version != after
