"""The caseload's reasons say their dates in the right calendar, far from UTC, near midnight.

A flag's moment is the reader's (the clinician acting on it); the day a questionnaire was
answered or a log was for is the client's own local date, as the client page labels it.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from homework.selectors.progress import caseload_for_clinician
from measures.models import RiskFlag
from tests.factories import make_assignment, make_completion, make_measure_response

pytestmark = pytest.mark.django_db

# 23:30 UTC on 5 March is 12:30 on 6 March in Auckland (NZDT, UTC+13) and 13:30 on 5 March
# in Honolulu (UTC-10): a date printed in UTC would be wrong for the Auckland clinician.
MOMENT = datetime(2026, 3, 5, 23, 30, tzinfo=UTC)
NOW = MOMENT + timedelta(hours=2)


def zones(world, *, clinician: str, client: str) -> None:
    world.clinician.timezone = clinician
    world.clinician.save(update_fields=["timezone"])
    world.client.timezone = client
    world.client.save(update_fields=["timezone"])


def reasons(world) -> list[str]:
    [row] = [
        r
        for r in caseload_for_clinician(clinician=world.clinician, now=NOW)
        if r.client == world.client
    ]
    return row.reasons


def flag_at(world, moment: datetime) -> RiskFlag:
    response = make_measure_response(
        client=world.client,
        instrument="PHQ-9",
        answers=dict.fromkeys(range(1, 9), 0) | {9: 1},
        answered_at=moment,
        local_date=moment.astimezone(world.client.zone).date(),
    )
    return RiskFlag.objects.create(
        client=world.client, response=response, item=9, created_at=moment
    )


def test_a_flag_is_dated_in_the_clinicians_zone_past_midnight(world):
    zones(world, clinician="Pacific/Auckland", client="Pacific/Honolulu")
    flag_at(world, MOMENT)
    [urgent] = [r for r in reasons(world) if r.startswith("Urgent")]
    assert "on 6 Mar, 12:30;" in urgent


def test_a_flag_is_dated_in_the_clinicians_zone_before_midnight(world):
    zones(world, clinician="Pacific/Honolulu", client="Pacific/Auckland")
    flag_at(world, MOMENT)
    [urgent] = [r for r in reasons(world) if r.startswith("Urgent")]
    assert "on 5 Mar, 13:30;" in urgent


def test_the_flag_panel_dates_it_in_the_readers_zone(world):
    zones(world, clinician="Pacific/Auckland", client="Pacific/Honolulu")
    flag_at(world, MOMENT)
    page = world.login(world.clinician).get(
        reverse("homework:client-detail", args=[world.client.pk])
    )
    assert "above its safety threshold on 6 Mar 2026, 12:30" in page.content.decode()


def test_a_band_rise_names_the_day_the_client_answered_in_their_zone(world):
    # The client in Auckland answered at 12:30 on their 6 March (23:30 UTC on the 5th);
    # the clinician in Honolulu was still in 5 March. The client page says 6 Mar, and so
    # does the reason: neither the UTC date nor the clinician's.
    zones(world, clinician="Pacific/Honolulu", client="Pacific/Auckland")
    make_measure_response(
        client=world.client,
        instrument="GAD-7",
        answers={1: 3, 2: 2, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0},
        answered_at=MOMENT - timedelta(days=7),
        local_date=date(2026, 2, 27),
    )
    make_measure_response(
        client=world.client,
        instrument="GAD-7",
        answers={1: 3, 2: 3, 3: 3, 4: 1, 5: 0, 6: 0, 7: 0},
        answered_at=MOMENT,
        local_date=date(2026, 3, 6),
    )
    [rise] = [r for r in reasons(world) if "severity band" in r]
    assert rise == "GAD-7 severity band rose from mild to moderate (answered 6 Mar)"


def test_a_log_the_client_asked_about_keeps_its_own_day(world):
    zones(world, clinician="Pacific/Auckland", client="Pacific/Honolulu")
    assignment = make_assignment(world.client, start_date=date(2026, 3, 1))
    make_completion(assignment, date(2026, 3, 5), clinician_told_at=MOMENT)
    assert (
        "Asked you to look at the practice log of 5 Mar: it stirred up something hard"
        in reasons(world)
    )
