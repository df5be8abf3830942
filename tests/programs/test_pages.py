"""Clinician pages for programs and groups, and the course panels on the portal."""

import pytest
from django.urls import reverse
from django.utils import timezone

from homework.models import Assignment, Exercise
from programs.models import Enrolment, Group, Program
from programs.services import enrolments_create, group_save
from tests.factories import make_clients, make_completion


def builtin() -> Program:
    return Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")


def today_for(user) -> object:
    return timezone.now().astimezone(user.zone).date()


@pytest.fixture
def group(world) -> Group:
    return group_save(
        clinician=world.clinician,
        name="Thursday group",
        member_ids=[world.client.pk, world.other_client.pk],
    )


@pytest.fixture
def enrolled(world, group) -> list[Enrolment]:
    return enrolments_create(
        clinician=world.clinician,
        program=builtin(),
        clients=list(group.members.all()),
        group=group,
        start_date=max(today_for(world.client), today_for(world.other_client)),
    )


def pages(world, group, enrolment) -> list[tuple[str, str]]:
    program = builtin()
    return [
        ("get", reverse("programs:program-list")),
        ("get", reverse("programs:program-detail", args=[program.pk])),
        ("get", reverse("programs:program-create")),
        ("get", reverse("programs:program-enrol", args=[program.pk])),
        ("post", reverse("programs:program-copy", args=[program.pk])),
        ("get", reverse("programs:group-list")),
        ("get", reverse("programs:group-create")),
        ("get", reverse("programs:group-detail", args=[group.pk])),
        ("get", reverse("programs:group-edit", args=[group.pk])),
        ("post", reverse("programs:enrolment-action", args=[enrolment.pk, "pause"])),
        ("get", reverse("programs:assign-many")),
    ]


class TestRefusals:
    def test_anonymous_visitors_are_sent_to_log_in(self, world, group, enrolled) -> None:
        browser = world.login(None)
        for method, url in pages(world, group, enrolled[0]):
            response = getattr(browser, method)(url)
            assert response.status_code == 302, url
            assert "/login" in response["Location"]

    def test_clients_are_refused(self, world, group, enrolled) -> None:
        browser = world.login(world.client)
        for method, url in pages(world, group, enrolled[0]):
            assert getattr(browser, method)(url).status_code == 403, url

    def test_a_colleague_gets_404_for_the_group_and_enrolment(self, world, group, enrolled) -> None:
        browser = world.login(world.colleague)
        for url in (
            reverse("programs:group-detail", args=[group.pk]),
            reverse("programs:group-edit", args=[group.pk]),
        ):
            assert browser.get(url).status_code == 404
        action = reverse("programs:enrolment-action", args=[enrolled[0].pk, "pause"])
        assert browser.post(action).status_code == 404
        assert Enrolment.objects.get(pk=enrolled[0].pk).status == "active"

    def test_another_clinic_gets_404_for_the_clinics_program_group_and_enrolment(
        self, world, group, enrolled
    ) -> None:
        own = world.login(world.clinician)
        own.post(reverse("programs:program-copy", args=[builtin().pk]))
        copy = Program.objects.get(clinic=world.clinic)
        browser = world.login(world.stranger_clinician)
        for url in (
            reverse("programs:program-detail", args=[copy.pk]),
            reverse("programs:program-edit", args=[copy.pk]),
            reverse("programs:program-enrol", args=[copy.pk]),
            reverse("programs:group-detail", args=[group.pk]),
        ):
            assert browser.get(url).status_code == 404, url
        assert browser.post(reverse("programs:program-copy", args=[copy.pk])).status_code == 404
        action = reverse("programs:enrolment-action", args=[enrolled[0].pk, "remove"])
        assert browser.post(action).status_code == 404
        assert Enrolment.objects.get(pk=enrolled[0].pk).status == "active"

    def test_a_builtin_cannot_be_edited_on_its_page(self, world) -> None:
        browser = world.login(world.clinician)
        assert browser.get(reverse("programs:program-edit", args=[builtin().pk])).status_code == 403


class TestClinicianJourney:
    def test_the_programs_page_lists_the_builtin_course(self, world) -> None:
        page = world.login(world.clinician).get(reverse("programs:program-list"))
        assert "Eight weeks of self-compassion" in page.content.decode()

    def test_the_course_page_shows_each_week_with_its_rationale(self, world) -> None:
        page = (
            world.login(world.clinician)
            .get(reverse("programs:program-detail", args=[builtin().pk]))
            .content.decode()
        )
        assert "Week 8: Keeping what helps" in page
        assert "Why this week" in page

    def test_a_group_is_made_and_enrolled_in_one_step(self, world) -> None:
        browser = world.login(world.clinician)
        response = browser.post(
            reverse("programs:group-create"),
            {"name": "Cohort A", "members": [world.client.pk, world.other_client.pk]},
        )
        group = Group.objects.get(name="Cohort A")
        assert response.status_code == 302
        start = max(today_for(world.client), today_for(world.other_client))
        response = browser.post(
            reverse("programs:program-enrol", args=[builtin().pk]),
            {"group": group.pk, "start_date": start.isoformat()},
        )
        assert response.status_code == 302
        assert Enrolment.objects.filter(group=group, current_week=1).count() == 2
        page = browser.get(reverse("programs:group-detail", args=[group.pk])).content.decode()
        assert "Week 1 of 8: Noticing the inner critic" in page
        assert "<svg" in page and "<table>" in page

    def test_enrolling_with_a_past_date_writes_nothing_and_names_each_client(
        self, world, group
    ) -> None:
        browser = world.login(world.clinician)
        response = browser.post(
            reverse("programs:program-enrol", args=[builtin().pk]),
            {"group": group.pk, "start_date": "2020-01-01"},
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "Alex Client: the start date is before today" in page
        assert "Blair Client: the start date is before today" in page
        assert not Enrolment.objects.exists()

    def test_the_builder_saves_a_program_and_refuses_a_week_without_exercises(self, world) -> None:
        browser = world.login(world.clinician)
        exercise = Exercise.objects.get(clinic__isnull=True, slug="soothing-touch")
        base = {
            "title": "Short course",
            "delivery": "on_date",
            "week_count": "2",
            "week1_items": "1",
            "week2_items": "1",
            "week1_theme": "Start",
            "week1_item1_exercise": exercise.pk,
            "week1_item1_schedule_kind": "daily",
            "week2_theme": "Carry on",
            "week2_item1_schedule_kind": "daily",
        }
        response = browser.post(reverse("programs:program-create"), base)
        assert response.status_code == 400
        assert "Week 2: add at least one exercise." in response.content.decode()
        assert not Program.objects.filter(clinic=world.clinic).exists()
        response = browser.post(
            reverse("programs:program-create"), {**base, "week2_item1_exercise": exercise.pk}
        )
        assert response.status_code == 302
        program = Program.objects.get(clinic=world.clinic)
        assert program.versions.get().week_count == 2

    def test_add_a_week_shows_one_more_week_and_saves_nothing(self, world) -> None:
        browser = world.login(world.clinician)
        response = browser.post(
            reverse("programs:program-create"),
            {"title": "X", "delivery": "on_date", "week_count": "1", "add_week": "1"},
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert "Week 2: theme" in page
        assert "errorlist" not in page
        assert not Program.objects.filter(clinic=world.clinic).exists()

    def test_a_group_with_another_clinicians_client_is_refused(self, world) -> None:
        browser = world.login(world.clinician)
        response = browser.post(
            reverse("programs:group-create"),
            {"name": "Mixed", "members": [world.client.pk, world.stranger_client.pk]},
        )
        assert response.status_code == 400
        assert not Group.objects.exists()

    def test_one_exercise_for_a_group(self, world, group) -> None:
        browser = world.login(world.clinician)
        exercise = Exercise.objects.get(clinic__isnull=True, slug="soothing-touch")
        response = browser.post(
            reverse("programs:assign-many"),
            {
                "group": group.pk,
                "exercise": exercise.pk,
                "schedule_kind": "daily",
                "start_date": max(
                    today_for(world.client), today_for(world.other_client)
                ).isoformat(),
            },
        )
        assert response.status_code == 302
        assert Assignment.objects.filter(exercise=exercise).count() == 2

    def test_the_client_page_shows_the_course_and_moves_it_on(self, world, enrolled) -> None:
        browser = world.login(world.clinician)
        page = browser.get(
            reverse("homework:client-detail", args=[world.client.pk])
        ).content.decode()
        assert "Course: Eight weeks of self-compassion" in page
        enrolment = Enrolment.objects.get(client=world.client)
        browser.post(reverse("programs:enrolment-action", args=[enrolment.pk, "forward"]))
        assert Enrolment.objects.get(pk=enrolment.pk).current_week == 2


class TestClientPortal:
    def test_today_shows_the_week_its_intro_practices_and_what_comes_next(
        self, world, enrolled
    ) -> None:
        page = world.login(world.client).get(reverse("homework:today")).content.decode()
        assert "Week 1 of 8: Noticing the inner critic" in page
        assert "This week is about noticing" in page
        assert "Soothing touch" in page
        assert "Next week: A kind pause in hard moments." in page

    def test_progress_shows_the_course_week_by_week(self, world, enrolled) -> None:
        plan = Assignment.objects.filter(client=world.client).first()
        make_completion(plan, today_for(world.client))
        page = world.login(world.client).get(reverse("homework:progress")).content.decode()
        assert "Your course, week by week" in page
        assert "Week 8: Keeping what helps" in page
        assert "Still to come" in page

    def test_another_client_sees_nothing_of_this_course(self, world, enrolled) -> None:
        enrolment = Enrolment.objects.get(client=world.client)
        enrolment_remove = reverse("programs:enrolment-action", args=[enrolment.pk, "remove"])
        browser = world.login(world.stranger_client)
        assert "Week 1 of 8" not in browser.get(reverse("homework:today")).content.decode()
        assert browser.post(enrolment_remove).status_code == 403


@pytest.mark.parametrize("size", [3, 30])
def test_the_group_page_queries_do_not_grow_with_the_group(
    world, size, django_assert_max_num_queries
) -> None:
    clients = make_clients(world.clinician, size, zones=("Europe/London",))
    group = group_save(clinician=world.clinician, name="Big", member_ids=[c.pk for c in clients])
    # Week 1 opens today, so every member has plans and logs to count.
    start = today_for(clients[0])
    enrolments_create(
        clinician=world.clinician, program=builtin(), clients=clients, group=group, start_date=start
    )
    for plan in Assignment.objects.filter(client__in=clients):
        make_completion(plan, start)
    browser = world.login(world.clinician)
    with django_assert_max_num_queries(14):
        assert browser.get(reverse("programs:group-detail", args=[group.pk])).status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_enrolling_a_group_queries_do_not_grow_with_the_group(
    world, size, django_assert_max_num_queries
) -> None:
    clients = make_clients(world.clinician, size, zones=("Europe/London",))
    group = group_save(clinician=world.clinician, name="Big", member_ids=[c.pk for c in clients])
    browser = world.login(world.clinician)
    url = reverse("programs:program-enrol", args=[builtin().pk])
    # Measured: 29 for 3 members and for 30 (2 of headroom for middleware).
    with django_assert_max_num_queries(29 + 2):
        response = browser.post(
            url, {"group": group.pk, "start_date": today_for(clients[0]).isoformat()}
        )
    assert response.status_code == 302
    assert Assignment.objects.filter(client__in=clients).count() == 3 * size
