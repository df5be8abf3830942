"""The exercise library pages and services: browse, preview, copy, write, edit, archive."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from homework.forms.exercises import ExerciseForm
from homework.models import Exercise
from homework.services import exercises as services
from tests.factories import make_assignment, make_exercise

pytestmark = pytest.mark.django_db


def builtin(slug: str = "self-compassion-break") -> Exercise:
    return Exercise.objects.get(clinic__isnull=True, slug=slug)


def own_exercise(world, **fields) -> Exercise:
    defaults = {"title": "Harbour breathing", "category": "soothing"}
    defaults.update(fields)
    return make_exercise(clinic=world.clinic, **defaults)


def valid_post(**overrides) -> dict:
    data = {
        "title": "Evening kindness",
        "category": "self_kindness",
        "summary": "A short evening look back, kindly.",
        "steps": (
            "Sit down somewhere quiet.\n\n  Recall one moment of the day.  \nSay one kind thing."
        ),
        "prompts": "What was the moment?\n* Your kind sentence",
        "ratings": ["distress_before", "distress_after"],
        "typical_minutes": "7",
    }
    data.update(overrides)
    return data


def assert_login_redirect(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- The list ---


def test_it_lists_built_ins_and_the_clinic_own_exercises_by_category(world):
    own_exercise(world, title="Harbour breathing")
    make_exercise(clinic=world.other_clinic, title="Hillside secret")
    own_exercise(world, title="Old harbour practice", archived_at="2026-01-01T00:00Z")

    response = world.login(world.clinician).get(reverse("homework:exercise-list"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Harbour breathing" in body
    assert "Kindness phrases meditation" in body
    assert "Hillside secret" not in body
    assert "Old harbour practice" not in body
    assert "<h2" in body and "Soothing" in body
    assert len(response.context["exercises"]) == 13


def test_it_shows_archived_exercises_when_asked(world):
    own_exercise(world, title="Harbour breathing")
    own_exercise(world, title="Old harbour practice", archived_at="2026-01-01T00:00Z")

    response = world.login(world.clinician).get(
        reverse("homework:exercise-list"), {"archived": "on"}
    )

    titles = [exercise.title for exercise in response.context["exercises"]]
    assert titles == ["Old harbour practice"]


def test_it_filters_the_library_by_category(world):
    response = world.login(world.clinician).get(
        reverse("homework:exercise-list"), {"category": "reframing"}
    )

    titles = {exercise.title for exercise in response.context["exercises"]}
    assert titles == {
        "Compassionate reframe of a self-critical thought",
        "Responding to a mistake with kindness",
    }


def test_it_ignores_an_unknown_category_filter(world):
    response = world.login(world.clinician).get(
        reverse("homework:exercise-list"), {"category": "nonsense"}
    )
    assert response.status_code == 200
    assert len(response.context["exercises"]) == 12


def test_it_counts_the_clinic_active_plans_of_each_exercise(world):
    exercise = builtin("soothing-touch")
    make_assignment(world.client, exercise)
    make_assignment(world.other_client, exercise, status="ended")
    make_assignment(world.stranger_client, exercise)  # the other clinic does not count

    response = world.login(world.clinician).get(reverse("homework:exercise-list"))

    in_use = {e.slug: e.in_use for e in response.context["exercises"] if e.is_builtin}
    assert in_use["soothing-touch"] == 1
    assert in_use["self-compassion-break"] == 0


def test_it_keeps_the_list_query_count_flat_as_the_library_grows(
    world, django_assert_max_num_queries
):
    browser = world.login(world.clinician)
    url = reverse("homework:exercise-list")
    own_exercise(world, title="One")
    with CaptureQueriesContext(connection) as small:
        browser.get(url)

    for number in range(30):
        exercise = own_exercise(world, title=f"Exercise {number}", category="mindfulness")
        make_assignment(world.client, exercise)
    with django_assert_max_num_queries(len(small)):
        response = browser.get(url)
    assert len(response.context["exercises"]) == 43


@pytest.mark.parametrize("name", ["exercise-list", "exercise-create"])
def test_it_refuses_library_pages_to_anonymous_visitors_and_non_clinicians(world, name):
    url = reverse(f"homework:{name}")
    assert_login_redirect(world.login(None).get(url))
    assert world.login(world.client).get(url).status_code == 403
    assert world.login(world.admin).get(url).status_code == 403


# --- The detail page ---


def test_it_previews_a_built_in_as_the_client_would_see_it(world):
    exercise = builtin("self-compassion-break")

    response = world.login(world.clinician).get(
        reverse("homework:exercise-detail", args=[exercise.pk])
    )

    assert response.status_code == 200
    body = response.content.decode()
    for step in exercise.steps:
        assert step.replace("'", "&#x27;") in body
    assert "Which kind phrase did you use?" in body
    assert "kept in the phrase bank" in body
    assert "Distress before" in body and "Distress after" in body
    assert "about 5 minutes" in body
    assert reverse("homework:exercise-copy", args=[exercise.pk]) in body
    assert reverse("homework:exercise-edit", args=[exercise.pk]) not in body
    # A link to assign it to each client on the caseload.
    assert f"{reverse('homework:assignment-create', args=[world.client.pk])}?exercise=" in body


def test_it_shows_the_clinic_exercise_with_its_edit_and_archive_actions(world):
    exercise = own_exercise(world)

    response = world.login(world.colleague).get(
        reverse("homework:exercise-detail", args=[exercise.pk])
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert reverse("homework:exercise-edit", args=[exercise.pk]) in body
    assert reverse("homework:exercise-archive", args=[exercise.pk]) in body


def test_it_answers_404_for_another_clinic_exercise_and_a_missing_one(world):
    theirs = make_exercise(clinic=world.other_clinic, title="Hillside secret")
    browser = world.login(world.clinician)

    assert browser.get(reverse("homework:exercise-detail", args=[theirs.pk])).status_code == 404
    assert browser.get(reverse("homework:exercise-detail", args=[999999])).status_code == 404


def test_it_refuses_the_detail_page_to_anonymous_visitors_and_clients(world):
    url = reverse("homework:exercise-detail", args=[builtin().pk])
    assert_login_redirect(world.login(None).get(url))
    assert world.login(world.client).get(url).status_code == 403
    assert world.login(world.stranger_client).get(url).status_code == 403


# --- Writing a new exercise ---


def test_it_creates_a_clinic_exercise_from_the_form(world):
    response = world.login(world.clinician).post(reverse("homework:exercise-create"), valid_post())

    exercise = Exercise.objects.get(title="Evening kindness")
    assert response.status_code == 302
    assert response["Location"] == reverse("homework:exercise-detail", args=[exercise.pk])
    assert exercise.clinic == world.clinic
    assert exercise.created_by == world.clinician
    assert exercise.steps == [
        "Sit down somewhere quiet.",
        "Recall one moment of the day.",
        "Say one kind thing.",
    ]
    assert exercise.prompts == [
        {"key": "what_was_the_moment", "label": "What was the moment?", "phrase": False},
        {"key": "your_kind_sentence", "label": "Your kind sentence", "phrase": True},
    ]
    assert exercise.ratings == ["distress_before", "distress_after"]
    assert exercise.typical_minutes == 7


def test_it_shows_the_new_exercise_form(world):
    response = world.login(world.clinician).get(reverse("homework:exercise-create"))
    assert response.status_code == 200
    body = response.content.decode()
    assert '<label for="id_steps">' in body
    assert "<legend>Ratings to ask (0 to 10)" in body


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"steps": " \n \n"}, "steps", "Add at least one step."),
        ({"steps": "\n".join(f"Step {n}" for n in range(21))}, "steps", "at most 20 steps"),
        ({"steps": "x" * 501}, "steps", "under 500 characters"),
        ({"title": "   "}, "title", "Give the exercise a title."),
        ({"title": "t" * 201}, "title", "at most 200 characters"),
        ({"summary": ""}, "summary", "Write a short summary."),
        ({"category": "happiness"}, "category", "Choose a category from the list."),
        ({"ratings": ["happiness"]}, "ratings", "Choose ratings from the list."),
        ({"typical_minutes": "0"}, "typical_minutes", "from 1 to 240"),
        ({"typical_minutes": "241"}, "typical_minutes", "from 1 to 240"),
        ({"typical_minutes": "five"}, "typical_minutes", "from 1 to 240"),
        ({"prompts": "*"}, "prompts", "needs a question"),
        ({"prompts": "\n".join(f"Question {n}?" for n in range(11))}, "prompts", "at most 10"),
        ({"prompts": "q" * 301}, "prompts", "under 300 characters"),
    ],
)
def test_it_refuses_bad_exercise_input_and_writes_nothing(world, overrides, field, message):
    before = Exercise.objects.count()

    response = world.login(world.clinician).post(
        reverse("homework:exercise-create"), valid_post(**overrides)
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert Exercise.objects.count() == before


def test_it_refuses_to_create_an_exercise_for_a_client(world):
    response = world.login(world.client).post(reverse("homework:exercise-create"), valid_post())
    assert response.status_code == 403
    assert not Exercise.objects.filter(title="Evening kindness").exists()


# --- Editing ---


def test_it_edits_a_clinic_exercise_and_keeps_the_keys_of_prompts_that_stay(world):
    exercise = own_exercise(
        world,
        prompts=[
            {"key": "moment", "label": "What was the moment?", "phrase": False},
            {"key": "phrase", "label": "Which phrase did you use?", "phrase": True},
        ],
    )
    data = valid_post(
        title="Harbour breathing, evening",
        prompts="What was the hard moment?\n* Which phrase did you use?\nAnything else?",
    )

    response = world.login(world.colleague).post(
        reverse("homework:exercise-edit", args=[exercise.pk]), data
    )

    assert response.status_code == 302
    exercise.refresh_from_db()
    assert exercise.title == "Harbour breathing, evening"
    assert exercise.prompts == [
        # Reworded in place: keeps its key, so earlier answers still match it.
        {"key": "moment", "label": "What was the hard moment?", "phrase": False},
        {"key": "phrase", "label": "Which phrase did you use?", "phrase": True},
        {"key": "anything_else", "label": "Anything else?", "phrase": False},
    ]


def test_it_prefills_the_edit_form_with_one_line_per_step_and_marked_phrase_prompts(world):
    exercise = own_exercise(world)

    response = world.login(world.clinician).get(
        reverse("homework:exercise-edit", args=[exercise.pk])
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form["steps"].value() == "\n".join(exercise.steps)
    assert form["prompts"].value() == "What was the moment?\n* Which phrase did you use?"


def test_it_leaves_updated_at_alone_when_an_edit_changes_nothing(world):
    exercise = own_exercise(world)
    before = exercise.updated_at

    response = world.login(world.clinician).post(
        reverse("homework:exercise-edit", args=[exercise.pk]), ExerciseForm.initial_for(exercise)
    )

    assert response.status_code == 302
    exercise.refresh_from_db()
    assert exercise.updated_at == before


def test_it_refuses_to_edit_a_built_in(world):
    exercise = builtin()
    url = reverse("homework:exercise-edit", args=[exercise.pk])
    browser = world.login(world.clinician)

    assert browser.get(url).status_code == 403
    assert browser.post(url, valid_post(title="Mine now")).status_code == 403
    exercise.refresh_from_db()
    assert exercise.title == "Self-compassion break"


def test_it_refuses_to_edit_a_built_in_in_the_service_too(world):
    exercise = builtin()
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.exercise_update(
            exercise=exercise,
            title="Mine now",
            category=exercise.category,
            summary=exercise.summary,
            steps=exercise.steps,
            prompts=exercise.prompts,
            ratings=exercise.ratings,
            typical_minutes=exercise.typical_minutes,
        )
    assert builtin().title == "Self-compassion break"


def test_it_answers_404_when_editing_another_clinic_exercise(world):
    theirs = make_exercise(clinic=world.other_clinic, title="Hillside secret")
    url = reverse("homework:exercise-edit", args=[theirs.pk])
    browser = world.login(world.clinician)

    assert browser.get(url).status_code == 404
    assert browser.post(url, valid_post()).status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "Hillside secret"


def test_it_refuses_the_edit_page_to_anonymous_visitors_and_clients(world):
    exercise = own_exercise(world)
    url = reverse("homework:exercise-edit", args=[exercise.pk])
    assert_login_redirect(world.login(None).get(url))
    assert world.login(world.client).post(url, valid_post(title="Client")).status_code == 403
    exercise.refresh_from_db()
    assert exercise.title == "Harbour breathing"


def test_it_refuses_bad_input_on_edit_and_changes_nothing(world):
    exercise = own_exercise(world)

    response = world.login(world.clinician).post(
        reverse("homework:exercise-edit", args=[exercise.pk]),
        valid_post(steps="", typical_minutes="0"),
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"steps", "typical_minutes"}
    exercise.refresh_from_db()
    assert exercise.title == "Harbour breathing"
    assert len(exercise.steps) == 3


# --- Copying ---


def test_it_copies_a_built_in_into_the_clinic_and_opens_the_copy_for_editing(world):
    original = builtin("what-would-i-say-to-a-friend")

    response = world.login(world.clinician).post(
        reverse("homework:exercise-copy", args=[original.pk])
    )

    copy = Exercise.objects.get(copied_from=original)
    assert response.status_code == 302
    assert response["Location"] == reverse("homework:exercise-edit", args=[copy.pk])
    assert copy.clinic == world.clinic
    assert copy.created_by == world.clinician
    assert (copy.title, copy.steps, copy.prompts, copy.ratings) == (
        original.title,
        original.steps,
        original.prompts,
        original.ratings,
    )
    assert copy.slug == ""
    # The copy is editable, the original untouched.
    edit = world.login(world.clinician).post(
        reverse("homework:exercise-edit", args=[copy.pk]), valid_post(title="Our friend exercise")
    )
    assert edit.status_code == 302
    original.refresh_from_db()
    assert original.title == "What would I say to a friend?"


def test_it_refuses_to_copy_by_get_or_for_other_people(world):
    original = builtin()
    theirs = make_exercise(clinic=world.other_clinic, title="Hillside secret")
    url = reverse("homework:exercise-copy", args=[original.pk])
    before = Exercise.objects.count()

    assert world.login(world.clinician).get(url).status_code == 405
    assert_login_redirect(world.login(None).post(url))
    assert world.login(world.client).post(url).status_code == 403
    theirs_url = reverse("homework:exercise-copy", args=[theirs.pk])
    assert world.login(world.clinician).post(theirs_url).status_code == 404
    assert Exercise.objects.count() == before


def test_it_refuses_to_copy_another_clinic_exercise_in_the_service(world):
    theirs = make_exercise(clinic=world.other_clinic, title="Hillside secret")
    with pytest.raises(ValidationError):
        services.exercise_copy(exercise=theirs, clinic=world.clinic, created_by=world.clinician)


# --- Archiving ---


def test_it_archives_an_exercise_in_use_without_deleting_it(world):
    exercise = own_exercise(world)
    assignment = make_assignment(world.client, exercise)

    before = timezone.now()
    response = world.login(world.clinician).post(
        reverse("homework:exercise-archive", args=[exercise.pk])
    )

    assert response.status_code == 302
    exercise.refresh_from_db()
    assert before <= exercise.archived_at <= timezone.now()
    assignment.refresh_from_db()
    assert assignment.exercise_id == exercise.pk
    assert assignment.status == "active"
    listed = world.login(world.clinician).get(reverse("homework:exercise-list"))
    assert exercise not in listed.context["exercises"]


def test_it_archives_an_unused_exercise_too_so_it_can_be_restored(world):
    exercise = own_exercise(world)
    browser = world.login(world.clinician)

    before = timezone.now()
    browser.post(reverse("homework:exercise-archive", args=[exercise.pk]))
    exercise.refresh_from_db()
    assert before <= exercise.archived_at <= timezone.now()

    browser.post(reverse("homework:exercise-restore", args=[exercise.pk]))
    exercise.refresh_from_db()
    assert exercise.archived_at is None


def test_it_keeps_the_first_archive_date_when_archived_twice(world):
    exercise = own_exercise(world, archived_at="2026-01-01T00:00Z")
    assert services.exercise_archive(exercise=exercise) is False
    exercise.refresh_from_db()
    assert exercise.archived_at.year == 2026 and exercise.archived_at.month == 1


def test_it_refuses_to_archive_a_built_in(world):
    exercise = builtin()

    response = world.login(world.clinician).post(
        reverse("homework:exercise-archive", args=[exercise.pk])
    )

    assert response.status_code == 403
    exercise.refresh_from_db()
    assert exercise.archived_at is None
    with pytest.raises(ValidationError):
        services.exercise_archive(exercise=exercise)


def test_it_refuses_archiving_by_get_anonymous_client_and_other_clinic(world):
    mine = own_exercise(world)
    theirs = make_exercise(clinic=world.other_clinic, title="Hillside secret")
    url = reverse("homework:exercise-archive", args=[mine.pk])

    assert world.login(world.clinician).get(url).status_code == 405
    assert_login_redirect(world.login(None).post(url))
    assert world.login(world.client).post(url).status_code == 403
    assert world.login(world.stranger_clinician).post(url).status_code == 404
    theirs_url = reverse("homework:exercise-archive", args=[theirs.pk])
    assert world.login(world.clinician).post(theirs_url).status_code == 404
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.archived_at is None and theirs.archived_at is None


# --- Prompt keys ---


def test_it_gives_new_prompts_new_keys_and_never_reuses_a_removed_one():
    previous = [
        {"key": "moment", "label": "What was the moment?", "phrase": False},
        {"key": "phrase", "label": "Your phrase", "phrase": True},
    ]

    prompts = services.exercise_prompts_from_labels(
        labels=[("Your phrase", True), ("Moment", False), ("Moment", False)],
        previous=previous,
    )

    assert [p["key"] for p in prompts] == ["phrase", "moment_2", "moment_3"]
