"""Programs, groups and enrolments: the services."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import AuditEvent
from homework.models import Assignment, AssignmentStatus, Exercise
from measures.models import MeasureAssignment
from programs.models import Delivery, Enrolment, EnrolmentStatus, Program, WeekOpening
from programs.services import (
    ItemInput,
    WeekInput,
    assignments_create_for_clients,
    enrolment_move,
    enrolment_pause,
    enrolment_remove,
    enrolment_resume,
    enrolment_version_update,
    enrolment_week_open,
    enrolments_create,
    enrolments_open_due,
    group_save,
    program_copy,
    program_library_load,
    program_save,
)
from tests.conftest import make_client
from tests.factories import make_completion, make_exercise

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
TODAY = date(2026, 3, 2)


def builtin() -> Program:
    return Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")


def small_program(world, *, delivery: str = Delivery.ON_DATE, k: int | None = None) -> Program:
    exercise = Exercise.objects.get(clinic__isnull=True, slug="soothing-touch")
    return program_save(
        clinician=world.clinician,
        title="Two weeks",
        delivery=delivery,
        practices_to_advance=k,
        weeks=[
            WeekInput(theme="One", items=[ItemInput(exercise.pk, "times_per_week", (), 3)]),
            WeekInput(theme="Two", items=[ItemInput(exercise.pk, "daily")]),
        ],
        now=NOW,
    )


class TestTheBuiltInCourse:
    def test_it_is_loaded_with_eight_weeks_of_builtin_practices(self, db) -> None:
        program = builtin()
        version = program.versions.get()
        assert version.week_count == 8
        assert [w["instrument"] for w in version.weeks] == [
            "SCS-SF",
            "",
            "",
            "SCS-SF",
            "",
            "",
            "",
            "SCS-SF",
        ]
        exercise_ids = {i["exercise_id"] for w in version.weeks for i in w["items"]}
        assert Exercise.objects.filter(pk__in=exercise_ids, clinic__isnull=True).count() == len(
            exercise_ids
        )
        assert all(w["rationale"] and w["intro"] for w in version.weeks)

    def test_loading_it_again_changes_nothing(self, db) -> None:
        assert program_library_load() == 0
        assert builtin().versions.count() == 1

    def test_its_wording_promises_no_cure(self, db) -> None:
        text = str(builtin().versions.get().snapshot).lower()
        for word in ("cure", "fix you", "guarantee", "will heal", "should feel"):
            assert word not in text

    def test_a_clinician_can_copy_it_and_the_copy_is_their_clinics(self, world) -> None:
        copy = program_copy(clinician=world.clinician, program=builtin())
        assert copy.clinic == world.clinic
        assert copy.copied_from == builtin()
        assert copy.versions.get().snapshot["weeks"] == builtin().versions.get().snapshot["weeks"]

    def test_a_builtin_cannot_be_edited(self, world) -> None:
        with pytest.raises(ValidationError):
            program_save(clinician=world.clinician, program=builtin(), title="Mine", weeks=[])


class TestProgramBadInput:
    def test_a_week_without_exercises_writes_nothing(self, world) -> None:
        with pytest.raises(ValidationError) as error:
            program_save(clinician=world.clinician, title="X", weeks=[WeekInput(theme="One")])
        assert "weeks.1.items" in error.value.message_dict
        assert not Program.objects.filter(clinic=world.clinic).exists()

    def test_an_archived_or_other_clinics_exercise_is_refused(self, world) -> None:
        archived = make_exercise(world.clinic, archived_at=NOW)
        theirs = make_exercise(world.other_clinic)
        with pytest.raises(ValidationError) as error:
            program_save(
                clinician=world.clinician,
                title="X",
                weeks=[
                    WeekInput(theme="A", items=[ItemInput(archived.pk, "daily")]),
                    WeekInput(theme="B", items=[ItemInput(theme_id := theirs.pk, "daily")]),
                ],
            )
        assert theme_id
        messages = error.value.message_dict
        assert "archived" in messages["weeks.1.items.1.exercise"][0]
        assert "weeks.2.items.1.exercise" in messages
        assert not Program.objects.filter(clinic=world.clinic).exists()

    def test_k_larger_than_a_weeks_practices_is_refused(self, world) -> None:
        with pytest.raises(ValidationError) as error:
            small_program(world, delivery=Delivery.AFTER_PRACTICES, k=4)
        assert "3 practices" in error.value.message_dict["practices_to_advance"][0]
        assert not Program.objects.filter(clinic=world.clinic).exists()


class TestVersions:
    def test_editing_keeps_enrolled_clients_on_their_version_until_moved(self, world) -> None:
        program = small_program(world)
        (enrolment,) = enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[world.client],
            start_date=TODAY,
            now=NOW,
        )
        first = enrolment.version
        exercise = Exercise.objects.get(clinic__isnull=True, slug="compassionate-breathing")
        program_save(
            clinician=world.clinician,
            program=program,
            title="Two weeks",
            weeks=[
                WeekInput(theme="One", items=[ItemInput(exercise.pk, "daily")]),
                WeekInput(theme="Two, changed", items=[ItemInput(exercise.pk, "daily")]),
            ],
        )
        enrolment.refresh_from_db()
        assert enrolment.version == first
        assert first.weeks[1]["theme"] == "Two"
        enrolment_version_update(enrolment=enrolment, actor=world.clinician)
        enrolment.refresh_from_db()
        assert enrolment.version.number == 2
        # This week's plans stay as they were; the next week follows the new version.
        assert Assignment.objects.get(client=world.client).exercise.slug == "soothing-touch"
        enrolment_week_open(enrolment_id=enrolment.pk, now=NOW + timedelta(days=7))
        assert Assignment.objects.filter(client=world.client, exercise=exercise).count() == 1


class TestEnrolling:
    def test_a_group_is_enrolled_and_week_one_opens_today(self, world) -> None:
        group = group_save(
            clinician=world.clinician,
            name="Tuesday group",
            member_ids=[world.client.pk, world.other_client.pk],
        )
        enrolments = enrolments_create(
            clinician=world.clinician,
            program=builtin(),
            clients=list(group.members.all()),
            group=group,
            start_date=TODAY,
            now=NOW,
        )
        assert {e.current_week for e in enrolments} == {1}
        assert Assignment.objects.filter(client=world.client).count() == 3
        assert MeasureAssignment.objects.filter(client=world.client, instrument="SCS-SF").exists()
        assert (
            AuditEvent.objects.filter(object_type="programs.enrolment", action="create").count()
            == 2
        )

    def test_it_is_all_or_nothing_naming_each_client(self, world) -> None:
        world.other_client.is_active = False
        world.other_client.save()
        enrolments_create(
            clinician=world.clinician,
            program=builtin(),
            clients=[world.client],
            start_date=TODAY,
            now=NOW,
        )
        third = make_client("cleo@client.test", world.clinician, full_name="Cleo Fine")
        with pytest.raises(ValidationError) as error:
            enrolments_create(
                clinician=world.clinician,
                program=builtin(),
                clients=[world.client, world.other_client, third, world.stranger_client],
                start_date=TODAY,
                now=NOW,
            )
        messages = error.value.message_dict["clients"]
        assert "Alex Client: already in this program." in messages
        assert "Blair Client: the account is deactivated." in messages
        assert f"Client {world.stranger_client.pk}: not on your caseload." in messages
        assert not any("Casey" in m for m in messages)
        assert not any("Cleo" in m for m in messages)
        assert not Enrolment.objects.filter(client=third).exists()
        assert not Assignment.objects.filter(client=third).exists()

    def test_a_start_date_before_today_is_refused(self, world) -> None:
        with pytest.raises(ValidationError) as error:
            enrolments_create(
                clinician=world.clinician,
                program=builtin(),
                clients=[world.client],
                start_date=TODAY - timedelta(days=1),
                now=NOW,
            )
        assert "before today" in error.value.message_dict["clients"][0]
        assert not Enrolment.objects.exists()

    def test_a_group_cannot_hold_another_clinicians_client(self, world) -> None:
        with pytest.raises(ValidationError) as error:
            group_save(
                clinician=world.clinician,
                name="G",
                member_ids=[world.client.pk, world.stranger_client.pk],
            )
        assert "members" in error.value.message_dict
        assert not world.clinician.client_groups.exists()


class TestWeekOpening:
    def test_weeks_open_on_each_clients_own_local_date(self, world) -> None:
        auckland = make_client("nz@client.test", world.clinician, timezone="Pacific/Auckland")
        los_angeles = make_client("la@client.test", world.clinician, timezone="America/Los_Angeles")
        # 2026-03-09 11:30 UTC: already Tuesday 00:30 in Auckland, still Monday in LA.
        start = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
        program = small_program(world)
        enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[auckland, los_angeles],
            start_date=date(2026, 3, 3),
            now=start,
        )
        by_client = {e.client_id: e for e in Enrolment.objects.all()}
        assert by_client[auckland.pk].current_week == 1  # Tuesday 3 March has come in Auckland
        assert by_client[los_angeles.pk].current_week == 0  # still Monday 2 March in LA
        enrolments_open_due(now=datetime(2026, 3, 3, 7, 59, tzinfo=UTC))  # 23:59 Mon in LA
        assert Enrolment.objects.get(client=los_angeles).current_week == 0
        enrolments_open_due(now=datetime(2026, 3, 3, 8, 0, tzinfo=UTC))  # midnight in LA
        assert Enrolment.objects.get(client=los_angeles).current_week == 1
        assert Assignment.objects.get(client=los_angeles).start_date == date(2026, 3, 3)

    def test_a_week_across_a_dst_change_still_opens_on_its_local_date(self, world) -> None:
        los_angeles = make_client("la@client.test", world.clinician, timezone="America/Los_Angeles")
        program = small_program(world)
        # US clocks go forward on Sunday 8 March 2026.
        enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[los_angeles],
            start_date=date(2026, 3, 5),
            now=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
        )
        # Midnight 12 March in LA is now 07:00 UTC (PDT), an hour earlier than before.
        enrolments_open_due(now=datetime(2026, 3, 12, 6, 59, tzinfo=UTC))
        assert Enrolment.objects.get().current_week == 1
        enrolments_open_due(now=datetime(2026, 3, 12, 7, 0, tzinfo=UTC))
        enrolment = Enrolment.objects.get()
        assert enrolment.current_week == 2
        assert enrolment.current_week_on == date(2026, 3, 12)

    def test_opening_twice_opens_once(self, world) -> None:
        program = small_program(world)
        enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[world.client],
            start_date=TODAY,
            now=NOW,
        )
        later = NOW + timedelta(days=7)
        assert enrolments_open_due(now=later) == 1
        assert enrolments_open_due(now=later) == 0
        assert WeekOpening.objects.count() == 2
        assert Assignment.objects.filter(client=world.client).count() == 2

    def test_it_catches_up_after_downtime_to_the_week_the_calendar_reached(self, world) -> None:
        enrolments_create(
            clinician=world.clinician,
            program=builtin(),
            clients=[world.client],
            start_date=TODAY,
            now=NOW,
        )
        enrolments_open_due(now=NOW + timedelta(days=22))  # the beat was down for three weeks
        enrolment = Enrolment.objects.get()
        assert enrolment.current_week == 4
        assert enrolment.current_week_on == TODAY + timedelta(days=21)
        assert enrolment.next_week_on == TODAY + timedelta(days=28)

    def test_the_course_finishes_after_its_last_week(self, world) -> None:
        program = small_program(world)
        enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[world.client],
            start_date=TODAY,
            now=NOW,
        )
        enrolments_open_due(now=NOW + timedelta(days=7))
        enrolments_open_due(now=NOW + timedelta(days=14))
        assert Enrolment.objects.get().status == EnrolmentStatus.FINISHED


class TestAfterKPractices:
    def test_the_next_week_waits_for_k_practices(self, world) -> None:
        program = small_program(world, delivery=Delivery.AFTER_PRACTICES, k=2)
        (enrolment,) = enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[world.client],
            start_date=TODAY,
            now=NOW,
        )
        plan = Assignment.objects.get(client=world.client)
        make_completion(plan, TODAY)
        enrolments_open_due(now=NOW + timedelta(days=8))
        assert Enrolment.objects.get().current_week == 1  # one practice: not pushed on
        make_completion(plan, TODAY + timedelta(days=1))
        enrolments_open_due(now=NOW + timedelta(days=9))
        enrolment = Enrolment.objects.get()
        assert enrolment.current_week == 2
        # It waited two days for practice, so it runs seven days from when it opened.
        assert enrolment.current_week_on == TODAY + timedelta(days=9)
        assert enrolment.next_week_on == TODAY + timedelta(days=16)
        week_two = Assignment.objects.filter(client=world.client).exclude(pk=plan.pk).get()
        assert week_two.start_date == TODAY + timedelta(days=9)


@pytest.mark.django_db(transaction=True)
def test_opening_in_parallel_threads_opens_once(world) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    program = small_program(world)
    (enrolment,) = enrolments_create(
        clinician=world.clinician,
        program=program,
        clients=[world.client],
        start_date=TODAY,
        now=NOW,
    )
    later = NOW + timedelta(days=7)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            results.append(enrolment_week_open(enrolment_id=enrolment.pk, now=later))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert WeekOpening.objects.filter(enrolment=enrolment).count() == 2
    assert Assignment.objects.filter(client=world.client).count() == 2


class TestMovesPausesRemovals:
    @pytest.fixture
    def enrolment(self, world) -> Enrolment:
        (enrolment,) = enrolments_create(
            clinician=world.clinician,
            program=builtin(),
            clients=[world.client],
            start_date=TODAY,
            now=NOW,
        )
        return enrolment

    def test_moving_forward_ends_this_week_and_opens_the_next_today(self, world, enrolment) -> None:
        week_one = set(Assignment.objects.filter(client=world.client).values_list("pk", flat=True))
        moved = enrolment_move(enrolment=enrolment, actor=world.clinician, forward=True, now=NOW)
        assert moved.current_week == 2
        assert set(Assignment.objects.filter(pk__in=week_one).values_list("status", flat=True)) == {
            AssignmentStatus.ENDED
        }
        assert Assignment.objects.filter(client=world.client, status="active").count() == 2
        back = enrolment_move(enrolment=moved, actor=world.clinician, forward=False, now=NOW)
        assert back.current_week == 1
        assert (
            AuditEvent.objects.filter(object_type="programs.enrolment", action="change").count()
            == 2
        )

    def test_there_is_no_week_before_the_first(self, world, enrolment) -> None:
        with pytest.raises(ValidationError):
            enrolment_move(enrolment=enrolment, actor=world.clinician, forward=False, now=NOW)

    def test_a_paused_course_opens_no_week_and_pauses_its_plans(self, world, enrolment) -> None:
        enrolment_pause(enrolment=enrolment, actor=world.clinician, now=NOW)
        assert set(
            Assignment.objects.filter(client=world.client).values_list("status", flat=True)
        ) == {AssignmentStatus.PAUSED}
        assert enrolments_open_due(now=NOW + timedelta(days=8)) == 0
        resumed = enrolment_resume(
            enrolment=enrolment, actor=world.clinician, now=NOW + timedelta(days=8)
        )
        assert resumed.next_week_on == TODAY + timedelta(days=8)
        assert enrolments_open_due(now=NOW + timedelta(days=8)) == 1

    def test_removing_ends_plans_keeps_logs_and_opens_no_more_weeks(self, world, enrolment) -> None:
        plan = Assignment.objects.filter(client=world.client).first()
        make_completion(plan, TODAY)
        enrolment_remove(enrolment=enrolment, actor=world.clinician, now=NOW)
        assert plan.completions.count() == 1
        assert enrolments_open_due(now=NOW + timedelta(days=30)) == 0
        assert AuditEvent.objects.filter(object_type="programs.enrolment", action="delete").exists()

    def test_a_colleague_cannot_change_it(self, world, enrolment) -> None:
        for actor in (world.colleague, world.stranger_clinician, world.client):
            with pytest.raises(ValidationError):
                enrolment_pause(enrolment=enrolment, actor=actor, now=NOW)
        assert Enrolment.objects.get().status == EnrolmentStatus.ACTIVE


class TestBulkAssignment:
    def test_everyone_gets_the_exercise_or_nobody_does(self, world) -> None:
        exercise = Exercise.objects.get(clinic__isnull=True, slug="soothing-touch")
        made = assignments_create_for_clients(
            clinician=world.clinician,
            clients=[world.client, world.other_client],
            exercise=exercise,
            schedule_kind="daily",
            start_date=TODAY,
            now=NOW,
        )
        assert len(made) == 2
        with pytest.raises(ValidationError) as error:
            assignments_create_for_clients(
                clinician=world.clinician,
                clients=[world.client, world.stranger_client],
                exercise=exercise,
                schedule_kind="daily",
                start_date=TODAY,
                now=NOW,
            )
        assert error.value.message_dict["clients"] == [
            f"Client {world.stranger_client.pk}: not on your caseload."
        ]
        assert Assignment.objects.count() == 2


def test_the_beat_task_opens_due_weeks(world, settings) -> None:
    from django.utils import timezone

    from programs.tasks import program_weeks_tick

    assert settings.CELERY_BEAT_SCHEDULE["programs-weeks"]["task"] == program_weeks_tick.name
    today = timezone.now().astimezone(world.client.zone).date()
    enrolments_create(
        clinician=world.clinician, program=builtin(), clients=[world.client], start_date=today
    )
    assert Enrolment.objects.get().current_week == 1
    # The tick reads the real clock: bring week 2's date to today.
    Enrolment.objects.update(next_week_on=today)
    assert program_weeks_tick.delay().get() == 1
    assert Enrolment.objects.get().current_week == 2
    assert program_weeks_tick.delay().get() == 0


def test_one_batch_opens_weeks_for_several_clinicians_clients(world) -> None:
    theirs = make_client("kit@client.test", world.colleague, full_name="Kit Client")
    for clinician, client in ((world.clinician, world.client), (world.colleague, theirs)):
        enrolments_create(
            clinician=clinician, program=builtin(), clients=[client], start_date=TODAY, now=NOW
        )
    assert enrolments_open_due(now=NOW + timedelta(days=7)) == 2
    assert set(Enrolment.objects.values_list("current_week", flat=True)) == {2}
    # A plan its clinician may no longer give is not made, and the rest still open.
    theirs.client_profile.clinician = world.clinician
    theirs.client_profile.save()
    assert enrolments_open_due(now=NOW + timedelta(days=14)) == 1
    assert Enrolment.objects.get(client=theirs).current_week == 2
