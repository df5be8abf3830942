"""What seems to help: before/after changes per exercise, against hand-computed fixtures."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from measures.insights import (
    MIN_PRACTICES,
    SMALL_SAMPLE,
    what_helps_across_caseload,
    what_helps_by_client,
    what_helps_for_client,
)
from tests.conftest import make_client
from tests.factories import make_assignment, make_completion, make_exercise, make_measure_response

START = date(2026, 1, 5)


def log(assignment, day: int, **ratings):
    return make_completion(assignment, START + timedelta(days=day), **ratings)


@pytest.fixture
def fixture(world):
    """The client's logs, chosen so every figure below can be checked by hand."""
    breathing = make_exercise(title="Affectionate breathing")
    letter = make_exercise(
        title="Compassionate letter",
        ratings=[
            "distress_before",
            "distress_after",
            "self_criticism_before",
            "self_criticism_after",
        ],
    )
    walk = make_exercise(title="Soothing walk", ratings=[])
    rare = make_exercise(title="Loving-kindness")
    # Affectionate breathing, 5 logs over two assignments (the same exercise counts once):
    # distress 8->5, 7->4, 6->6, 9->5, 5->4: changes -3, -3, 0, -4, -1; mean -2.2.
    first = make_assignment(world.client, breathing)
    second = make_assignment(world.client, breathing)
    for day, (before, after) in enumerate([(8, 5), (7, 4), (6, 6)]):
        log(first, day, distress_before=before, distress_after=after)
    for day, (before, after) in enumerate([(9, 5), (5, 4)]):
        log(second, day, distress_before=before, distress_after=after)
    # Compassionate letter, 3 logs: distress 5->5, 6->7, 4->4 (mean +1/3);
    # self-criticism recorded twice, 7->5 and 8->6 (mean -2.0).
    letters = make_assignment(world.client, letter)
    log(
        letters,
        0,
        distress_before=5,
        distress_after=5,
        self_criticism_before=7,
        self_criticism_after=5,
    )
    log(
        letters,
        1,
        distress_before=6,
        distress_after=7,
        self_criticism_before=8,
        self_criticism_after=6,
    )
    log(letters, 2, distress_before=4, distress_after=4)
    # Soothing walk, 3 logs without ratings; Loving-kindness only twice (below the threshold).
    walks = make_assignment(world.client, walk)
    for day in range(3):
        log(walks, day)
    rares = make_assignment(world.client, rare)
    for day in range(2):
        log(rares, day, distress_before=9, distress_after=1)
    # A log with only the "before" rating is not a pair.
    log(letters, 3, distress_before=9)
    return {"breathing": breathing, "letter": letter, "walk": walk, "rare": rare}


def by_title(insights):
    return {i.title: i for i in insights}


def test_it_averages_the_before_after_change_per_exercise_as_computed_by_hand(world, fixture):
    insights = what_helps_for_client(client=world.client)
    assert [i.title for i in insights] == [
        "Affectionate breathing",  # mean change -2.2
        "Compassionate letter",  # mean of +1/3 and -2.0 = -0.83
        "Soothing walk",  # no ratings: last
    ]
    breathing = by_title(insights)["Affectionate breathing"]
    assert breathing.practices == 5
    [distress] = breathing.pairs
    assert (distress.key, distress.logs) == ("distress", 5)
    assert distress.mean_before == pytest.approx(35 / 5)
    assert distress.mean_after == pytest.approx(24 / 5)
    assert distress.change == pytest.approx(-2.2)
    assert distress.description == "Distress seems to ease by 2.2 points on average"
    assert not breathing.small_sample
    assert breathing.seems_to_help

    letter = by_title(insights)["Compassionate letter"]
    assert letter.practices == 4  # the log with only a "before" still counts as practice
    pairs = {p.key: p for p in letter.pairs}
    assert pairs["distress"].logs == 3
    assert pairs["distress"].change == pytest.approx(1 / 3)
    assert pairs["distress"].description == "Distress stayed about the same on average"
    assert pairs["self_criticism"].logs == 2
    assert pairs["self_criticism"].mean_before == pytest.approx(7.5)
    assert pairs["self_criticism"].mean_after == pytest.approx(5.5)
    assert pairs["self_criticism"].description == (
        "Self-criticism seems to ease by 2.0 points on average"
    )
    assert letter.mean_change == pytest.approx((1 / 3 - 2) / 2)
    assert letter.small_sample

    walk = by_title(insights)["Soothing walk"]
    assert (walk.practices, walk.pairs, walk.mean_change) == (3, [], None)
    assert not walk.seems_to_help


def test_it_counts_an_exercise_only_from_the_third_practice(world, fixture):
    assert MIN_PRACTICES == 3
    titles = {i.title for i in what_helps_for_client(client=world.client)}
    assert "Loving-kindness" not in titles
    rares = fixture["rare"].assignments.get()
    log(rares, 5, distress_before=8, distress_after=3)
    rare = by_title(what_helps_for_client(client=world.client))["Loving-kindness"]
    assert rare.practices == 3
    assert rare.pairs[0].change == pytest.approx((-8 - 8 - 5) / 3)


def test_it_labels_samples_under_five_logs_as_small(world, fixture):
    assert SMALL_SAMPLE == 5
    insights = by_title(what_helps_for_client(client=world.client))
    assert not insights["Affectionate breathing"].pairs[0].small_sample  # n = 5
    assert insights["Compassionate letter"].pairs[0].small_sample  # n = 3
    assert insights["Soothing walk"].small_sample  # 3 practices


def test_it_describes_a_rise_without_alarm_or_praise(world):
    exercise = make_exercise(title="Difficult memory")
    assignment = make_assignment(world.client, exercise)
    for day in range(3):
        log(assignment, day, distress_before=3, distress_after=5)
    [insight] = what_helps_for_client(client=world.client)
    assert insight.pairs[0].description == "Distress was 2.0 points higher after, on average"
    assert not insight.seems_to_help


def test_it_pools_the_caseload_and_counts_clients_but_not_other_caseloads(world, fixture):
    other = make_assignment(world.other_client, fixture["breathing"])
    for day in range(3):
        log(other, day, distress_before=6, distress_after=3)
    colleagues_client = make_client("robin@client.test", world.colleague)
    for someone in (colleagues_client, world.stranger_client):
        theirs = make_assignment(someone, fixture["breathing"])
        for day in range(4):
            log(theirs, day, distress_before=0, distress_after=10)
    across = by_title(what_helps_across_caseload(clinician=world.clinician))
    breathing = across["Affectionate breathing"]
    assert (breathing.practices, breathing.clients) == (8, 2)
    assert breathing.pairs[0].mean_before == pytest.approx(53 / 8)
    assert breathing.pairs[0].mean_after == pytest.approx(33 / 8)
    assert breathing.pairs[0].change == pytest.approx(-2.5)
    by_client = what_helps_by_client(clients=[world.client, world.other_client])
    assert [i.title for i in by_client[world.other_client.pk]] == ["Affectionate breathing"]
    assert by_client[world.other_client.pk][0].pairs[0].change == pytest.approx(-3.0)
    assert len(by_client[world.client.pk]) == 3


def test_it_shows_the_client_what_seems_to_help_with_n_and_no_overstatement(world, fixture):
    page = world.login(world.client).get(reverse("measures:what-helps")).text
    assert "What seems to help you most" in page
    assert page.index("Affectionate breathing") < page.index("Compassionate letter")
    assert "Distress seems to ease by 2.2 points on average" in page
    assert "n = 5 logs" in page
    assert "n = 2 logs, a small sample" in page
    assert "Loving-kindness" not in page
    assert page.count("small sample</span>") == 2
    lowered = page.lower()
    for overstatement in ("proven", "causes", "guaranteed", " works ", "improved"):
        assert overstatement not in lowered
    progress = world.login(world.client).get(reverse("homework:progress")).text
    assert "What seems to help you most" in progress
    assert "distress seems to ease by 2.2 points on average (n = 5)" in progress


def test_it_shows_the_clinician_each_client_and_the_caseload(world, fixture):
    page = world.login(world.clinician).get(reverse("measures:insights")).text
    assert "Across your caseload" in page
    assert "Alex Client" in page
    assert "Blair Client" in page
    assert "Distress: 7.0 → 4.8 (-2.2; n = 5)" in page
    assert "Casey Client" not in page
    detail = (
        world.login(world.clinician)
        .get(reverse("homework:client-detail", args=[world.client.pk]))
        .text
    )
    assert "Affectionate breathing (5 practices)" in detail
    assert "Compassionate letter (4 practices, small sample)" in detail


def test_it_shows_nothing_from_other_clinics_to_a_stranger(world, fixture):
    page = world.login(world.stranger_clinician).get(reverse("measures:insights")).text
    assert "Affectionate breathing" not in page
    assert "Alex Client" not in page


def test_it_refuses_insight_pages_to_the_wrong_people(world):
    for url in (reverse("measures:insights"),):
        assert world.login(None).get(url).status_code == 302
        assert world.login(world.client).get(url).status_code == 403
        assert world.login(world.admin).get(url).status_code == 403
    url = reverse("measures:what-helps")
    assert world.login(None).get(url).status_code == 302
    assert world.login(world.clinician).get(url).status_code == 403
    assert world.login(world.admin).get(url).status_code == 403


@pytest.mark.parametrize("clients", [2, 12])
def test_it_serves_the_caseload_insights_in_a_fixed_number_of_queries(
    world, clients, django_assert_max_num_queries
):
    exercises = [make_exercise(title=f"Exercise {i}") for i in range(3)]
    for index in range(clients):
        client = make_client(f"c{index}@client.test", world.clinician, full_name=f"C {index}")
        for exercise in exercises:
            assignment = make_assignment(client, exercise)
            for day in range(4):
                log(assignment, day, distress_before=7, distress_after=4)
    browser = world.login(world.clinician)
    # auth 2 + clients, per-client figures, caseload figures = 5; 2 of headroom.
    with django_assert_max_num_queries(5 + 2):
        response = browser.get(reverse("measures:insights"))
    assert response.status_code == 200
    assert response.text.count("Distress: 7.0 → 4.0") == 3 * clients


def test_the_compiled_per_client_query_answers_as_the_orm_does(world, fixture):
    """what_helps_for_client runs SQL compiled once per process (core.compiled): its rows
    equal the ORM queryset's, exactly, for this client and for a client with no logs."""
    from homework.models import Completion
    from measures.insights import _PER_EXERCISE_FOR_CLIENT, _per_exercise

    def orm(client_id):
        rows = _per_exercise(Completion.objects.filter(client_id=client_id), by_client=False)
        return sorted((dict(r) for r in rows), key=lambda r: r["exercise_id"])

    other = make_client("robin@client.test", world.clinician)
    for client in (world.client, other, world.client):
        compiled = sorted(_PER_EXERCISE_FOR_CLIENT.rows(client.pk), key=lambda r: r["exercise_id"])
        assert compiled == orm(client.pk)
    assert orm(world.client.pk)  # the fixture's client has rows to compare


# --- A questionnaire's change in periods with more or less practice ---

Q_START = date(2026, 3, 2)


def phq_total(total: int) -> dict[int, int]:
    """PHQ-9 answers summing to `total` (item 9 stays 0)."""
    answers, left = {}, total
    for item in range(1, 9):
        answers[item] = min(3, left)
        left -= answers[item]
    return answers | {9: 0}


def answer(world, instrument: str, day: int, answers: dict[int, int]):
    from datetime import UTC, datetime, time

    local = Q_START + timedelta(days=day)
    return make_measure_response(
        client=world.client,
        instrument=instrument,
        answers=answers,
        local_date=local,
        answered_at=datetime.combine(local, time(12, 0), tzinfo=UTC),
    )


def practise(world, exercise, days: list[int]) -> None:
    plan = make_assignment(world.client, exercise, start_date=Q_START)
    for day in days:
        make_completion(plan, Q_START + timedelta(days=day))


@pytest.fixture
def questionnaire_fixture(world):
    """PHQ-9 answered on days 0, 7, 14, 21, 28: totals 12, 9, 10, 6, 7, so the four
    periods change by -3, +1, -4, +1."""
    for day, total in [(0, 12), (7, 9), (14, 10), (21, 6), (28, 7)]:
        answer(world, "PHQ-9", day, phq_total(total))
    breathing = make_exercise(title="Affectionate breathing")
    # Logs per period (days 1-7, 8-14, 15-21, 22-28): 5, 1, 6, 0. Day 7 is the day of an
    # answer: it belongs to the period that answer ends.
    practise(world, breathing, [1, 2, 3, 4, 7, 10, 15, 16, 17, 18, 19, 21])
    walk = make_exercise(title="Soothing walk")
    # 0, 3, 0, 2: more walking went with the weeks the total rose.
    practise(world, walk, [8, 9, 12, 23, 25])
    steady = make_exercise(title="Loving-kindness")
    # Once every period: no "more" or "less" to compare.
    practise(world, steady, [3, 10, 17, 24])
    return {"breathing": breathing, "walk": walk, "steady": steady}


def test_it_compares_the_questionnaire_change_in_periods_with_more_and_less_practice(
    world, questionnaire_fixture
):
    from measures.insights import what_helps_by_questionnaire

    insights = what_helps_by_questionnaire(client=world.client)
    assert [(i.instrument, i.title) for i in insights] == [
        ("PHQ-9", "Affectionate breathing"),  # hoped-for difference 4.5: first
        ("PHQ-9", "Soothing walk"),
    ]
    breathing, walk = insights
    # Breathing rates 5, 1, 6, 0 a week; median 3: more = {5, 6}, less = {1, 0}.
    assert (breathing.more.periods, breathing.less.periods) == (2, 2)
    assert breathing.more.mean_rate == pytest.approx(5.5)
    assert breathing.less.mean_rate == pytest.approx(0.5)
    assert breathing.more.mean_change == pytest.approx((-3 - 4) / 2)
    assert breathing.less.mean_change == pytest.approx((1 + 1) / 2)
    assert breathing.difference == pytest.approx(-4.5)
    assert breathing.direction == "better"  # PHQ-9: a fall is hoped for
    assert breathing.seems_to_help
    assert breathing.small_sample  # two periods a side
    assert breathing.description == (
        "PHQ-9 total: in the 2 periods between questionnaires with more Affectionate "
        "breathing (about 5.5 times a week) it fell by 3.5 on average; in the 2 periods "
        "with less (about 0.5 times a week) it rose by 1.0."
    )
    assert breathing.summary == (
        "With more practice the total ended 4.5 points lower per period, in the hoped-for "
        "direction."
    )
    # Walk rates 0, 3, 0, 2; median 1: more = {3, 2} (+1, +1), less = {0, 0} (-3, -4).
    assert walk.difference == pytest.approx(1 - (-3.5))
    assert walk.direction == "worse"
    assert not walk.seems_to_help
    assert walk.as_dict()["more_practice"] == {
        "periods": 2,
        "mean_rate_per_week": 2.5,
        "mean_change": 1.0,
    }


def test_it_says_nothing_without_enough_answers(world, questionnaire_fixture):
    from measures.insights import what_helps_by_questionnaire
    from measures.models import MeasureResponse

    # Four answers make three periods: fewer than two a side.
    MeasureResponse.objects.filter(local_date=Q_START + timedelta(days=28)).delete()
    assert what_helps_by_questionnaire(client=world.client) == []


def test_a_rise_is_hoped_for_on_the_self_compassion_scale(world):
    """SCS-SF: a mean of 12 items on 1 to 5; a rise is the hoped-for direction."""
    from measures.engine import instrument_get
    from measures.insights import what_helps_by_questionnaire

    instrument = instrument_get("SCS-SF")

    def scs(value: int) -> dict[int, int]:
        return {item.n: 6 - value if item.reverse else value for item in instrument.items}

    for day, value in [(0, 2), (7, 3), (14, 3), (21, 4), (28, 4)]:
        answer(world, "SCS-SF", day, scs(value))
    # Totals 2, 3, 3, 4, 4: changes +1, 0, +1, 0. Letter logs 3, 0, 4, 1: median 2.
    letter = make_exercise(title="Compassionate letter")
    practise(world, letter, [1, 3, 5, 15, 16, 17, 18, 23])
    [insight] = what_helps_by_questionnaire(client=world.client)
    assert insight.more.mean_change == pytest.approx(1.0)
    assert insight.less.mean_change == pytest.approx(0.0)
    assert insight.direction == "better"
    assert insight.summary == (
        "With more practice the total ended 1.0 higher per period (on its 1 to 5 scale), in "
        "the hoped-for direction."
    )


def test_it_costs_two_queries_whatever_the_history(
    world, questionnaire_fixture, django_assert_num_queries
):
    from measures.insights import what_helps_by_questionnaire

    with django_assert_num_queries(2):
        what_helps_by_questionnaire(client=world.client)


def test_the_pages_report_and_api_show_the_questionnaire_comparison(world, questionnaire_fixture):
    from tests.api.conftest import client_with_token, token_for

    sentence = (
        "PHQ-9 total: in the 2 periods between questionnaires with more Affectionate "
        "breathing (about 5.5 times a week) it fell by 3.5 on average"
    )
    own = world.login(world.client).get(reverse("measures:what-helps")).text
    assert "Your questionnaires and your practice" in own
    assert sentence in own
    assert "no proof that a practice made the difference" in own
    lowered = own.lower()
    for overstatement in ("proven", "causes", "guaranteed", " works ", "improved"):
        assert overstatement not in lowered
    clinician = world.login(world.clinician)
    measures_page = clinician.get(reverse("measures:clinician-measures", args=[world.client.pk]))
    assert sentence in measures_page.text
    report = clinician.get(reverse("records:pre-session-report", args=[world.client.pk]))
    assert sentence in report.text
    assert [(i.title, i.instrument) for i in report.context["report"].questionnaire_helps] == [
        ("Affectionate breathing", "PHQ-9"),
        ("Soothing walk", "PHQ-9"),
    ]
    api = client_with_token(token_for(world.client)).get("/api/v1/me/what-helps/").json()
    [first, second] = api["questionnaires"]
    assert (first["title"], first["difference"], first["seems_to_help"]) == (
        "Affectionate breathing",
        -4.5,
        True,
    )
    assert first["less_practice"] == {"periods": 2, "mean_rate_per_week": 0.5, "mean_change": 1.0}
    assert (second["title"], second["seems_to_help"]) == ("Soothing walk", False)


def test_a_client_without_enough_answers_is_told_what_it_needs(world):
    page = world.login(world.client).get(reverse("measures:what-helps")).text
    assert "This needs a questionnaire answered at least 5 times" in page
