"""The measure engine: instruments as data files, and scoring checked against hand sums.

SCS-SF reverse items are 1, 4, 8, 9, 11, 12 (scored 6 - x); the positive items are
2, 3, 5, 6, 7, 10. Subscales are raw means of their two items, not reversed.
"""

import json

import pytest
from django.core.exceptions import ValidationError

from measures.engine import (
    InstrumentError,
    UnknownInstrument,
    instrument_get,
    instrument_parse,
    instruments,
    response_clean,
    response_score,
)

REVERSE = {1, 4, 8, 9, 11, 12}
POSITIVE = {2, 3, 5, 6, 7, 10}


@pytest.fixture
def scs():
    return instrument_get("SCS-SF")


def answers(**by_item: int) -> dict[int, int]:
    return {int(key.removeprefix("q")): value for key, value in by_item.items()}


def every(value: int) -> dict[int, int]:
    return dict.fromkeys(range(1, 13), value)


def by_key(scores) -> dict[str, float]:
    return {s.key: s.value for s in scores}


def test_it_ships_the_scs_sf_as_data_with_its_citation_and_scoring(scs):
    assert scs.name == "Self-Compassion Scale - Short Form"
    assert scs.citation.startswith("Raes, F., Pommier, E., Neff, K. D., & Van Gucht, D. (2011)")
    assert (scs.scale_min, scs.scale_max) == (1, 5)
    assert scs.scale_labels == {1: "Almost never", 3: "Sometimes", 5: "Almost always"}
    assert len(scs.items) == 12
    assert {item.n for item in scs.items if item.reverse} == REVERSE
    assert scs.composites == {
        "positive": (2, 3, 5, 6, 7, 10),
        "negative_reversed": (1, 4, 8, 9, 11, 12),
    }
    assert [(b.low, b.high, b.label) for b in scs.bands] == [
        (1.0, 2.49, "low"),
        (2.5, 3.49, "moderate"),
        (3.5, 5.0, "high"),
    ]
    assert scs.subscales_less_reliable


def test_it_scores_all_ones_as_three_because_half_the_items_are_reversed(scs):
    # Six positive items count 1, six reverse items count 6 - 1 = 5: (6 + 30) / 12 = 3.0.
    scores = response_score(scs, every(1))
    assert scores.total.value == 3.0
    assert scores.total.band == "moderate"
    assert by_key(scores.composites) == {"positive": 1.0, "negative_reversed": 5.0}
    # Subscales are raw means: "almost never" self-judgment is a self-judgment of 1.
    assert by_key(scores.subscales) == {
        "self_kindness": 1.0,
        "self_judgment": 1.0,
        "common_humanity": 1.0,
        "isolation": 1.0,
        "mindfulness": 1.0,
        "over_identification": 1.0,
    }


def test_it_scores_all_fives_as_three_with_the_composites_swapped(scs):
    # Positive items 5 each (30), reverse items 6 - 5 = 1 each (6): 36 / 12 = 3.0.
    scores = response_score(scs, every(5))
    assert scores.total.value == 3.0
    assert scores.total.band == "moderate"
    assert by_key(scores.composites) == {"positive": 5.0, "negative_reversed": 1.0}
    assert set(by_key(scores.subscales).values()) == {5.0}


def test_it_scores_a_mixed_response_as_computed_by_hand(scs):
    given = answers(q1=2, q2=4, q3=3, q4=1, q5=5, q6=4, q7=3, q8=2, q9=2, q10=4, q11=3, q12=1)
    scores = response_score(scs, given)
    # Reverse items: 1->4, 4->5, 8->4, 9->4, 11->3, 12->5 = 25. Positive: 4+3+5+4+3+4 = 23.
    assert scores.total.value == 48 / 12 == 4.0
    assert scores.total.band == "high"
    composites = by_key(scores.composites)
    assert composites["positive"] == pytest.approx(23 / 6)
    assert composites["negative_reversed"] == pytest.approx(25 / 6)
    assert by_key(scores.subscales) == {
        "self_kindness": 4.0,  # items 2, 6: (4 + 4) / 2
        "self_judgment": 2.0,  # items 11, 12: (3 + 1) / 2
        "common_humanity": 4.5,  # items 5, 10: (5 + 4) / 2
        "isolation": 1.5,  # items 4, 8: (1 + 2) / 2
        "mindfulness": 3.0,  # items 3, 7: (3 + 3) / 2
        "over_identification": 2.0,  # items 1, 9: (2 + 2) / 2
    }


def test_it_puts_the_total_first_then_composites_then_subscales_marked_less_reliable(scs):
    scores = response_score(scs, every(3))
    assert scores.total.value == 3.0
    assert [s.key for s in scores.composites] == ["positive", "negative_reversed"]
    assert [s.key for s in scores.subscales] == [
        "self_kindness",
        "self_judgment",
        "common_humanity",
        "isolation",
        "mindfulness",
        "over_identification",
    ]
    assert all(s.less_reliable for s in scores.subscales)
    assert not scores.total.less_reliable
    assert not any(s.less_reliable for s in scores.composites)
    harder = {s.key for s in scores.subscales if s.higher_is_harder}
    assert harder == {"self_judgment", "isolation", "over_identification"}


@pytest.mark.parametrize(
    ("positive", "negative", "total", "band"),
    [
        # positives all 2 (12) + negatives answered 3 (reversed 3, 18) = 30 -> 2.5
        (2, 3, 2.5, "moderate"),
        # positives all 2, negatives answered 4 (reversed 2): 24 / 12 = 2.0
        (2, 4, 2.0, "low"),
        # positives all 4 (24), negatives answered 3 (18): 42 / 12 = 3.5
        (4, 3, 3.5, "high"),
    ],
)
def test_it_bands_the_total_at_the_lower_bounds(scs, positive, negative, total, band):
    given = {n: (negative if n in REVERSE else positive) for n in range(1, 13)}
    scores = response_score(scs, given)
    assert scores.total.value == total
    assert scores.total.band == band


def test_it_reads_a_total_just_under_a_bound_as_the_lower_band(scs):
    # 29 / 12 = 2.4167: below 2.5, so "low" even though the file writes 2.49.
    given = {n: (3 if n in REVERSE else 2) for n in range(1, 13)}
    given[2] = 1
    scores = response_score(scs, given)
    assert scores.total.value == pytest.approx(29 / 12)
    assert scores.total.band == "low"


def test_it_refuses_an_incomplete_response_naming_the_missing_questions(scs):
    given = every(3)
    del given[4], given[9]
    with pytest.raises(ValidationError) as refused:
        response_score(scs, given)
    errors = refused.value.message_dict
    assert errors["__all__"][0] == "Please answer every question: 4, 9 still need an answer."
    assert errors["item_4"] == ["Please answer question 4."]
    assert errors["item_9"] == ["Please answer question 9."]
    assert "item_1" not in errors


@pytest.mark.parametrize("bad", [0, 6, -1, "7", "x", 2.5, True, None, ""])
def test_it_refuses_an_answer_off_the_scale(scs, bad):
    given = every(3)
    given[7] = bad
    with pytest.raises(ValidationError) as refused:
        response_clean(scs, given)
    errors = refused.value.message_dict
    expected = (
        "Please answer question 7."
        if bad in (None, "")
        else "Question 7: choose a number from 1 to 5."
    )
    assert errors["item_7"] == [expected]


def test_it_refuses_answers_to_questions_that_do_not_exist(scs):
    given = every(3) | {13: 3}
    with pytest.raises(ValidationError) as refused:
        response_clean(scs, given)
    assert "There is no question 13." in refused.value.messages


def test_it_accepts_answers_keyed_by_strings_and_stores_them_keyed_by_strings(scs):
    clean = response_clean(scs, {str(n): str(3) for n in range(1, 13)})
    assert clean == {str(n): 3 for n in range(1, 13)}


def test_it_refuses_an_unknown_instrument():
    with pytest.raises(UnknownInstrument):
        instrument_get("BDI-II")


# --- A second instrument is a data file, not code ---

MINI = {
    "code": "MINI-3",
    "name": "A made-up three-item check",
    "version": "0.1",
    "citation": "Nobody (2026). Made up for a test.",
    "scale": {"min": 0, "max": 4, "labels": {"0": "Not at all", "4": "Very much"}},
    "items": [
        {"n": 1, "text": "I was gentle with myself.", "subscale": "warmth"},
        {"n": 2, "text": "I was hard on myself.", "subscale": "harshness", "reverse": True},
        {"n": 3, "text": "I felt connected.", "subscale": "warmth"},
    ],
    "scoring": {
        "bands": [[0, 1.99, "lower"], [2, 4, "higher"]],
        "composites": {"kind_items": [1, 3]},
    },
}


@pytest.fixture
def mini_dir(tmp_path, settings):
    (tmp_path / "mini.json").write_text(json.dumps(MINI))
    settings.MEASURE_INSTRUMENT_DIRS = [tmp_path]
    return tmp_path


def test_it_loads_a_second_instrument_from_a_data_file_alone(mini_dir):
    assert list(instruments()) == ["MINI-3"]
    mini = instrument_get("MINI-3")
    assert mini.version == "0.1"
    assert mini.choices == [(0, "Not at all"), (1, ""), (2, ""), (3, ""), (4, "Very much")]
    # Item 2 reversed on a 0-4 scale: 0 + 4 - 1 = 3. Total (4 + 3 + 2) / 3 = 3.0.
    scores = response_score(mini, {1: 4, 2: 1, 3: 2})
    assert scores.total.value == 3.0
    assert scores.total.band == "higher"
    assert by_key(scores.composites) == {"kind_items": 3.0}
    assert by_key(scores.subscales) == {"harshness": 1.0, "warmth": 3.0}
    assert not any(s.less_reliable for s in scores.subscales)
    with pytest.raises(ValidationError) as refused:
        response_score(mini, {1: 4, 2: 5, 3: 2})
    assert refused.value.message_dict["item_2"] == ["Question 2: choose a number from 0 to 4."]


def test_it_reads_several_folders_and_refuses_a_code_used_twice(
    mini_dir, tmp_path_factory, settings
):
    other = tmp_path_factory.mktemp("other")
    (other / "again.json").write_text(json.dumps(MINI))
    settings.MEASURE_INSTRUMENT_DIRS = [mini_dir, other]
    with pytest.raises(InstrumentError, match="MINI-3 is already used"):
        instruments()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"citation": ""}, '"citation" is required'),
        ({"scale": {"min": 5, "max": 1}}, "min below max"),
        ({"items": []}, '"items" must be a non-empty list'),
        ({"items": [{"n": 1, "text": "a"}, {"n": 1, "text": "b"}]}, "item numbers must be unique"),
        ({"items": [{"n": 1, "text": "a", "reverse": "yes"}]}, '"reverse" is true/false'),
        ({"scoring": {"bands": [[0, 3, "a"], [2, 4, "b"]]}}, "bands must not overlap"),
        ({"scoring": {"bands": [[1, 4, "a"]]}}, "cover the whole scale"),
        ({"scoring": {"composites": {"x": [9]}}}, 'composite "x" must list existing item'),
    ],
)
def test_it_refuses_a_malformed_instrument_file_saying_what_is_wrong(change, problem):
    with pytest.raises(InstrumentError, match=problem) as refused:
        instrument_parse(MINI | change, source="broken.json")
    assert "broken.json" in str(refused.value)


def test_it_refuses_a_file_that_is_not_json(tmp_path, settings):
    (tmp_path / "bad.json").write_text("{not json")
    settings.MEASURE_INSTRUMENT_DIRS = [tmp_path]
    with pytest.raises(InstrumentError, match=r"bad\.json: not readable JSON"):
        instruments()
