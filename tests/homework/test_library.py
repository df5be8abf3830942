"""The built-in exercise library: the data file, the loader, the command, post_migrate."""

import json
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from homework.apps import load_library_after_migrate
from homework.models import Category, Exercise, Rating
from homework.services.exercises import (
    LIBRARY_PATH,
    exercise_library_entries,
    exercise_library_load,
)
from tests.factories import make_assignment

pytestmark = pytest.mark.django_db


def _builtins_delete() -> None:
    """Remove the built-in library, and the built-in course's weeks that use it first."""
    from programs.models import ProgramWeekItem

    ProgramWeekItem.objects.filter(exercise__clinic__isnull=True).delete()
    Exercise.objects.filter(clinic__isnull=True).delete()


def _builtins() -> list[Exercise]:
    return list(Exercise.objects.filter(clinic__isnull=True).exclude(slug="").order_by("slug"))


def _snapshot() -> list[tuple]:
    return [
        (
            e.pk,
            e.slug,
            e.title,
            e.category,
            e.summary,
            e.steps,
            e.prompts,
            e.ratings,
            e.typical_minutes,
            e.archived_at,
            e.updated_at,
        )
        for e in _builtins()
    ]


def test_it_ships_the_twelve_practices_of_the_content_brief_as_valid_data():
    with LIBRARY_PATH.open(encoding="utf-8") as handle:
        entries = json.load(handle)["exercises"]
    assert len(entries) == 12
    assert len({entry["slug"] for entry in entries}) == 12
    for entry in entries:
        assert entry["category"] in Category.values
        assert entry["ratings"] and set(entry["ratings"]) <= set(Rating.values)
        assert 1 <= entry["typical_minutes"] <= 240
        assert entry["steps"] and all(step.strip() for step in entry["steps"])
        keys = [prompt["key"] for prompt in entry["prompts"]]
        assert len(keys) == len(set(keys))


def test_it_marks_the_prompts_that_feed_the_phrase_bank():
    by_slug = {entry["slug"]: entry for entry in exercise_library_entries()}
    phrase_prompts = {
        slug: [p["key"] for p in entry["prompts"] if p.get("phrase")]
        for slug, entry in by_slug.items()
    }
    assert phrase_prompts["my-compassionate-phrase"] == ["phrase"]
    assert phrase_prompts["self-compassion-break"] == ["phrase"]
    assert phrase_prompts["kindness-phrases-meditation"] == ["phrases"]
    assert phrase_prompts["compassionate-reframe"] == []


def test_it_has_the_library_in_a_fresh_test_database():
    # Loaded by the post_migrate handler when pytest-django created the database.
    builtins = _builtins()
    assert len(builtins) == 12
    assert {e.slug for e in builtins} == {entry["slug"] for entry in exercise_library_entries()}
    assert all(e.archived_at is None for e in builtins)


def test_it_loads_from_scratch_and_loading_again_changes_nothing():
    _builtins_delete()

    first = exercise_library_load()
    after_first = _snapshot()
    second = exercise_library_load()

    assert (first.created, first.updated, first.unchanged) == (12, 0, 0)
    assert (second.created, second.updated, second.archived, second.unchanged) == (0, 0, 0, 12)
    assert not second.changed
    assert _snapshot() == after_first
    assert Exercise.objects.filter(clinic__isnull=True).count() == 12


def test_it_stores_prompts_and_steps_exactly_as_in_the_data_file():
    entry = next(e for e in exercise_library_entries() if e["slug"] == "self-compassion-break")
    stored = Exercise.objects.get(clinic__isnull=True, slug="self-compassion-break")
    assert stored.title == entry["title"]
    assert stored.steps == entry["steps"]
    assert stored.prompts == entry["prompts"]
    assert stored.ratings == ["distress_before", "distress_after"]


def test_it_reads_only_once_when_nothing_changed():
    exercise_library_load()
    with CaptureQueriesContext(connection) as queries:
        result = exercise_library_load()
    writes = [
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")
    ]
    assert result.unchanged == 12
    assert writes == []
    selects = [q for q in queries.captured_queries if "SELECT" in q["sql"].upper()]
    assert len(selects) == 1


def test_it_puts_back_a_built_in_whose_content_drifted_and_leaves_the_others_alone():
    drifted = Exercise.objects.get(clinic__isnull=True, slug="soothing-touch")
    Exercise.objects.filter(pk=drifted.pk).update(title="Changed by hand", typical_minutes=99)
    before = {e.slug: e.updated_at for e in _builtins()}

    result = exercise_library_load()

    assert (result.updated, result.unchanged) == (1, 11)
    drifted.refresh_from_db()
    assert drifted.title == "Soothing touch"
    assert drifted.typical_minutes == 2
    after = {e.slug: e.updated_at for e in _builtins()}
    assert after["soothing-touch"] > before["soothing-touch"]
    assert {slug: at for slug, at in after.items() if slug != "soothing-touch"} == {
        slug: at for slug, at in before.items() if slug != "soothing-touch"
    }


def test_it_archives_a_built_in_that_left_the_data_file_and_keeps_its_assignments(world):
    retired = Exercise.objects.get(clinic__isnull=True, slug="soothing-touch")
    assignment = make_assignment(world.client, retired)
    entries = [e for e in exercise_library_entries() if e["slug"] != "soothing-touch"]

    before = timezone.now()
    result = exercise_library_load(entries=entries)

    assert (result.archived, result.unchanged) == (1, 11)
    retired.refresh_from_db()
    assert before <= retired.archived_at <= timezone.now()
    assignment.refresh_from_db()
    assert assignment.exercise_id == retired.pk

    # It comes back when the data file has it again.
    assert exercise_library_load().updated == 1
    retired.refresh_from_db()
    assert retired.archived_at is None


def test_it_adds_a_new_built_in_without_touching_clinic_exercises(world):
    own = Exercise.objects.create(
        clinic=world.clinic,
        slug="kindness-at-noon",
        title="Our own",
        category="soothing",
        summary="Ours.",
        steps=["One."],
    )
    entry = {
        "slug": "kindness-at-noon",
        "title": "Kindness at noon",
        "category": "self_kindness",
        "summary": "A midday pause.",
        "steps": ["Pause at noon."],
        "prompts": [{"key": "noticed", "label": "What did you notice?"}],
        "ratings": ["self_kindness_after"],
        "typical_minutes": 2,
    }

    result = exercise_library_load(entries=[*exercise_library_entries(), entry])

    assert result.created == 1
    new = Exercise.objects.get(clinic__isnull=True, slug="kindness-at-noon")
    assert new.prompts == [{"key": "noticed", "label": "What did you notice?", "phrase": False}]
    own.refresh_from_db()
    assert own.title == "Our own"


def test_it_refuses_invalid_library_data_and_writes_nothing():
    before = _snapshot()
    broken = [dict(e) for e in exercise_library_entries()]
    broken[0]["title"] = "A new title that would be written"
    broken[1]["ratings"] = ["happiness"]

    with pytest.raises(ValidationError, match="compassionate-reframe"):
        exercise_library_load(entries=broken)

    assert _snapshot() == before


def test_it_refuses_a_library_entry_without_a_slug():
    with pytest.raises(ValidationError):
        exercise_library_load(entries=[{"title": "No slug"}])


def test_it_loads_with_the_management_command_twice():
    _builtins_delete()
    out = StringIO()

    call_command("load_exercise_library", stdout=out)
    snapshot = _snapshot()
    call_command("load_exercise_library", stdout=out)

    assert "12 added" in out.getvalue()
    assert "0 added, 0 updated, 0 archived, 12 unchanged" in out.getvalue()
    assert _snapshot() == snapshot


def test_it_loads_after_migrate_and_is_quiet_when_nothing_changed():
    from django.apps import apps

    config = apps.get_app_config("homework")
    from programs.models import ProgramWeekItem

    ProgramWeekItem.objects.filter(exercise__slug="soothing-touch").delete()
    Exercise.objects.filter(clinic__isnull=True, slug="soothing-touch").delete()
    out = StringIO()

    load_library_after_migrate(config, using="default", verbosity=1, stdout=out)
    assert Exercise.objects.filter(clinic__isnull=True, slug="soothing-touch").count() == 1
    assert "1 added" in out.getvalue()

    quiet = StringIO()
    load_library_after_migrate(config, using="default", verbosity=1, stdout=quiet)
    assert quiet.getvalue() == ""
    assert len(_builtins()) == 12
