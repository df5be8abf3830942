"""Exercises, assignments, today, practice logs and feedback over the API."""

import json
import uuid
from datetime import datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from homework.models import AssignmentEvent, Completion, Exercise, Feedback
from homework.selectors.practice import today_for_client
from homework.serializers import TodaySerializer
from tests.factories import local_today, make_assignment, make_completion, make_exercise

# --- Exercises ---


def exercise_ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def test_it_lists_the_library_and_the_clinics_own_exercises(api) -> None:
    theirs = make_exercise(api.world.other_clinic, title="Another clinic's")
    browser = api.as_user("clinician")
    url = reverse("api:v1:exercise-list")
    everything = exercise_ids(browser.get(f"{url}?page_size=100"))
    assert api.exercise.pk in everything
    assert api.builtin.pk in everything
    assert theirs.pk not in everything

    assert exercise_ids(browser.get(f"{url}?source=clinic")) == [api.exercise.pk]
    builtins = exercise_ids(browser.get(f"{url}?source=builtin&page_size=100"))
    assert api.builtin.pk in builtins
    assert api.exercise.pk not in builtins
    assert exercise_ids(browser.get(f"{url}?category=soothing&source=clinic")) == [api.exercise.pk]
    assert exercise_ids(browser.get(f"{url}?category=meditation&source=clinic")) == []


def test_it_shows_a_client_only_the_exercises_assigned_to_them(api) -> None:
    make_exercise(api.world.clinic, title="Not assigned")
    ids = exercise_ids(api.as_user("client").get(reverse("api:v1:exercise-list")))
    assert sorted(ids) == sorted([api.exercise.pk, api.builtin.pk])


def test_it_writes_archives_restores_and_copies_clinic_exercises(api) -> None:
    browser = api.as_user("clinician")
    created = browser.post(
        reverse("api:v1:exercise-list"),
        {
            "title": "Kind letter",
            "category": "self_kindness",
            "summary": "Write to yourself as to a friend.",
            "steps": ["Think of a friend.", "Write to yourself."],
            "prompts": [{"label": "What did you write?", "phrase": True}],
            "ratings": ["self_kindness_after"],
            "typical_minutes": 10,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["source"] == "clinic"
    assert body["prompts"][0]["key"]  # made by the server
    exercise = Exercise.objects.get(pk=body["id"])
    assert exercise.clinic == api.world.clinic
    assert exercise.created_by == api.world.clinician

    detail = reverse("api:v1:exercise-detail", kwargs={"pk": exercise.pk})
    key = body["prompts"][0]["key"]
    changed = browser.patch(
        detail,
        {"title": "Kind letter (short)", "prompts": [{"label": "What did you write?"}]},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["prompts"][0]["key"] == key  # answers stay attached
    assert changed.json()["summary"] == "Write to yourself as to a friend."  # left as it was

    before = timezone.now()
    archived = browser.post(reverse("api:v1:exercise-archive", kwargs={"pk": exercise.pk}))
    exercise.refresh_from_db()
    assert before <= exercise.archived_at <= timezone.now()
    assert datetime.fromisoformat(archived.json()["archived_at"]) == exercise.archived_at
    url = reverse("api:v1:exercise-list")
    assert exercise.pk in exercise_ids(browser.get(f"{url}?archived=true"))
    assert exercise.pk not in exercise_ids(browser.get(f"{url}?archived=false"))
    restored = browser.post(reverse("api:v1:exercise-restore", kwargs={"pk": exercise.pk}))
    assert restored.json()["archived_at"] is None

    copy = browser.post(reverse("api:v1:exercise-copy", kwargs={"pk": api.builtin.pk}))
    assert copy.status_code == 201
    assert copy.json()["source"] == "clinic"
    assert copy.json()["copied_from"] == api.builtin.pk


# --- Assignments ---


def test_it_assigns_an_exercise_through_the_service(api) -> None:
    start = local_today(api.world.other_client) + timedelta(days=1)
    response = api.as_user("clinician").post(
        reverse("api:v1:assignment-list"),
        {
            "client": api.world.other_client.pk,
            "exercise": api.builtin.pk,
            "schedule_kind": "weekdays",
            "weekdays": [0, 3],
            "start_date": start.isoformat(),
            "reminder_time": "08:15",
            "note": "Before work.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["weekdays"] == [0, 3]
    assert body["schedule_text"] == "Monday, Thursday"
    assert body["reminder_time"] == "08:15"
    assert body["status"] == "active"
    assert body["clinician"] == api.world.clinician.pk
    assert AssignmentEvent.objects.filter(assignment_id=body["id"], action="created").exists()


def test_it_edits_pauses_resumes_and_ends_an_assignment(api) -> None:
    browser = api.as_user("clinician")
    pk = api.assignment.pk
    changed = browser.patch(
        reverse("api:v1:assignment-detail", kwargs={"pk": pk}),
        {"schedule_kind": "times_per_week", "times_per_week": 3},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["schedule_text"] == "3 times a week"
    assert changed.json()["start_date"] == api.assignment.start_date.isoformat()  # kept

    for action, status in (("pause", "paused"), ("resume", "active"), ("end", "ended")):
        response = browser.post(reverse(f"api:v1:assignment-{action}", kwargs={"pk": pk}))
        assert response.status_code == 200, (action, response.content)
        assert response.json()["status"] == status
    actions = list(
        AssignmentEvent.objects.filter(assignment_id=pk).values_list("action", flat=True)
    )
    assert actions[-4:] == ["edited", "paused", "resumed", "ended"]


def test_it_lets_a_client_read_only_their_own_assignments(api) -> None:
    make_assignment(api.world.other_client, api.exercise)
    rows = api.as_user("client").get(reverse("api:v1:assignment-list")).json()["results"]
    assert sorted(row["id"] for row in rows) == sorted(
        [api.assignment.pk, api.paused_assignment.pk]
    )
    filtered = api.as_user("clinician").get(
        f"{reverse('api:v1:assignment-list')}?client={api.world.client.pk}&status=paused"
    )
    assert [row["id"] for row in filtered.json()["results"]] == [api.paused_assignment.pk]


def test_it_pages_deterministically(api) -> None:
    for _ in range(5):
        make_assignment(api.world.client, api.exercise)
    browser = api.as_user("clinician")
    url = reverse("api:v1:assignment-list")
    seen = []
    page = f"{url}?page_size=2"
    while page:
        body = browser.get(page).json()
        seen += [row["id"] for row in body["results"]]
        page = body["next"]
    assert len(seen) == len(set(seen)) == 7
    everything = [row["id"] for row in browser.get(f"{url}?page_size=100").json()["results"]]
    assert seen == everything


# --- Today, practice logs, feedback ---


def test_it_answers_today_as_the_portal_does(api) -> None:
    body = api.as_user("client").get(reverse("api:v1:today")).json()
    assert body == today_for_client(client=api.world.client).as_dict()
    assert [item["assignment_id"] for item in body["done"]] == [api.assignment.pk]
    assert [item["assignment_id"] for item in body["paused"]] == [api.paused_assignment.pk]


def test_it_answers_today_in_the_documented_shape(api) -> None:
    today = local_today(api.world.client)
    assignment = make_assignment(api.world.client, api.exercise, start_date=today)
    make_assignment(api.world.client, make_exercise(api.world.clinic), status="paused")
    make_completion(assignment, today)
    # One plan in every state, with the fields that vary: a note to escape, a
    # flexible plan's quota, a later plan's next day.
    make_assignment(
        api.world.client,
        make_exercise(api.world.clinic, title='Kind letter — "slowly" <ok>'),
        start_date=today,
        note="Try it after work & before dinner. Ça va?",
        schedule_kind="times_per_week",
        times_per_week=3,
    )
    make_assignment(api.world.client, api.exercise, start_date=today + timedelta(days=3))
    response = api.as_user("client").get(reverse("api:v1:today"))
    body = response.json()
    assert [len(body[state]) for state in ("due", "done", "later", "paused")] == [1, 2, 1, 2]
    assert body["unread_feedback"] == 1
    assert body["later"][0]["next_day"] == (today + timedelta(days=3)).isoformat()
    documented = TodaySerializer(today_for_client(client=api.world.client).as_dict()).data
    assert json.dumps(body) == json.dumps(documented)  # same keys, order and values
    # And the very bytes the API would send had it gone through the serializer.
    assert response.content == JSONRenderer().render(documented)


def test_it_logs_practice_and_a_second_log_today_corrects_it(api) -> None:
    fresh = make_assignment(
        api.world.client, api.exercise, start_date=local_today(api.world.client)
    )
    browser = api.as_user("client")
    url = reverse("api:v1:completion-list")
    first = browser.post(
        url,
        {
            "assignment": fresh.pk,
            "minutes": 6,
            "ratings": {"distress_before": 6, "distress_after": 2},
            "answers": {"moment": "the bus"},
            "reflection": "Calmer.",
            "reflection_shared": False,
        },
        format="json",
    )
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["local_date"] == local_today(api.world.client).isoformat()
    assert body["ratings"]["distress_after"] == 2
    assert body["reflection"] == "Calmer."  # the client sees their own private words

    again = browser.post(url, {"assignment": fresh.pk, "minutes": 8}, format="json")
    assert again.json()["id"] == body["id"]
    assert Completion.objects.filter(assignment=fresh).count() == 1
    assert Completion.objects.get(assignment=fresh).minutes == 8

    corrected = browser.patch(
        reverse("api:v1:completion-detail", kwargs={"pk": body["id"]}),
        {"ratings": {"distress_before": 5}},
        format="json",
    )
    assert corrected.status_code == 200
    assert corrected.json()["ratings"]["distress_before"] == 5
    assert corrected.json()["ratings"]["distress_after"] is None  # ratings replace the set


def test_a_new_log_with_an_id_reads_no_log_first_and_its_replay_answers_200(api) -> None:
    """The id is looked for only when the write cannot go ahead (here: the replay)."""
    fresh = make_assignment(
        api.world.client, api.exercise, start_date=local_today(api.world.client)
    )
    browser = api.as_user("client")
    body = {"assignment": fresh.pk, "minutes": 5, "client_uuid": str(uuid.uuid4())}
    with CaptureQueriesContext(connection) as queries:
        created = browser.post(reverse("api:v1:completion-list"), body, format="json")
    assert created.status_code == 201, created.content
    reads = [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and '"homework_completion"' in q["sql"]
    ]
    assert reads == []
    again = browser.post(reverse("api:v1:completion-list"), {**body, "minutes": 9}, format="json")
    assert (again.status_code, again.json()["id"]) == (200, created.json()["id"])
    assert Completion.objects.get(assignment=fresh).minutes == 5


def test_a_reflection_sent_without_a_choice_stays_private(api) -> None:
    """Issue 17, defect 9: sharing is the client's choice, never the default, from the
    app (the phone's offline queue may send a log without the field) as from the page."""
    fresh = make_assignment(
        api.world.client, api.exercise, start_date=local_today(api.world.client)
    )
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"),
        {"assignment": fresh.pk, "minutes": 6, "reflection": "Only for me, unless I say."},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["reflection_shared"] is False
    assert Completion.objects.get(assignment=fresh).reflection_shared is False
    seen = api.as_user("clinician").get(
        reverse("api:v1:completion-detail", kwargs={"pk": response.json()["id"]})
    )
    assert seen.json()["reflection"] == ""


def test_it_hides_unshared_words_from_the_clinician(api) -> None:
    private = make_completion(
        api.paused_assignment,
        local_today(api.world.client) - timedelta(days=2),
        distress_before=9,
        answers={"moment": "private moment"},
        reflection="Only for me.",
        reflection_shared=False,
    )
    clinician = api.as_user("clinician")
    body = clinician.get(reverse("api:v1:completion-detail", kwargs={"pk": private.pk})).json()
    assert body["reflection"] == ""
    assert body["answers"] == {}
    assert body["reflection_shared"] is False
    assert body["ratings"]["distress_before"] == 9  # ratings are always shared
    rows = clinician.get(reverse("api:v1:completion-list")).json()["results"]
    assert "Only for me." not in str(rows)
    assert "private moment" not in str(rows)
    shared = next(row for row in rows if row["id"] == api.completion.pk)
    assert shared["reflection"] == "It helped a little."

    own = api.as_user("client").get(reverse("api:v1:completion-detail", kwargs={"pk": private.pk}))
    assert own.json()["reflection"] == "Only for me."


def test_it_filters_logs_by_client_assignment_and_dates(api) -> None:
    today = local_today(api.world.client)
    older = make_completion(api.assignment, today - timedelta(days=10))
    other = make_assignment(api.world.other_client, api.exercise, start_date=today - timedelta(20))
    theirs = make_completion(other, today - timedelta(days=3))
    browser = api.as_user("clinician")
    url = reverse("api:v1:completion-list")

    def ids(query: str) -> list[int]:
        response = browser.get(f"{url}?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [api.completion.pk, theirs.pk, older.pk]  # newest first
    assert ids(f"client={api.world.other_client.pk}") == [theirs.pk]
    assert ids(f"assignment={api.assignment.pk}") == [api.completion.pk, older.pk]
    window = f"date_from={today - timedelta(days=5)}&date_to={today - timedelta(days=1)}"
    assert ids(window) == [theirs.pk]
    assert api.as_user("client").get(url).json()["count"] == 2


def test_it_carries_feedback_between_clinician_and_client(api) -> None:
    url = reverse("api:v1:completion-feedback", kwargs={"pk": api.completion.pk})
    sent = api.as_user("clinician").post(url, {"text": "  Lovely to see.  "}, format="json")
    assert sent.status_code == 201, sent.content
    assert sent.json()["text"] == "Lovely to see."
    assert sent.json()["clinician_name"] == "Dana Clinician"

    replies = api.as_user("client").get(url).json()["results"]
    assert [reply["text"] for reply in replies] == ["Well done for trying.", "Lovely to see."]
    assert Feedback.objects.filter(completion=api.completion).count() == 2


def test_it_marks_replies_read_when_the_client_says_so(api) -> None:
    assert api.as_user("client").get(reverse("api:v1:today")).json()["unread_feedback"] == 1
    before = timezone.now()
    response = api.as_user("client").post(
        reverse("api:v1:completion-feedback-read", kwargs={"pk": api.completion.pk})
    )
    assert response.status_code == 204
    api.feedback.refresh_from_db()
    assert before <= api.feedback.read_at <= timezone.now()
    assert api.as_user("client").get(reverse("api:v1:today")).json()["unread_feedback"] == 0


def test_it_lists_the_clients_kind_phrases(api) -> None:
    make_completion(
        api.assignment,
        local_today(api.world.client) - timedelta(days=1),
        answers={"phrase": "may i be kind to myself"},
    )
    body = api.as_user("client").get(reverse("api:v1:me-phrases")).json()
    assert body["count"] == 1  # the same phrase twice is one entry
    assert body["results"][0]["times"] == 2
    assert body["results"][0]["exercise_title"] == "Soothing touch"


# --- Logs from the phone: a client-made id, an earlier day, any-time practices ---


def test_it_answers_a_replayed_log_with_the_one_already_written(api) -> None:
    fresh = make_assignment(api.world.client, make_exercise(api.world.clinic, any_time=True))
    browser = api.as_user("client")
    url = reverse("api:v1:completion-list")
    yesterday = (local_today(api.world.client) - timedelta(days=1)).isoformat()
    payload = {
        "assignment": fresh.pk,
        "minutes": 4,
        "client_uuid": "5b0c8a52-7f62-4a0e-9d55-0d2c4f1e7b11",
        "practised_on": yesterday,
    }
    first = browser.post(url, payload, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["local_date"] == yesterday
    assert first.json()["logged_later"] is True
    assert first.json()["client_uuid"] == payload["client_uuid"]
    replay = browser.post(url, {**payload, "minutes": 40}, format="json")
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    assert Completion.objects.filter(assignment=fresh).get().minutes == 4
    # An any-time practice takes a second log with a new id.
    other = browser.post(
        url, {**payload, "client_uuid": "0e0b2e7c-1b7d-4c1f-8b33-8f0a4d1f2e22"}, format="json"
    )
    assert other.status_code == 201
    assert Completion.objects.filter(assignment=fresh).count() == 2


def test_it_refuses_a_log_outside_the_grace_window_with_a_field_message(api) -> None:
    browser = api.as_user("client")
    too_old = (local_today(api.world.client) - timedelta(days=4)).isoformat()
    before = Completion.objects.count()
    for bad in (
        {"practised_on": too_old},
        {"practised_on": "yesterday"},
        {"client_uuid": "not-a-uuid"},
        {"practised_on": (local_today(api.world.client) + timedelta(days=1)).isoformat()},
    ):
        response = browser.post(
            reverse("api:v1:completion-list"),
            {"assignment": api.assignment.pk, "minutes": 3, **bad},
            format="json",
        )
        assert response.status_code == 400, (bad, response.content)
        assert next(iter(bad)) in json.dumps(response.json())
    assert Completion.objects.count() == before


def test_another_clients_id_replay_never_reveals_their_log(api) -> None:
    theirs = make_assignment(api.world.other_client, api.exercise)
    key = "3a6f6a8e-58c9-4f4e-8a57-6c7d3f5c9a01"
    mine = api.as_user("other_client").post(
        reverse("api:v1:completion-list"),
        {"assignment": theirs.pk, "minutes": 3, "client_uuid": key},
        format="json",
    )
    assert mine.status_code == 201
    fresh = make_assignment(api.world.client, make_exercise(api.world.clinic, any_time=True))
    response = api.as_user("client").post(
        reverse("api:v1:completion-list"),
        {"assignment": fresh.pk, "minutes": 3, "client_uuid": key},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["id"] != mine.json()["id"]
