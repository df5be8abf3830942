"""Program weeks: a week that cannot open is shown to the clinician with its reason
(recorded once), a week built from the client's own "what helps", and course
adherence that does not count paused days as missed."""

import logging
from datetime import UTC, date, datetime, timedelta

from django.urls import reverse

from accounts.access import CLIENT_DISCHARGED
from homework.models import Assignment, Exercise
from homework.services.caseload import client_discharge
from programs.models import Enrolment, Program, WeekOpening
from programs.selectors import course_for_client, group_overview
from programs.services import (
    ItemInput,
    WeekInput,
    enrolment_pause,
    enrolment_resume,
    enrolments_create,
    enrolments_open_due,
    group_save,
    program_save,
)
from tests.factories import make_completion

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
TODAY = date(2026, 3, 2)


def exercise(slug: str) -> Exercise:
    return Exercise.objects.get(clinic__isnull=True, slug=slug)


def two_weeks(world, *, second_from_what_helps: bool = False) -> Program:
    return program_save(
        clinician=world.clinician,
        title="Two weeks",
        weeks=[
            WeekInput(
                theme="One", items=[ItemInput(exercise("compassionate-breathing").pk, "daily")]
            ),
            WeekInput(
                theme="Two",
                from_what_helps=second_from_what_helps,
                items=[
                    ItemInput(exercise("soothing-touch").pk, "times_per_week", (), 3),
                    ItemInput(exercise("kindness-phrases-meditation").pk, "times_per_week", (), 2),
                ],
            ),
        ],
        now=NOW,
    )


def enrol(world, program: Program, clients) -> list[Enrolment]:
    return enrolments_create(
        clinician=world.clinician, program=program, clients=clients, start_date=TODAY, now=NOW
    )


class TestAWeekThatCannotOpen:
    def test_an_archived_exercise_is_recorded_once_shown_and_cleared_when_restored(
        self, world, caplog
    ) -> None:
        program = two_weeks(world)
        group = group_save(clinician=world.clinician, name="Tuesday", member_ids=[world.client.pk])
        enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[world.client],
            start_date=TODAY,
            group=group,
            now=NOW,
        )
        soothing = exercise("soothing-touch")
        soothing.archived_at = NOW
        soothing.save(update_fields=["archived_at"])
        week_two = NOW + timedelta(days=7)
        with caplog.at_level(logging.WARNING, logger="programs.services"):
            assert enrolments_open_due(now=week_two) == 0
            enrolment = Enrolment.objects.get()
            assert enrolment.current_week == 1
            assert enrolment.blocked_week == 2
            assert "archived" in enrolment.blocked_reason
            recorded_at = enrolment.blocked_at
            # The next beats try again but record (and log) nothing new.
            assert enrolments_open_due(now=week_two + timedelta(hours=1)) == 0
        assert Enrolment.objects.get().blocked_at == recorded_at
        warnings = [r.getMessage() for r in caplog.records]
        assert warnings == [f"Program week 2 not opened for enrolment {enrolment.pk}"]
        assert not any(soothing.title in m or "Alex" in m for m in warnings)
        # Nothing of week 2 was written: all of a client's week, or none of it.
        assert Assignment.objects.filter(client=world.client).count() == 1
        assert WeekOpening.objects.count() == 1

        browser = world.login(world.clinician)
        page = browser.get(reverse("homework:client-detail", args=[world.client.pk]))
        assert "Week 2 could not start" in page.content.decode()
        group_page = browser.get(reverse("programs:group-detail", args=[group.pk]))
        text = group_page.content.decode()
        assert "Week 2 could not start" in text and "archived" in text

        soothing.archived_at = None
        soothing.save(update_fields=["archived_at"])
        assert enrolments_open_due(now=week_two + timedelta(hours=2)) == 1
        enrolment = Enrolment.objects.get()
        assert (enrolment.current_week, enrolment.blocked_reason, enrolment.blocked_week) == (
            2,
            "",
            None,
        )

    def test_a_discharged_client_is_held_back_with_the_reason_and_the_others_open(
        self, world
    ) -> None:
        program = two_weeks(world)
        enrol(world, program, [world.client, world.other_client])
        client_discharge(clinician=world.clinician, client=world.client, now=NOW)
        assert enrolments_open_due(now=NOW + timedelta(days=7)) == 1
        held = Enrolment.objects.get(client=world.client)
        assert held.blocked_reason == CLIENT_DISCHARGED
        assert held.current_week == 1
        assert Enrolment.objects.get(client=world.other_client).current_week == 2


class TestAWeekBuiltFromWhatHelps:
    def test_it_gives_the_practice_that_helped_this_client_on_the_listed_schedule(
        self, world
    ) -> None:
        program = two_weeks(world, second_from_what_helps=True)
        enrol(world, program, [world.client, world.other_client])
        breathing = Assignment.objects.get(client=world.client)
        for day in range(3):  # eased each time: 7 before, 3 after
            make_completion(
                breathing, TODAY + timedelta(days=day), distress_before=7, distress_after=3
            )
        assert enrolments_open_due(now=NOW + timedelta(days=7)) == 2
        opened = WeekOpening.objects.get(enrolment__client=world.client, week_number=2)
        assert opened.from_what_helps
        plans = sorted(opened.assignments.all(), key=lambda a: a.pk)
        # The helped practice takes the first listed item's place and schedule; the
        # listed practices fill the rest.
        assert [(p.exercise.slug, p.schedule_kind, p.times_per_week) for p in plans] == [
            ("compassionate-breathing", "times_per_week", 3),
            ("soothing-touch", "times_per_week", 2),
        ]
        course = course_for_client(client=world.client, now=NOW + timedelta(days=7))
        assert course.current.from_what_helps
        assert course.current.practices[0] == exercise("compassionate-breathing").title

    def test_without_enough_data_the_listed_practices_are_given(self, world) -> None:
        program = two_weeks(world, second_from_what_helps=True)
        (enrolment,) = enrol(world, program, [world.client])
        breathing = Assignment.objects.get(client=world.client)
        make_completion(breathing, TODAY, distress_before=7, distress_after=3)  # one log only
        enrolments_open_due(now=NOW + timedelta(days=7))
        opened = WeekOpening.objects.get(enrolment=enrolment, week_number=2)
        assert not opened.from_what_helps
        assert sorted(opened.assignments.values_list("exercise__slug", flat=True)) == [
            "kindness-phrases-meditation",
            "soothing-touch",
        ]

    def test_the_builtin_consolidation_week_says_so_in_data_and_rationale(self, db) -> None:
        program = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
        weeks = program.versions.order_by("-number").first().weeks
        assert [w["from_what_helps"] for w in weeks] == [False] * 7 + [True]
        assert "what helps" in weeks[7]["rationale"]


class TestPausedDaysAreNotMissed:
    def test_course_and_group_adherence_match_a_hand_count(self, world) -> None:
        program = two_weeks(world)
        group = group_save(clinician=world.clinician, name="Tuesday", member_ids=[world.client.pk])
        (enrolment,) = enrolments_create(
            clinician=world.clinician,
            program=program,
            clients=[world.client],
            start_date=TODAY,
            group=group,
            now=NOW,
        )
        plan = Assignment.objects.get(client=world.client)
        make_completion(plan, TODAY)  # Monday
        make_completion(plan, TODAY + timedelta(days=1))  # Tuesday
        enrolment_pause(enrolment=enrolment, actor=world.clinician, now=NOW + timedelta(days=2))
        enrolment_resume(enrolment=enrolment, actor=world.clinician, now=NOW + timedelta(days=4))
        make_completion(plan, TODAY + timedelta(days=5))  # Saturday
        # By hand: the daily plan runs Mon 2 to Sun 8 March; paused on Wednesday and
        # resumed on Friday, so Wed and Thu ask for nothing: 5 days planned, 3 done.
        after_the_week = NOW + timedelta(days=7)
        course = course_for_client(client=world.client, now=after_the_week)
        (week_one,) = [w for w in course.weeks if w.number == 1]
        assert (week_one.adherence.planned, week_one.adherence.done) == (5, 3)
        overview = group_overview(group=group, now=after_the_week)
        assert dict(overview.by_week)[1].planned == 5
        assert dict(overview.by_week)[1].done == 3


class TestTheBuilderAndTheApi:
    def week_body(self, **week) -> dict:
        soothing = exercise("soothing-touch").pk
        return {
            "title": "Short course",
            "delivery": "on_date",
            "weeks": [
                {
                    "theme": "One",
                    "items": [{"exercise": soothing, "schedule_kind": "daily"}],
                    **week,
                }
            ],
        }

    def test_the_api_sets_and_shows_a_week_built_from_what_helps(self, world) -> None:
        from rest_framework.test import APIClient

        api = APIClient()
        api.force_authenticate(world.clinician)
        url = reverse("api:v1:program-list")
        response = api.post(url, self.week_body(from_what_helps=True), format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["weeks"][0]["from_what_helps"] is True
        program = Program.objects.get(clinic=world.clinic)
        assert program.versions.get().weeks[0]["from_what_helps"] is True
        program.delete()
        for bad in ("maybe", 3, None, ["yes"]):
            response = api.post(url, self.week_body(from_what_helps=bad), format="json")
            assert response.status_code == 400, bad
            assert not Program.objects.filter(clinic=world.clinic).exists()

    def test_the_builder_saves_the_choice_and_the_page_says_so(self, world) -> None:
        browser = world.login(world.clinician)
        body = {
            "title": "Short course",
            "delivery": "on_date",
            "week_count": "1",
            "week1_items": "1",
            "week1_theme": "Start",
            "week1_from_what_helps": "on",
            "week1_item1_exercise": exercise("soothing-touch").pk,
            "week1_item1_schedule_kind": "daily",
        }
        assert browser.post(reverse("programs:program-create"), body).status_code == 302
        program = Program.objects.get(clinic=world.clinic)
        assert program.versions.get().weeks[0]["from_what_helps"] is True
        page = browser.get(reverse("programs:program-detail", args=[program.pk])).content.decode()
        assert "Built from what helps" in page
        edit = browser.get(reverse("programs:program-edit", args=[program.pk])).content.decode()
        assert 'name="week1_from_what_helps"' in edit and "checked" in edit

    def test_any_time_practices_are_marked_in_the_builder_and_on_the_course_page(
        self, world
    ) -> None:
        browser = world.login(world.clinician)
        builder = browser.get(reverse("programs:program-create")).content.decode()
        assert "Self-compassion break · also any time" in builder
        assert "Soothing touch · also any time" not in builder
        course = Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")
        page = browser.get(reverse("programs:program-detail", args=[course.pk])).content.decode()
        assert "also any time, as often as the client needs" in page


def test_the_enrolment_api_shows_why_a_week_could_not_open(world) -> None:
    from rest_framework.test import APIClient

    program = two_weeks(world)
    (enrolment,) = enrol(world, program, [world.client])
    client_discharge(clinician=world.clinician, client=world.client, now=NOW)
    enrolments_open_due(now=NOW + timedelta(days=7))
    api = APIClient()
    api.force_authenticate(world.clinician)
    data = api.get(reverse("api:v1:enrolment-detail", args=[enrolment.pk])).json()
    assert (data["blocked_week"], data["blocked_reason"]) == (2, CLIENT_DISCHARGED)
    # Written for the clinician: the client's own view of the enrolment leaves it out.
    api.force_authenticate(world.client)
    response = api.get(reverse("api:v1:enrolment-detail", args=[enrolment.pk]))
    assert response.status_code == 200
    assert (response.json()["blocked_week"], response.json()["blocked_reason"]) == (None, "")


def test_opening_a_what_helps_week_takes_the_same_queries_for_two_or_six_clients(world) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import make_client

    program = two_weeks(world, second_from_what_helps=True)
    counts = []
    for round_number, size in enumerate((2, 6)):
        # The first round's courses are over (finishing is not what is counted here).
        Enrolment.objects.update(status="finished", next_week_on=None)
        clients = [
            make_client(f"c{round_number}-{n}@client.test", world.clinician) for n in range(size)
        ]
        start = TODAY + timedelta(days=7 * round_number * 3)
        now = NOW + timedelta(days=7 * round_number * 3)
        enrolments_create(
            clinician=world.clinician, program=program, clients=clients, start_date=start, now=now
        )
        for client in clients[::2]:  # half of them with practice that helped
            plan = Assignment.objects.get(client=client)
            for day in range(3):
                make_completion(
                    plan, start + timedelta(days=day), distress_before=8, distress_after=4
                )
        with CaptureQueriesContext(connection) as queries:
            assert enrolments_open_due(now=now + timedelta(days=7)) == size
        counts.append(len(queries))
        assert WeekOpening.objects.filter(from_what_helps=True).count() == sum(
            len(range(0, s, 2)) for s in (2, 6)[: round_number + 1]
        )
    assert counts[0] == counts[1]
