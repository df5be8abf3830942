"""Time-zone pickers: canonical zones only, suggested zones first, labelled for people."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.forms import AccountSettingsForm, TimezoneField
from accounts.models import User
from accounts.timezones import canonical_timezones, offset_text, timezone_label

ALIASES = ["ROK", "W-SU", "Zulu", "US/Eastern", "US/Pacific", "localtime", "GMT", "Etc/GMT+5"]


def test_it_lists_canonical_zones_only() -> None:
    names = canonical_timezones()
    for alias in ALIASES:
        assert alias not in names
    for zone in ("Europe/London", "Asia/Seoul", "America/New_York", "Australia/Sydney", "UTC"):
        assert zone in names
    assert 300 < len(names) < 450


def test_it_labels_with_city_and_current_offset() -> None:
    winter = datetime(2026, 1, 15, 12, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 12, tzinfo=UTC)
    assert timezone_label("Asia/Kolkata", now=winter) == "Kolkata · UTC+05:30 (Asia/Kolkata)"
    assert offset_text("America/New_York", now=winter) == "UTC-05:00"
    assert offset_text("America/New_York", now=summer) == "UTC-04:00"
    assert timezone_label("America/Argentina/Buenos_Aires", now=winter).startswith("Buenos Aires ·")


def test_it_puts_the_suggested_zones_first_in_their_own_group() -> None:
    field = TimezoneField(initial="Asia/Tokyo")
    field.suggest("Europe/London")
    groups = list(field.choices)
    assert groups[0][0] == "Suggested"
    assert [name for name, _ in groups[0][1]] == ["Europe/London", "Asia/Tokyo"]
    assert {group for group, _ in groups[1:]} >= {"Africa", "America", "Europe", "Asia"}


def test_the_rendered_picker_has_no_aliases_and_is_labelled() -> None:
    html = str(AccountSettingsForm()["timezone"])
    assert "data-timezone-picker" in html
    assert '<optgroup label="Europe">' in html
    for alias in ALIASES:
        assert f'value="{alias}"' not in html


def test_a_stored_alias_stays_selected_and_valid() -> None:
    form = AccountSettingsForm(initial={"full_name": "", "timezone": "US/Eastern"})
    html = str(form["timezone"])
    assert '<optgroup label="Your current zone">' in html
    assert 'value="US/Eastern" selected' in html
    bound = AccountSettingsForm({"full_name": "", "timezone": "US/Eastern"})
    assert bound.is_valid(), bound.errors


@pytest.mark.parametrize("value", ["Mars/Olympus", "", "europe/london"])
def test_an_unknown_zone_is_refused_with_a_message(value) -> None:
    form = AccountSettingsForm({"full_name": "", "timezone": value})
    assert not form.is_valid()
    assert form.errors["timezone"]


@pytest.mark.django_db
def test_the_settings_page_offers_the_clinics_zone_first(world) -> None:
    world.client.timezone = "Asia/Tokyo"
    world.client.save()
    text = world.login(world.client).get(reverse("accounts:settings")).content.decode()
    suggested = text.split('<optgroup label="Suggested">')[1].split("</optgroup>")[0]
    assert suggested.index('value="Asia/Tokyo"') < suggested.index('value="Europe/London"')
    assert 'value="W-SU"' not in text
    assert "static/js/timezone.js" in text
    assert User.objects.get(pk=world.client.pk).timezone == "Asia/Tokyo"
