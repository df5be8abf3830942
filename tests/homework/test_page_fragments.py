"""The Jinja2 fragments of the today page's plan cards, the group page's rows and the
pre-session report's reflections (core/jinja.py; the reflections stay a Django template,
measured no faster in Jinja2): each state of a card, each kind of
member row, escaping of what clients and clinicians typed, and the report's PDF."""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.template import engines
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import escape

from programs.models import Enrolment, EnrolmentStatus, Program
from programs.selectors import group_overview
from programs.services import enrolment_pause, enrolments_create, group_save
from tests.conftest import make_client
from tests.factories import local_today, make_assignment, make_completion, make_exercise

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script> & co'
HOSTILE_ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co"


def long_date(day) -> str:
    return f"{day:%A} {day.day} {day:%B}"


# --- The today page's plan cards ---


def today_cards(world) -> dict[str, str]:
    """Each plan card of the client's today page, by the exercise title in its heading."""
    page = world.login(world.client).get(reverse("homework:today")).content.decode()
    cards = re.findall(r'<li class="card plan-card">(.*?)</li>', page, re.DOTALL)
    return {re.search(r"<h3><a [^>]*>(.*?)</a></h3>", card).group(1): card for card in cards}


def plan(world, title: str, **fields):
    exercise_fields = {"any_time": fields.pop("any_time")} if "any_time" in fields else {}
    return make_assignment(
        world.client,
        make_exercise(world.clinic, title=title, typical_minutes=7, **exercise_fields),
        **({"start_date": local_today(world.client) - timedelta(days=10)} | fields),
    )


def test_a_due_card_links_to_practise_and_log_and_escapes_the_title(world):
    due = plan(world, HOSTILE)
    page = world.login(world.client).get(reverse("homework:today")).content.decode()
    assert "<script>alert" not in page
    card = today_cards(world)[HOSTILE_ESCAPED]
    practice = reverse("homework:practice", args=[due.pk])
    assert f'<h3><a href="{practice}">{HOSTILE_ESCAPED}</a></h3>' in card
    assert '<p class="meta">Every day · about 7 min</p>' in card
    assert f'<a class="button" href="{practice}">Start practice</a>' in card
    log = reverse("homework:log", args=[due.pk])
    assert f'<a class="button button-secondary" href="{log}">Log it</a>' in card
    assert "this week" not in card


def test_done_cards_offer_a_correction_or_another_practice_for_any_time_ones(world):
    today = local_today(world.client)
    daily = plan(world, "Daily practice")
    any_time = plan(world, "Any time practice", any_time=True)
    make_completion(daily, today, minutes=9)
    make_completion(any_time, today, minutes=3)
    cards = today_cards(world)
    daily_card = cards["Daily practice"]
    assert '<p><span class="badge badge-ok">Done today</span> 9 min</p>' in daily_card
    log = reverse("homework:log", args=[daily.pk])
    assert f'<p><a href="{log}">Correct today\'s log</a></p>' in daily_card
    assert "Practise again" not in daily_card
    any_time_card = cards["Any time practice"]
    assert '<span class="badge badge-ok">Done today</span> 3 min' in any_time_card
    practice = reverse("homework:practice", args=[any_time.pk])
    assert f'<a href="{practice}">Practise again</a>' in any_time_card
    assert "(any time you need it)" in any_time_card
    assert "Correct today" not in any_time_card


def test_a_flexible_card_counts_the_week_until_its_plan_is_done(world):
    today = local_today(world.client)
    met = plan(world, "Once a week", schedule_kind="times_per_week", times_per_week=1)
    plan(world, "Seven a week", schedule_kind="times_per_week", times_per_week=7)
    make_completion(met, today)
    cards = today_cards(world)
    assert "<p>1 of 1 this week · this week's plan is done</p>" in cards["Once a week"]
    assert re.search(r"<p>0 of 7 this week · [1-7] left</p>", cards["Seven a week"])


def test_later_cards_say_when_next_and_whether_practice_is_welcome_today(world):
    today = local_today(world.client)
    tomorrow = today + timedelta(days=1)
    off_today = plan(
        world, "Not today", schedule_kind="weekdays", weekdays=0b1111111 & ~(1 << today.weekday())
    )
    plan(world, "Starts soon", start_date=today + timedelta(days=3))
    cards = today_cards(world)
    card = cards["Not today"]
    assert f"Next: {long_date(tomorrow)}." in card
    assert "You're welcome to practise anyway." in card
    practice = reverse("homework:practice", args=[off_today.pk])
    assert f'<p><a href="{practice}">Practise now</a></p>' in card
    assert "Start practice" not in card
    card = cards["Starts soon"]
    assert f"Next: {long_date(today + timedelta(days=3))}." in card
    assert "welcome" not in card and "Practise now" not in card


def test_a_paused_card_asks_nothing_and_shows_no_week_count(world):
    plan(world, "On hold", schedule_kind="times_per_week", times_per_week=3, status="paused")
    card = today_cards(world)["On hold"]
    assert "Paused by your clinician for now. Nothing is asked of you here." in card
    assert "this week" not in card
    assert "Start practice" not in card and "Practise now" not in card


def test_a_later_card_without_a_next_day_says_nothing_is_asked_today():
    # No schedule the selector builds leaves a later plan without a next day within a
    # week; the card still reads sensibly if one does.
    item = SimpleNamespace(
        assignment=SimpleNamespace(pk=41),
        exercise=SimpleNamespace(title="Rest", typical_minutes=2),
        schedule_text="On Mondays",
        is_flexible=False,
        state="later",
        next_day=None,
        can_log=False,
    )
    html = engines["jinja2"].get_template("portal/_plan_cards.jinja").render({"items": [item]})
    assert "Nothing asked today." in html
    assert "Next:" not in html and "welcome" not in html
    assert reverse("homework:practice", args=[41]) in html


# --- The group page's rows ---


def builtin() -> Program:
    return Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion")


def test_the_group_page_shows_each_kind_of_member_escaped(world):
    today = local_today(world.client)
    soon = make_client("soon@client.test", world.clinician, full_name="Dee Soon")
    outsider = make_client("out@client.test", world.clinician, full_name=HOSTILE)
    paused_client = make_client("pause@client.test", world.clinician, full_name="Eve Paused")
    group = group_save(
        clinician=world.clinician,
        name="Thursday group",
        member_ids=[world.client.pk, soon.pk, outsider.pk, paused_client.pk],
    )
    # Both open week 1 today, whichever of their zones is ahead.
    both = max(today, local_today(paused_client))
    for clients, start in [([world.client, paused_client], both), ([soon], today + timedelta(5))]:
        enrolments_create(
            clinician=world.clinician,
            program=builtin(),
            clients=clients,
            group=group,
            start_date=start,
        )
    enrolment_pause(enrolment=Enrolment.objects.get(client=paused_client), actor=world.clinician)
    plans = list(world.client.assignments.filter(status="active"))
    make_completion(plans[0], today)

    page = (
        world.login(world.clinician)
        .get(reverse("programs:group-detail", args=[group.pk]))
        .content.decode()
    )
    assert "<script>alert" not in page
    members = page.split('id="members-heading"')[1].split("</section>")[0]
    rows = {
        re.search(r'<th scope="row"><a href="[^"]+">(.*?)</a></th>', row).group(1): row
        for row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", members, re.DOTALL)
    }
    assert set(rows) == {"Alex Client", "Dee Soon", HOSTILE_ESCAPED, "Eve Paused"}
    link = reverse("homework:client-detail", args=[outsider.pk])
    assert f'<a href="{link}">{HOSTILE_ESCAPED}</a>' in rows[HOSTILE_ESCAPED]
    assert "<td>Not enrolled</td><td>no plan</td>" in re.sub(r">\s+<", "><", rows[HOSTILE_ESCAPED])

    start = today + timedelta(5)
    assert f"<td>Starts {start.day} {start:%b}</td>" in rows["Dee Soon"]
    assert "<td>no plan</td>" in rows["Dee Soon"]

    overview = group_overview(group=group)
    alex = next(r for r in overview.members if r.client == world.client)
    adherence = alex.adherence
    # A week's quota counts to date, so the figures depend on the weekday: the log counts,
    # and the cell shows the overview's own figures as the fragment formats them.
    assert adherence.done > 0 and adherence.planned > 0
    assert "<td>Week 1 of 8: Noticing the inner critic</td>" in rows["Alex Client"]
    done, planned = floatformat(adherence.done, -1), floatformat(adherence.planned, -1)
    assert f"<td>{adherence.percent}% ({done} of {planned})</td>" in rows["Alex Client"]
    assert "<td>Week 1 of 8: Noticing the inner critic (paused)</td>" in rows["Eve Paused"]

    attention = re.search(r"<ul>(<li>.*?</li>)</ul>", page, re.DOTALL).group(1)
    paused_link = reverse("homework:client-detail", args=[paused_client.pk])
    assert f'<li><a href="{paused_link}">Eve Paused</a>: Course paused</li>' in attention
    assert Enrolment.objects.get(client=paused_client).status == EnrolmentStatus.PAUSED


def test_an_attention_reason_is_escaped(world):
    # A reason may quote what a clinician typed (a week that could not start names why).
    html = (
        engines["jinja2"]
        .get_template("clinician/programs/_group_attention.jinja")
        .render({"rows": [SimpleNamespace(client=world.client, reason="<b>late</b> & more")]})
    )
    link = reverse("homework:client-detail", args=[world.client.pk])
    assert html.strip() == (
        f'<li><a href="{link}">Alex Client</a>: &lt;b&gt;late&lt;/b&gt; &amp; more</li>'
    )


# --- The pre-session report's reflections, on the page and in the PDF ---


def shared_reflections(world):
    today = local_today(world.client)
    assignment = make_assignment(
        world.client,
        make_exercise(world.clinic, title=HOSTILE),
        start_date=today - timedelta(days=30),
    )
    make_completion(
        assignment,
        today - timedelta(days=2),
        reflection="First line <b>bold</b>\nsecond line",
        reflection_shared=True,
    )
    make_completion(
        assignment, today - timedelta(days=1), reflection="Kept", reflection_shared=False
    )
    make_completion(assignment, today, reflection="Today's & last", reflection_shared=True)
    return today


def reflection_items(page: str) -> list[str]:
    section = page.split('id="report-reflections"')[1].split("</section>")[0]
    return re.findall(r"<li>.*?</li>", section, re.DOTALL)


def expected_reflections(today) -> list[str]:
    """As the report's Django template escapes them (it writes &quot; for a quote)."""
    earlier = today - timedelta(days=2)
    return [
        f'<li><p class="muted">{earlier:%a} {earlier.day} {earlier:%b} · {escape(HOSTILE)}</p>'
        "<p>First line &lt;b&gt;bold&lt;/b&gt;<br>second line</p></li>",
        f'<li><p class="muted">{today:%a} {today.day} {today:%b} · {escape(HOSTILE)}</p>'
        "<p>Today&#x27;s &amp; last</p></li>",
    ]


def test_the_report_page_lists_shared_reflections_escaped_with_their_line_breaks(world):
    today = shared_reflections(world)
    page = (
        world.login(world.clinician)
        .get(reverse("records:pre-session-report", args=[world.client.pk]))
        .content.decode()
    )
    assert "<script>alert" not in page and "<b>bold" not in page
    assert reflection_items(page) == expected_reflections(today)


def test_the_report_pdf_renders_the_same_reflections(world, monkeypatch):
    today = shared_reflections(world)
    rendered = {}

    def pdf(*, html: str, base_url: str) -> bytes:
        rendered["html"] = html
        return b"%PDF-1.7 test"

    monkeypatch.setattr("records.views.pdf_available", lambda: True)
    monkeypatch.setattr("records.views.pre_session_report_pdf", pdf)
    response = world.login(world.clinician).get(
        reverse("records:pre-session-report-pdf", args=[world.client.pk])
    )
    assert response.status_code == 200
    assert "<script>alert" not in rendered["html"]
    assert reflection_items(rendered["html"]) == expected_reflections(today)
