"""The client's navigation: the daily pages in view, the rest in a menu without JavaScript."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_clients_menu_keeps_three_links_and_folds_the_rest(world) -> None:
    text = world.login(world.client).get(reverse("homework:today")).content.decode()
    nav = text.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    primary, more = nav.split('<li class="nav-more">')
    for name in ("Today", "History", "Progress"):
        assert f">{name}</a>" in primary
    assert "<details>" in more and "<summary>More</summary>" in more
    for name in ("Phrases", "Reminders", "Calendar", "My data", "Settings", "Log out"):
        assert f">{name}<" in more
        assert f">{name}<" not in primary


def test_the_clinicians_menu_is_unchanged(world) -> None:
    text = world.login(world.clinician).get(reverse("homework:dashboard")).content.decode()
    nav = text.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    assert "nav-more" not in nav
    assert ">Settings</a>" in nav and ">Log out</button>" in nav
