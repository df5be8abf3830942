"""PHQ-9, GAD-7 and a made-up scale of the FSCRS's shape, scored against hand sums.

PHQ-9: items 1-9 summed (0-27), item 10 (difficulty) stored but not scored; bands
0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe; item 9
raises an alert above 0. GAD-7: items 1-7 summed (0-21), item 8 not scored; bands
0-4, 5-9, 10-14, 15-21; no alert item.
"""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from measures.engine import (
    InstrumentError,
    instrument_get,
    instrument_parse,
    instruments,
    response_clean,
    response_score,
)

SHARED = Path("/work/shared/content")
INSTRUMENTS = Path(__file__).resolve().parents[2] / "measures" / "instruments"
VERBATIM_KEYS = (
    "code",
    "name",
    "citation",
    "copyright",
    "instructions",
    "scale",
    "items",
    "scoring",
)


@pytest.fixture
def phq():
    return instrument_get("PHQ-9")


@pytest.fixture
def gad():
    return instrument_get("GAD-7")


def every(value: int, count: int) -> dict[int, int]:
    return dict.fromkeys(range(1, count + 1), value)


@pytest.mark.parametrize("name", ["phq-9", "gad-7"])
def test_it_ships_the_third_party_wording_exactly(name):
    shipped = json.loads((INSTRUMENTS / f"{name}.json").read_text())
    source = SHARED / f"{name}.json"
    if not source.exists():
        pytest.skip("the shared content folder is not on this machine")
    original = json.loads(source.read_text())
    for key in VERBATIM_KEYS:
        assert shipped[key] == original[key], key


def test_it_reads_the_phq_9_rules_from_its_file(phq):
    assert phq.total_rule.method == "sum"
    assert phq.total_rule.items == tuple(range(1, 10))
    assert phq.total_range == (0, 27)
    assert [item.n for item in phq.items if not item.scored] == [10]
    assert [(a.item, a.comparison, a.threshold) for a in phq.alerts] == [(9, ">", 0)]
    assert phq.copyright.endswith(
        "No permission required to reproduce, translate, display or distribute."
    )
    assert phq.item_choices(phq.item(10))[0] == (0, "Not difficult at all")
    assert phq.item_choices(phq.item(1))[1] == (1, "Several days")


def test_it_scores_the_phq_9_all_minimum(phq):
    scores = response_score(phq, every(0, 9))
    assert (scores.total.value, scores.total.band) == (0, "minimal")
    assert scores.total.display == "0"
    assert scores.alerts == []
    assert scores.cutoffs_reached == []


def test_it_scores_the_phq_9_all_maximum_without_adding_the_difficulty_question(phq):
    scores = response_score(phq, every(3, 10))
    assert (scores.total.value, scores.total.band) == (27, "severe")
    assert [a.item for a in scores.alerts] == [9]
    assert [c.score for c in scores.cutoffs_reached] == [10]


def test_it_scores_a_mixed_phq_9_as_summed_by_hand(phq):
    answers = {1: 2, 2: 1, 3: 3, 4: 0, 5: 1, 6: 2, 7: 0, 8: 1, 9: 0, 10: 2}
    # 2 + 1 + 3 + 0 + 1 + 2 + 0 + 1 + 0 = 10; item 10 is not added.
    scores = response_score(phq, answers)
    assert (scores.total.value, scores.total.band) == (10, "moderate")
    assert scores.total.higher_is_harder
    assert scores.alerts == []
    assert scores.subscales == [] and scores.composites == []


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
    ],
)
def test_it_bands_the_phq_9_at_the_authors_cut_points(phq, total, band):
    answers = every(0, 9)
    for n in range(1, 9):  # items 1-8 only, so no alert muddles the band
        answers[n] = min(3, max(0, total - sum(answers.values())))
    answers[9] = total - sum(v for n, v in answers.items() if n != 9)
    assert response_score(phq, answers).total.band == band


@pytest.mark.parametrize(("answer", "raised"), [(0, False), (1, True), (2, True), (3, True)])
def test_it_raises_the_item_9_alert_above_its_threshold_and_not_at_it(phq, answer, raised):
    scores = response_score(phq, every(0, 8) | {9: answer})
    assert bool(scores.alerts) is raised
    # Whatever the total: 1 is "minimal" and still alerts.
    assert phq.alerts_raised(response_clean(phq, every(0, 8) | {9: answer})) == scores.alerts


def test_it_lets_the_difficulty_question_be_left_out_but_not_off_its_scale(phq):
    assert "10" not in response_clean(phq, every(1, 9))
    with pytest.raises(ValidationError) as refused:
        response_clean(phq, every(1, 9) | {10: 4})
    assert refused.value.message_dict["item_10"] == ["Question 10: choose a number from 0 to 3."]
    with pytest.raises(ValidationError) as refused:
        response_clean(phq, every(1, 8))
    assert refused.value.message_dict["item_9"] == ["Please answer question 9."]


def test_it_scores_the_gad_7_minimum_maximum_and_a_mixed_set(gad):
    assert gad.total_range == (0, 21)
    low = response_score(gad, every(0, 7))
    assert (low.total.value, low.total.band) == (0, "minimal")
    high = response_score(gad, every(3, 8))
    assert (high.total.value, high.total.band) == (21, "severe")
    assert high.alerts == []
    # 1 + 2 + 3 + 0 + 1 + 2 + 0 = 9; item 8 (difficulty) not added.
    mixed = response_score(gad, {1: 1, 2: 2, 3: 3, 4: 0, 5: 1, 6: 2, 7: 0, 8: 3})
    assert (mixed.total.value, mixed.total.band) == (9, "mild")


@pytest.mark.parametrize(
    ("total", "band"), [(4, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")]
)
def test_it_bands_the_gad_7_at_the_authors_cut_points(gad, total, band):
    answers = every(0, 7)
    remaining = total
    for n in range(1, 8):
        answers[n] = min(3, remaining)
        remaining -= answers[n]
    assert response_score(gad, answers).total.band == band


# --- A scale of the FSCRS's shape, made up: three summed subscales, no total, a risk item ---

SELF_TALK = {
    "code": "TEST-SELF-TALK",
    "name": "A made-up self-talk scale",
    "citation": "Nobody (2026). Made up for a test; not a real instrument.",
    "scale": {"min": 0, "max": 4, "labels": {"0": "Not at all like me", "4": "Extremely like me"}},
    "items": [
        {"n": 1, "text": "I think I am not good enough."},
        {"n": 2, "text": "I dwell on my mistakes."},
        {"n": 3, "text": "I feel let down by myself."},
        {"n": 4, "text": "I can still like myself."},
        {"n": 5, "text": "I encourage myself."},
        {"n": 6, "text": "I comfort myself."},
        {"n": 7, "text": "I feel anger at myself."},
        {"n": 8, "text": "I want to hurt myself.", "alert": True},
        {"n": 9, "text": "How much of the last week did you notice this?", "scored": False},
    ],
    "scoring": {
        "total": None,
        "subscales": {
            "inadequate": {
                "method": "sum",
                "items": [1, 2, 3],
                "label": "Inadequate self",
                "higher_is_harder": True,
            },
            "reassured": {"method": "sum", "items": [4, 5, 6], "label": "Reassured self"},
            "hated": {
                "method": "sum",
                "items": [7, 8],
                "label": "Hated self",
                "higher_is_harder": True,
            },
        },
        "alerts": [{"item": 8, "comparison": ">=", "threshold": 3}],
    },
}


@pytest.fixture
def self_talk(tmp_path, settings):
    (tmp_path / "self-talk.json").write_text(json.dumps(SELF_TALK))
    settings.MEASURE_INSTRUMENT_DIRS = [tmp_path]
    return instrument_get("TEST-SELF-TALK")


def sums(scores) -> dict[str, float]:
    return {s.key: s.value for s in scores.subscales}


def test_it_loads_a_clinics_scale_from_a_folder_named_in_settings(self_talk):
    assert list(instruments()) == ["TEST-SELF-TALK"]
    assert self_talk.total_rule is None and self_talk.total_range is None
    assert [rule.key for rule in self_talk.subscale_rules] == ["inadequate", "reassured", "hated"]


def test_it_scores_three_summed_subscales_and_no_total(self_talk):
    low = response_score(self_talk, every(0, 9))
    assert low.total is None
    assert sums(low) == {"inadequate": 0, "reassured": 0, "hated": 0}
    assert low.alerts == []
    high = response_score(self_talk, every(4, 9))
    assert sums(high) == {"inadequate": 12, "reassured": 12, "hated": 8}
    assert [a.item for a in high.alerts] == [8]
    # 1 + 2 + 3 = 6; 4 + 0 + 2 = 6; 1 + 3 = 4; item 9 not scored.
    mixed = response_score(self_talk, {1: 1, 2: 2, 3: 3, 4: 4, 5: 0, 6: 2, 7: 1, 8: 3, 9: 4})
    assert sums(mixed) == {"inadequate": 6, "reassured": 6, "hated": 4}
    assert [s.display for s in mixed.subscales] == ["6", "6", "4"]
    assert [s.higher_is_harder for s in mixed.subscales] == [True, False, True]
    assert mixed.as_dict()["total"] is None


@pytest.mark.parametrize(("answer", "raised"), [(2, False), (3, True), (4, True)])
def test_it_raises_the_risk_item_at_its_threshold_and_not_below(self_talk, answer, raised):
    scores = response_score(self_talk, every(0, 7) | {8: answer, 9: 0})
    assert bool(scores.alerts) is raised


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"scoring": {"total": None}}, "without a total needs subscales"),
        ({"scoring": {"total": {"method": "median", "items": [1]}}}, '"method" is "sum" or "mean"'),
        ({"scoring": {"total": {"method": "sum", "items": [99]}}}, "must list existing item"),
        (
            {
                "scoring": {
                    "total": None,
                    "subscales": {"a": {"method": "sum", "items": [1]}},
                    "bands": [[0, 4, "x"]],
                }
            },
            "bands need a total",
        ),
        ({"scoring": {"alerts": [{"item": 99, "comparison": ">", "threshold": 0}]}}, "alert"),
        ({"scoring": {"alerts": [{"item": 8, "comparison": "~", "threshold": 0}]}}, "alert"),
        ({"scoring": {}}, 'marked "alert" needs a rule'),
        (
            {"scoring": {"not_scored": [1, 2, 3, 4, 5, 6, 7, 8, 9]}},
            "at least one item must be scored",
        ),
    ],
)
def test_it_refuses_a_malformed_rule_saying_what_is_wrong(change, problem):
    with pytest.raises(InstrumentError, match=problem):
        instrument_parse(SELF_TALK | change, source="clinic.json")
