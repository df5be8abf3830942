"""Queries compiled once per process answer exactly as the ORM does (core.compiled).

Runs on the suite's database and again, in a subprocess, on SQLite, whose converters
differ (dates and datetimes come back as text there and are converted by Django).
"""

import os
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import FETCH_PEERS, Count, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from core.compiled import CompiledModels, CompiledValues, IdList
from homework.models import Assignment, AssignmentEvent, AssignmentStatus, Completion
from homework.selectors import practice
from homework.services.assignments import assignment_end, assignment_pause
from programs.models import Enrolment, Program
from tests.conftest import make_client, run_module_on_sqlite
from tests.factories import (
    local_today,
    make_assignment,
    make_completion,
    make_exercise,
    make_measure,
    make_measure_response,
)

MONDAY = date(2026, 3, 2)


def snapshot(obj, seen: frozenset = frozenset()) -> dict | tuple:
    """Everything an instance holds: its loaded fields, annotations, deferred fields and
    the related objects loaded with it (recursively; a one-to-one's way back as a mark)."""
    if obj is None:  # a nullable relation, loaded empty
        return None
    if id(obj) in seen:
        return ("the way back to", type(obj), obj.pk)
    seen = seen | {id(obj)}
    fields = {key: value for key, value in vars(obj).items() if key != "_state"}
    related = {name: snapshot(value, seen) for name, value in obj._state.fields_cache.items()}
    return {
        "type": type(obj),
        "fields": fields,
        "deferred": obj.get_deferred_fields(),
        "related": related,
        "db": obj._state.db,
        "adding": obj._state.adding,
    }


@pytest.fixture
def plans(world) -> list[User]:
    """Clients with plans of every status, a pause in one's history, and logs with
    reflections and answers (encrypted at rest: read through converters)."""
    busy, quiet = world.client, world.other_client
    exercise = make_exercise(title="Soothing touch")
    active = make_assignment(busy, exercise, start_date=MONDAY - timedelta(days=30))
    paused = make_assignment(busy, exercise, schedule_kind="weekly", times_per_week=3)
    ended = make_assignment(busy, make_exercise(title="Letter to a friend"))
    make_assignment(busy, start_date=MONDAY + timedelta(days=40), end_date=MONDAY + timedelta(60))
    assignment_pause(assignment=paused, actor=world.clinician)
    assignment_end(assignment=ended, actor=world.clinician)
    for offset in range(10):
        make_completion(
            active,
            MONDAY - timedelta(days=offset),
            minutes=offset + 1,
            reflection=f"Kinder to myself on day {offset}, é ✓",
            answers={"moment": f"moment {offset}"},
            distress_before=7,
            distress_after=3,
        )
    make_completion(paused, MONDAY)
    nobody = make_client("nobody@client.test", world.clinician)
    return [busy, quiet, nobody, busy]  # the first again: the compiled SQL is reused


def plans_of(client_id: int):
    return (
        Assignment.objects.filter(
            client_id=client_id, status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED]
        )
        .annotate(
            has_pause=Exists(
                AssignmentEvent.objects.filter(assignment_id=OuterRef("pk"), action="paused")
            )
        )
        .select_related("exercise", "client__client_profile")
        .order_by("start_date", "id")
    )


def logs_between(client_id: int, first: date, last: date):
    return Completion.objects.filter(
        client_id=client_id, local_date__gte=first, local_date__lte=last
    ).order_by("-local_date", "-id")


def test_models_come_back_as_the_orm_builds_them(plans):
    compiled = CompiledModels(plans_of, int)
    for client in plans:
        expected = list(plans_of(client.pk))
        with CaptureQueriesContext(connection) as queries:
            got = compiled.all(client.pk)
            # select_related objects came with them: reading them asks for nothing.
            [plan.exercise.title for plan in got] + [plan.client.client_profile.pk for plan in got]
        assert len(queries) == 1
        assert [snapshot(plan) for plan in got] == [snapshot(plan) for plan in expected]
    assert any(plan.has_pause for plan in compiled.all(plans[0].pk))  # a True to compare


def test_objects_of_two_runs_are_their_own_and_tracked_peers_stay_per_run(plans):
    """What is worked out once per compilation (converters, related populators) makes
    fresh objects each run; with peers tracked (FETCH_PEERS), each run's objects are
    peers of each other only, as the ORM makes them."""
    compiled = CompiledModels(plans_of, int)
    first, second = compiled.all(plans[0].pk), compiled.all(plans[0].pk)
    assert len(first) == len(second) > 1
    for a, b in zip(first, second, strict=True):
        assert a is not b and a.exercise is not b.exercise
        assert a.client.client_profile is not b.client.client_profile
        a.exercise.title = "changed in the first run only"
        assert b.exercise.title != a.exercise.title

    peered = CompiledModels(lambda client_id: plans_of(client_id).fetch_mode(FETCH_PEERS), int)
    run_one, run_two = peered.all(plans[0].pk), peered.all(plans[0].pk)
    expected = list(plans_of(plans[0].pk).fetch_mode(FETCH_PEERS))
    assert [snapshot(plan) for plan in run_one] == [snapshot(plan) for plan in expected]
    peers_one = {id(ref()) for ref in run_one[0]._state.peers}
    assert peers_one == {id(plan) for plan in run_one}
    exercise_peers = {id(ref()) for ref in run_two[0].exercise._state.peers}
    assert exercise_peers == {id(plan.exercise) for plan in run_two}


def test_dates_values_deferred_fields_and_converters_come_back_as_the_orm_gives_them(plans):
    whole = CompiledModels(logs_between, int, date, date)
    slim = CompiledModels(
        lambda client_id, first, last: logs_between(client_id, first, last).only(
            "id", "assignment_id", "local_date", "minutes"
        ),
        int,
        date,
        date,
    )
    windows = [(MONDAY - timedelta(days=6), MONDAY), (MONDAY - timedelta(3), MONDAY - timedelta(1))]
    for client in plans:
        for first, last in [*windows, (MONDAY, MONDAY - timedelta(days=1))]:
            expected = list(logs_between(client.pk, first, last))
            assert [snapshot(log) for log in whole.all(client.pk, first, last)] == [
                snapshot(log) for log in expected
            ]
            expected_slim = list(
                logs_between(client.pk, first, last).only(
                    "id", "assignment_id", "local_date", "minutes"
                )
            )
            got_slim = slim.all(client.pk, first, last)
            assert [snapshot(log) for log in got_slim] == [snapshot(log) for log in expected_slim]
            assert all("reflection" in log.get_deferred_fields() for log in got_slim)
    logs = whole.all(plans[0].pk, *windows[0])
    assert len(logs) == 8  # seven days of the active plan and the paused one's Monday
    written = [log for log in logs if log.reflection]
    assert len(written) == 7 and written[0].reflection.startswith("Kinder") and written[0].answers


def test_the_today_selector_reads_what_its_orm_querysets_read(plans):
    for client in plans:
        plans_now = practice._TODAYS_PLANS.all(client.pk)
        expected = list(practice._todays_plans(client.pk))
        assert [snapshot(plan) for plan in plans_now] == [snapshot(plan) for plan in expected]
        logs = practice._WEEKS_LOGS.all(client.pk, MONDAY - timedelta(days=6), MONDAY)
        expected_logs = list(practice._weeks_logs(client.pk, MONDAY - timedelta(days=6), MONDAY))
        assert [snapshot(log) for log in logs] == [snapshot(log) for log in expected_logs]
    assert practice._TODAYS_PLANS.all(plans[0].pk)  # there was something to compare


def test_the_today_pages_panels_read_what_their_orm_querysets_read(world, plans):
    """The questionnaires due and the current course, read on every today page."""
    from measures import selectors as measures
    from programs import selectors as programs
    from programs.services import enrolments_create, program_library_load

    weekly = make_measure(world.client, every_weeks=1)
    make_measure_response(measure=weekly, answers=dict.fromkeys(range(1, 13), 3), days_ago=8)
    make_measure_response(measure=weekly, answers=dict.fromkeys(range(1, 13), 4), days_ago=1)
    ended = make_measure(world.client, instrument="PHQ-9", status=AssignmentStatus.ENDED)
    make_measure_response(measure=ended, answers=dict.fromkeys(range(1, 10), 1), days_ago=3)
    make_measure(world.other_client, instrument="GAD-7")
    program_library_load()
    course = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
    enrolments_create(
        clinician=world.clinician,
        program=course,
        clients=[world.client],
        start_date=local_today(world.client),
    )
    for client in plans:
        for compiled, build in [
            (measures._SCHEDULES, lambda pk: measures._schedules(pk, include_ended=True)),
            (measures._ACTIVE_SCHEDULES, lambda pk: measures._schedules(pk, include_ended=False)),
        ]:
            got, expected = compiled.all(client.pk), list(build(client.pk))
            assert [snapshot(m) for m in got] == [snapshot(m) for m in expected]
        enrolment = (
            Enrolment.objects.filter(client=client, status__in=programs.LIVE)
            .select_related("version", "program")
            .order_by("-created_at")
            .first()
        )
        got = programs._CURRENT_ENROLMENT.all(client.pk)
        assert [snapshot(e) for e in got] == ([snapshot(enrolment)] if enrolment else [])
    assert len(measures._SCHEDULES.all(world.client.pk)) == 2
    assert measures._ACTIVE_SCHEDULES.all(world.client.pk)[0].last_answered is not None
    assert programs._CURRENT_ENROLMENT.all(world.client.pk)[0].version.weeks


@pytest.mark.django_db
def test_a_text_and_a_moment_are_swapped_in_as_the_orm_writes_them():
    """The session read on every signed-in request (a key, and now): on SQLite the moment
    goes into the SQL as text, which the compiled query must write the same way."""
    from accounts.models import UserSession as Session
    from accounts.session_store import _SESSION, SessionStore

    now = timezone.now()
    keys = []
    for minutes in (-5, 0, 5, 60 * 24):
        store = SessionStore()
        store["n"] = minutes
        store.create()
        Session.objects.filter(session_key=store.session_key).update(
            expire_date=now + timedelta(minutes=minutes)
        )
        keys.append(store.session_key)
    for key in [*keys, "nosuchsessionkey0000000000000000"]:
        for moment in (now, now + timedelta(minutes=10), now - timedelta(days=1)):
            expected = list(
                Session.objects.filter(session_key=key, expire_date__gt=moment).select_related(
                    "user__clinic", "user__client_profile"
                )
            )
            got = _SESSION.all(key, moment)
            assert [snapshot(s) for s in got] == [snapshot(s) for s in expected]
    assert len(_SESSION.all(keys[-1], now)) == 1 and _SESSION.all(keys[0], now) == []


def test_a_value_used_twice_is_swapped_in_everywhere(world, plans):
    def either_side(pk: int):
        return Assignment.objects.filter(Q(client_id=pk) | Q(clinician_id=pk)).order_by("id")

    compiled = CompiledModels(either_side, int)
    for user in [world.clinician, world.client, world.colleague, world.client]:
        assert [snapshot(a) for a in compiled.all(user.pk)] == [
            snapshot(a) for a in either_side(user.pk)
        ]
    assert len(compiled.all(world.clinician.pk)) == 4


def test_the_dashboards_open_handovers_are_read_as_the_orm_reads_them(world, plans):
    from accounts.models import Handover
    from homework.selectors import caseload

    now = timezone.now()
    Handover.objects.create(
        client=world.client, from_clinician=world.clinician, to_clinician=world.colleague
    )
    Handover.objects.create(
        client=world.other_client, from_clinician=world.colleague, to_clinician=world.clinician
    )
    Handover.objects.create(
        client=world.other_client,
        from_clinician=world.clinician,
        to_clinician=world.colleague,
        accepted_at=now,
    )
    for user in [world.clinician, world.colleague, world.stranger_clinician, world.clinician]:
        got = caseload._OPEN_HANDOVERS.all(user.pk)
        assert [snapshot(h) for h in got] == [
            snapshot(h) for h in caseload._open_handovers(user.pk)
        ]
    offered_to, offered_by = caseload.handovers_open_for(clinician=world.clinician)
    assert [h.client for h in offered_to] == [world.other_client]
    assert [h.client for h in offered_by] == [world.client]
    assert offered_by[0].to_clinician.full_name == "Lee Colleague"


def test_a_clinicians_caseload_is_read_as_the_access_rule_reads_it(world, supervisor, plans):
    """The dashboard's compiled caseload query is built from clients_visible_to; for every
    kind of reader its clients (with figures versions and clinicians) are the rule's."""
    from accounts.access import clients_visible_to
    from accounts.models import ClientProfile, Clinic, Role
    from homework.selectors import progress
    from tests.conftest import make_user

    make_client("dee@client.test", world.clinician, full_name="Dee Discharged")
    ClientProfile.objects.filter(user__email="dee@client.test").update(discharged_at=timezone.now())
    gone = make_client("eli@client.test", world.clinician, full_name="Eli Gone")
    gone.is_active = False
    gone.save()
    # A link that crossed clinics (the admin refuses one, but data outlives rules).
    elsewhere = make_client("fox@client.test", world.clinician, full_name="Fox Elsewhere")
    elsewhere.clinic = world.other_clinic
    elsewhere.save()
    # The database refuses a clinician without a clinic; the rule's other branch still runs.
    clinicless = User(pk=10**9, role=Role.CLINICIAN, clinic_id=None)
    admin = make_user("ada@harbour.test", Role.ADMIN, world.clinic, full_name="Ada Admin")
    make_assignment(world.client)  # a figures version to carry
    Clinic.objects.create(name="Empty Clinic", timezone="UTC")
    readers = [
        world.clinician,
        world.colleague,
        world.stranger_clinician,
        clinicless,
        supervisor,
        admin,
        world.admin,
        world.client,
        world.clinician,
    ]
    for reader in readers:
        expected = list(progress._caseload_query(clients_visible_to(reader)))
        got = progress.caseload_clients(reader)
        assert [snapshot(c) for c in got] == [snapshot(c) for c in expected], reader
    # Opening one client: the compiled read for a clinician, the rule's for the others.
    from django.http import Http404

    from accounts.access import _client_visible_to, client_for_user_or_404

    client_ids = [*User.objects.filter(role=Role.CLIENT).values_list("pk", flat=True), 10**9]
    for reader in readers:
        for client_id in client_ids:
            expected = _client_visible_to(reader, client_id).first()
            try:
                got = client_for_user_or_404(reader, client_id)
            except Http404:
                got = None
            assert (snapshot(got) if got else None) == (snapshot(expected) if expected else None), (
                reader,
                client_id,
            )
    for huge in (2**63, -(2**63) - 1, 10**30):
        with pytest.raises(Http404):
            client_for_user_or_404(world.clinician, huge)
    names = [c.full_name for c in progress.caseload_clients(world.clinician)]
    assert "Dee Discharged" in names and "Eli Gone" in names and "Fox Elsewhere" not in names
    alex = next(c for c in progress.caseload_clients(world.clinician) if c == world.client)
    assert alex.figures_version is not None


def test_the_inbox_count_is_the_inboxs_own(world, supervisor, plans):
    """The dashboard's unread replies: the compiled count for a clinician, the rule's
    count for anyone else, equal to the inbox's length."""
    from accounts.models import Role
    from homework.models import Feedback

    logs = list(Completion.objects.filter(client=plans[0]).order_by("id"))
    for number, log in enumerate(logs[:5]):
        Feedback.objects.create(
            completion=log,
            clinician=world.clinician,
            from_client=number != 4,
            text=f"reply {number}",
            read_at=timezone.now() if number == 3 else None,
        )
    other = make_completion(make_assignment(world.stranger_client), MONDAY)
    Feedback.objects.create(
        completion=other, clinician=world.stranger_clinician, from_client=True, text="elsewhere"
    )
    readers = [
        world.clinician,
        world.colleague,
        world.stranger_clinician,
        User(pk=10**9, role=Role.CLINICIAN, clinic_id=None),
        supervisor,
        world.admin,
        world.client,
    ]
    counts = []
    for reader in readers:
        expected = practice.inbox_for_clinician(clinician=reader).count()
        assert practice.inbox_unread_count(clinician=reader) == expected, reader
        counts.append(expected)
    assert counts[:3] == [3, 0, 1]


def test_values_come_back_as_the_orm_gives_them(plans):
    def per_plan(client_id: int):
        return (
            Completion.objects.filter(client_id=client_id)
            .values("assignment_id")
            .annotate(logs=Count("id"))
            .order_by("assignment_id")
        )

    compiled = CompiledValues(per_plan)
    for client in plans:
        assert compiled.rows(client.pk) == list(per_plan(client.pk))
    assert compiled.rows(plans[0].pk)


def test_a_list_of_ids_is_bound_as_the_orm_binds_it(world, plans):
    """A caseload's ids in an `__in` filter: any length, repeats, ids with no rows, two
    lists, values before and after them, and a literal percent sign in the SQL."""
    busy, quiet, nobody = plans[0], plans[1], plans[2]
    plan_ids = list(Assignment.objects.filter(client=busy).values_list("pk", flat=True))

    def logs_of(ids, first):
        return Completion.objects.filter(client_id__in=ids, local_date__gte=first).order_by("id")

    def narrowed(first, client_ids, plan_ids, last):
        return (
            Completion.objects.filter(
                local_date__gte=first,
                client_id__in=client_ids,
                assignment_id__in=plan_ids,
                local_date__lte=last,
            )
            .annotate(label=RawSQL("'100%%'", []))
            .order_by("-local_date", "id")
        )

    one_list = CompiledModels(logs_of, IdList, date)
    two_lists = CompiledModels(narrowed, date, IdList, IdList, date)
    first = MONDAY - timedelta(days=5)
    for ids in [[busy.pk], [busy.pk, quiet.pk], [quiet.pk, busy.pk, busy.pk], [nobody.pk, 10**9]]:
        assert [snapshot(log) for log in one_list.all(ids, first)] == [
            snapshot(log) for log in logs_of(ids, first)
        ]
        for plans_asked in [plan_ids, plan_ids[:1], [10**9, *plan_ids[1:]]]:
            got = two_lists.all(first, ids, plans_asked, MONDAY - timedelta(days=2))
            expected = list(narrowed(first, ids, plans_asked, MONDAY - timedelta(days=2)))
            assert [snapshot(log) for log in got] == [snapshot(log) for log in expected]
    got = two_lists.all(first, [busy.pk, quiet.pk], plan_ids, MONDAY - timedelta(days=2))
    assert len(got) == 4 and {log.label for log in got} == {"100%"}  # 2 to 5 days before
    assert len(one_list.all([busy.pk, quiet.pk], first)) == 7


def test_the_caseloads_attention_reads_what_their_orm_querysets_read(world, plans):
    """Open risk flags and each client's two latest banded answers, compiled."""
    from measures import attention
    from measures.models import RiskFlag

    busy, quiet, nobody = plans[0], plans[1], plans[2]
    phq = make_measure(busy, instrument="PHQ-9")
    gad = make_measure(quiet, instrument="GAD-7")
    responses = [
        make_measure_response(measure=phq, answers=dict.fromkeys(range(1, 10), points), days_ago=d)
        for points, d in [(0, 20), (1, 10), (2, 3)]
    ]
    make_measure_response(measure=gad, answers=dict.fromkeys(range(1, 8), 2), days_ago=1)
    make_measure_response(client=busy, answers=dict.fromkeys(range(1, 13), 3), days_ago=2)
    RiskFlag.objects.create(client=busy, response=responses[2], item=9)
    RiskFlag.objects.create(client=busy, response=responses[1], item=9)
    RiskFlag.objects.create(
        client=busy, response=responses[0], item=9, acknowledged_at=timezone.now()
    )
    banded = ("PHQ-9", "GAD-7")
    for ids in [[busy.pk], [busy.pk, quiet.pk, nobody.pk], [quiet.pk], [nobody.pk, busy.pk]]:
        got = attention._OPEN_FLAGS.all(ids)
        assert [snapshot(f) for f in got] == [snapshot(f) for f in attention.open_flags_query(ids)]
        got = attention._latest_two(banded).all(ids)
        assert [snapshot(r) for r in got] == [
            snapshot(r) for r in attention.latest_two_query(ids, banded)
        ]
    assert len(attention._OPEN_FLAGS.all([busy.pk, quiet.pk])) == 2
    latest = attention._latest_two(banded).all([busy.pk, quiet.pk])
    assert [(r.client_id, r.instrument, r.rank) for r in latest] == [
        (busy.pk, "PHQ-9", 1),
        (busy.pk, "PHQ-9", 2),
        (quiet.pk, "GAD-7", 1),
    ]


def test_the_client_pages_plans_history_and_flags_read_what_their_orm_querysets_read(world, plans):
    """The client page's plans (with their history flag and exercise), the history of
    the plans that have one, and the client's risk flags, open and acknowledged."""
    from homework.selectors import progress
    from measures import selectors as measures
    from measures.models import RiskFlag

    busy = plans[0]
    phq = make_measure(busy, instrument="PHQ-9")
    answers = [
        make_measure_response(measure=phq, answers=dict.fromkeys(range(1, 10), 2), days_ago=d)
        for d in range(8)
    ]
    now = timezone.now()
    for number, response in enumerate(answers):
        RiskFlag.objects.create(
            client=busy,
            response=response,
            item=9,
            created_at=now - timedelta(hours=number),
            acknowledged_at=None if number < 2 else now - timedelta(minutes=number),
            acknowledged_by=None if number < 2 else world.clinician,
        )
    plan_ids = list(Assignment.objects.values_list("pk", flat=True))
    for client in plans:
        got = progress._CLIENT_PLANS.all(client.pk)
        assert [snapshot(a) for a in got] == [
            snapshot(a) for a in progress._client_plans(client.pk)
        ]
        got = measures._OPEN_FLAGS.all(client.pk)
        assert [snapshot(f) for f in got] == [snapshot(f) for f in measures._open_flags(client.pk)]
        for count in (1, 5, 5):
            got = measures._acknowledged(count).all(client.pk)
            expected = measures._acknowledged_flags(client.pk, count)
            assert [snapshot(f) for f in got] == [snapshot(f) for f in expected]
    for ids in [plan_ids, plan_ids[:1], [10**9], plan_ids[::-1]]:
        got = practice._STATUS_EVENTS.all(ids)
        expected = practice.status_events_query(ids)
        assert sorted((snapshot(e) for e in got), key=lambda e: e["fields"]["id"]) == sorted(
            (snapshot(e) for e in expected), key=lambda e: e["fields"]["id"]
        )
    assert {a.has_status_events for a in progress._CLIENT_PLANS.all(busy.pk)} == {True, False}
    assert len(practice._STATUS_EVENTS.all(plan_ids)) == 2  # a pause and an end
    flags = measures.risk_flags_for_client(client=busy)
    assert [f.acknowledged_at is None for f in flags] == [True, True] + [False] * 5
    assert flags[-1].acknowledged_by.full_name == world.clinician.full_name


@pytest.mark.django_db
def test_a_query_it_cannot_compile_faithfully_is_refused():
    # The value is not a parameter of the SQL (nothing to swap in).
    with pytest.raises(ValueError, match="must be a parameter"):
        CompiledModels(lambda client_id: Assignment.objects.all(), int).all(1)
    with pytest.raises(ValueError, match="plain reads"):
        CompiledModels(
            lambda client_id: Assignment.objects.filter(client_id=client_id).prefetch_related(
                "events"
            ),
            int,
        ).all(1)
    with pytest.raises(TypeError, match="int, str, date, datetime and IdList"):
        CompiledModels(lambda score: User.objects.filter(pk=score), float).all(1.5)
    compiled = CompiledModels(logs_between, int, date, date)
    with pytest.raises(TypeError, match="expected 3 value"):
        compiled.all(1, MONDAY)
    # A list must be an `__in` filter's whole list, and hold something.
    with pytest.raises(ValueError, match="`__in` filter"):
        CompiledModels(lambda ids: User.objects.filter(pk=ids[0]), IdList).all([1])
    listed = CompiledModels(lambda ids: User.objects.filter(pk__in=ids), IdList)
    for empty in ([], (), "12"):
        with pytest.raises(ValueError, match="non-empty sequence"):
            listed.all(empty)


@pytest.mark.skipif(
    connection.vendor != "postgresql" or os.environ.get("COMPILED_ON_SQLITE") == "1",
    reason="runs this module on SQLite when the suite runs on PostgreSQL",
)
def test_the_same_holds_on_sqlite(tmp_path):
    run_module_on_sqlite(__file__, tmp_path, "COMPILED_ON_SQLITE")


def test_the_log_pages_plan_and_days_log_are_read_as_the_orm_reads_them(world, plans):
    """Read on every practice and log page and every logged practice."""
    every_plan = list(Assignment.objects.order_by("pk"))
    for client in {*plans, world.stranger_client}:
        for plan in every_plan:
            expected = practice.client_assignment_query(plan.pk, client.pk).first()
            got = practice._CLIENT_ASSIGNMENT.all(plan.pk, client.pk)
            assert [snapshot(row) for row in got] == ([snapshot(expected)] if expected else [])
    assert any(practice._CLIENT_ASSIGNMENT.all(p.pk, p.client_id) for p in every_plan)
    for plan in every_plan:
        for day in (MONDAY, MONDAY - timedelta(days=3), MONDAY + timedelta(days=1)):
            expected = Completion.objects.filter(assignment=plan, local_date=day).first()
            got = practice.days_log(plan, day)
            assert snapshot(got) == snapshot(expected)
    assert practice.days_log(every_plan[0], MONDAY) is not None  # something to compare


@pytest.mark.parametrize("assignment_id", [2**63, -(2**63) - 1, 10**30])
def test_a_plan_id_no_key_can_hold_is_a_404(world, assignment_id):
    from django.http import Http404

    with pytest.raises(Http404):
        practice.assignment_for_client_or_404(world.client, assignment_id)


def test_the_api_logs_plan_is_the_one_its_scoped_queryset_finds(world, supervisor, plans):
    """The API's practice log names its plan by id: for a client it is read compiled,
    for anyone else through the queryset; either way the plan (and its exercise) that
    `assignments_visible_to(user).select_related("exercise")` has under that id."""
    from homework.selectors.assignments import assignments_visible_to

    every_plan = list(Assignment.objects.order_by("pk"))
    readers = [*plans, world.stranger_client, world.clinician, world.admin, supervisor]
    readers += [world.colleague, world.stranger_clinician]
    found = 0
    for user in readers:
        for plan_id in [plan.pk for plan in every_plan] + [every_plan[-1].pk + 1, 0, -3]:
            scoped = assignments_visible_to(user).select_related("exercise")
            expected = scoped.filter(pk=plan_id).first()
            got = practice.assignment_with_exercise_visible_to(user, plan_id)
            assert snapshot(got) == snapshot(expected), (user.role, plan_id)
            found += got is not None
    assert 0 < found < len(readers) * len(every_plan)  # plans found and plans refused
    for plan_id in (2**63, -(2**63) - 1, 10**30):
        assert practice.assignment_with_exercise_visible_to(world.client, plan_id) is None
