"""The whole journey in a real browser, as clinics and clients use Kindwork.

Each test is one journey, with the data it starts from built directly (so each can
fail on its own), and every page it visits audited for accessibility (audit.py).
Clients use a phone-sized screen, clinicians and admins a clinic PC's window.
"""

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import ClientProfile, Clinic, Invitation, Role, User
from homework import charts
from homework.models import Assignment, Completion, Exercise, Feedback
from homework.schedule import local_date
from homework.services.completions import completion_log
from outreach.reminders import reminders_create_due
from tests.browser.conftest import PHONE
from tests.browser.helpers import (
    choose_on_scale,
    emails_to,
    focused,
    link_in_email,
    log_in,
    pass_two_step,
    tab_to,
    two_step_built,
    two_step_enrol_on_page,
    two_step_enrolled,
)
from tests.conftest import PASSWORD
from tests.factories import make_assignment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-new-and-long-password-7"


def _self_compassion_break() -> Exercise:
    return Exercise.objects.get(slug="self-compassion-break", clinic__isnull=True)


def _assign_today(client: User, **fields) -> Assignment:
    """A daily plan of the self-compassion break that starts today, in the client's zone."""
    today = local_date(timezone.now(), client.zone)
    return make_assignment(client, _self_compassion_break(), start_date=today, **fields)


def test_it_takes_a_new_clinic_from_the_admin_to_the_clinicians_dashboard(
    live_server, new_context, audit, mailoutbox
):
    operator = User.objects.create_superuser(
        email="ops@kindwork.test", password=PASSWORD, full_name="Ops"
    )
    two_step_enrolled(operator)
    admin = new_context().new_page()

    admin.goto("/admin/")
    audit(admin)
    admin.get_by_label("Email address").fill("ops@kindwork.test")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.wait_for_load_state()
    pass_two_step(admin, operator, audit)
    admin.get_by_role("link", name="Clinics", exact=True).click()
    admin.get_by_role("link", name="Add clinic").click()
    audit(admin)
    admin.get_by_label("Name").fill("Seaview Therapy")
    admin.get_by_label("Time zone").select_option("Europe/Dublin")
    admin.get_by_role("button", name="Save", exact=True).click()
    admin.get_by_role("link", name="invite the first clinician of Seaview Therapy").click()
    audit(admin)
    admin.get_by_label("Email address").fill("robin@seaview.test")
    admin.get_by_label("Name (optional)").fill("Robin Seaview")
    admin.get_by_role("button", name="Send invitation").click()
    expect(admin.locator("body")).to_contain_text("Invitation on its way to robin@seaview.test")

    clinic = Clinic.objects.get(name="Seaview Therapy")
    assert clinic.timezone == "Europe/Dublin"
    invitation = Invitation.objects.get(email="robin@seaview.test")
    assert (invitation.clinic, invitation.role) == (clinic, Role.CLINICIAN)

    # The clinician, on their own computer, follows the link in the email.
    clinician = new_context().new_page()
    clinician.goto(link_in_email("robin@seaview.test", "/invite/"))
    assert clinician.get_by_role("heading", level=1).inner_text() == "Welcome to Seaview Therapy"
    audit(clinician)
    assert clinician.get_by_label("Your time zone").input_value() == "Europe/Dublin"
    clinician.get_by_label("Choose a password").fill(NEW_PASSWORD)
    clinician.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    clinician.get_by_role("button", name="Create my account").click()
    if two_step_built():
        # Clinicians set up their authenticator before any clinical page.
        clinician.wait_for_url("**/accounts/two-step/setup/**")
        two_step_enrol_on_page(clinician, audit)

    clinician.wait_for_url("**/clinician/")
    assert clinician.get_by_role("heading", level=1).inner_text() == "Your caseload"
    assert "No clients on your caseload yet" in clinician.inner_text("main")
    audit(clinician)
    robin = User.objects.get(email="robin@seaview.test")
    assert (robin.role, robin.clinic, robin.full_name) == (
        Role.CLINICIAN,
        clinic,
        "Robin Seaview",
    )
    assert robin.check_password(NEW_PASSWORD)
    if two_step_built():
        from django_otp.plugins.otp_totp.models import TOTPDevice

        assert TOTPDevice.objects.filter(user=robin, confirmed=True).count() == 1


def test_it_brings_an_invited_client_to_todays_practice_on_a_phone(
    live_server, world, new_context, audit, mailoutbox
):
    two_step_enrolled(world.clinician)
    clinician = new_context().new_page()
    log_in(clinician, world.clinician)
    clinician.get_by_role("link", name="Invite a client").click()
    audit(clinician)
    clinician.get_by_label("Client's email address").fill("jo@client.test")
    clinician.get_by_label("Client's name (optional)").fill("Jo Newcomer")
    clinician.get_by_role("button", name="Send invitation").click()
    expect(clinician.locator("main")).to_contain_text("Invitation on its way to jo@client.test")
    audit(clinician)

    client = new_context(PHONE).new_page()
    client.goto(link_in_email("jo@client.test", "/invite/"))
    assert client.get_by_role("heading", level=1).inner_text() == "Welcome to Harbour Clinic"
    audit(client)
    client.get_by_label("Your time zone").select_option("America/Toronto")
    client.get_by_label("Choose a password").fill(NEW_PASSWORD)
    client.get_by_label("Repeat the password").fill(NEW_PASSWORD)
    client.get_by_role("button", name="Create my account").click()
    client.wait_for_url("**/portal/")
    assert "Nothing is planned for you yet" in client.inner_text("main")
    audit(client)

    jo = User.objects.get(email="jo@client.test")
    assert (jo.role, jo.timezone, jo.full_name) == (Role.CLIENT, "America/Toronto", "Jo Newcomer")
    assert jo.client_profile.clinician == world.clinician
    toronto_today = local_date(timezone.now(), jo.zone)
    assert toronto_today.strftime("%-d %B %Y") in client.inner_text("main")

    # The clinician finds Jo on the caseload and assigns the self-compassion break.
    clinician.get_by_role("link", name="Caseload").click()
    clinician.get_by_role("link", name="Jo Newcomer").click()
    audit(clinician)
    clinician.get_by_role("link", name="Assign an exercise").click()
    audit(clinician)
    exercise = _self_compassion_break()
    clinician.get_by_label("Exercise").select_option(str(exercise.pk))
    clinician.get_by_label("Every day").check()
    # The start date defaults to the client's own today.
    assert clinician.get_by_label("Start date").input_value() == toronto_today.isoformat()
    clinician.get_by_label("Personal note for the client (optional)").fill(
        "Try it after work, when the day's pressure shows up."
    )
    clinician.get_by_role("button", name="Assign").click()
    expect(clinician.locator("main")).to_contain_text(
        "Jo Newcomer has a new practice: Self-compassion break."
    )

    client.reload()
    due = client.get_by_role("region", name="To practise today")
    assert due.get_by_role("link", name="Self-compassion break").is_visible()
    assert due.get_by_role("link", name="Start practice").is_visible()
    audit(client)
    client.get_by_role("link", name="Start practice").click()
    expect(client.locator("main")).to_contain_text("Try it after work")
    audit(client)


def test_it_lets_a_client_practise_and_log_with_the_keyboard_alone(
    live_server, world, new_context, audit
):
    assignment = _assign_today(world.client)
    exercise = assignment.exercise
    page = new_context(PHONE).new_page()

    # Log in: the email field has focus on arrival.
    page.goto("/accounts/login/")
    expect(page.get_by_label("Email address")).to_be_focused()
    audit(page)
    page.keyboard.type(world.client.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/")
    audit(page)

    tab_to(page, "Start practice")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/portal/practice/{assignment.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Self-compassion break"
    audit(page)

    # One step at a time: Enter on "Next step" moves on; the counter says where we are.
    steps = page.locator("[data-step]")
    tab_to(page, "Next step")
    for number, text in enumerate(exercise.steps, start=1):
        counter = f"Step {number} of {len(exercise.steps)}"
        assert page.locator(".step-counter").inner_text() == counter
        visible = [s for s in steps.all() if s.is_visible()]
        assert [s.inner_text() for s in visible] == [text]
        if number < len(exercise.steps):
            assert "Next step" in focused(page)
            page.keyboard.press("Enter")
    assert number == len(exercise.steps) > 1

    tab_to(page, "I've practised: log it")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/portal/practice/{assignment.pk}/log/")
    audit(page)

    tab_to(page, "Minutes practised")
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    choose_on_scale(page, "rating_distress_before", "7")
    choose_on_scale(page, "rating_distress_after", "3")
    tab_to(page, "What was the hard moment?")
    page.keyboard.type("A tense meeting with my manager.")
    tab_to(page, "Which kind phrase did you use?")
    page.keyboard.type("This is hard, and I'm not alone.")
    tab_to(page, "Your reflection")
    page.keyboard.type("My shoulders dropped a little by the end.")
    tab_to(page, "Share my reflection")
    # Private by default: the client ticks it to share.
    assert not page.get_by_label("Share my reflection and answers with my clinician").is_checked()
    page.keyboard.press("Space")
    assert page.get_by_label("Share my reflection and answers with my clinician").is_checked()
    tab_to(page, "Save my log")
    audit(page)
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/")
    assert "Your practice is logged" in page.inner_text("main")

    completion = Completion.objects.get(assignment=assignment)
    assert completion.minutes == 6
    assert (completion.distress_before, completion.distress_after) == (7, 3)
    assert completion.answers["moment"] == "A tense meeting with my manager."
    assert completion.reflection == "My shoulders dropped a little by the end."
    assert completion.reflection_shared is True
    done = page.get_by_role("region", name="Done today")
    assert "Done today" in done.inner_text() and "6 min" in done.inner_text()
    audit(page)

    # History and progress, reached through the menu with the keyboard.
    tab_to(page, "History")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/history/")
    entry = page.locator(f"#log-{completion.pk}")
    text = entry.inner_text()
    assert "Self-compassion break" in text and "6 min" in text
    assert "My shoulders dropped a little by the end." in text
    assert re.search(r"Distress before\s*7 / 10", text), text
    assert re.search(r"Distress after\s*3 / 10", text), text
    audit(page)

    tab_to(page, "Progress")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/progress/")
    stats = page.locator(".stats").inner_text()
    assert "1 practice day since you started" in " ".join(stats.split())
    assert "6 minutes of practice" in " ".join(stats.split())
    audit(page)


def _chart(page, title: str):
    return page.locator("figure.chart").filter(has_text=title)


def _chart_row(figure, row_start: str) -> list[str]:
    figure.get_by_text("Show the numbers").click()
    row = figure.locator("tbody tr").filter(has_text=row_start).last
    return [cell.strip() for cell in row.locator("th, td").all_inner_texts()]


def test_it_shows_the_clinician_the_practice_and_carries_feedback_back(
    live_server, world, new_context, audit
):
    assignment = _assign_today(world.client)
    completion = completion_log(
        client=world.client,
        assignment=assignment,
        minutes=5,
        ratings={"distress_before": 8, "distress_after": 4},
        answers={"moment": "Snapped at my sister."},
        reflection="I could be kinder to myself about it.",
        reflection_shared=True,
    )

    two_step_enrolled(world.clinician)
    clinician = new_context().new_page()
    log_in(clinician, world.clinician)
    clinician.wait_for_url("**/clinician/")
    row = clinician.locator("table.caseload tbody tr").filter(has_text="Alex Client")
    cells = row.locator("td").all_inner_texts()
    # One plan; practised today, so the week so far is 100% and the last practice is today.
    assert cells[0] == "1"
    assert cells[1] == "100%"
    assert "(today)" in cells[3]
    audit(clinician)

    row.get_by_role("link", name="Alex Client").click()
    clinician.wait_for_url(f"**/clinician/clients/{world.client.pk}/")
    log = clinician.locator(f"#log-{completion.pk}")
    assert "I could be kinder to myself about it." in log.inner_text()
    assert "Snapped at my sister." in log.inner_text()

    # The charts reflect the log, in the table of numbers and in the drawing itself.
    adherence_chart = _chart(clinician, "Practice done as planned, by week")
    week = _chart_row(adherence_chart, "(so far)")
    assert week[1:4] == ["1", "1", "100%"], week
    # This week's bar is outlined ("so far") and reaches the top: 100%.
    this_week = adherence_chart.locator("svg rect[stroke-width='2']")
    assert float(this_week.get_attribute("height")) == pytest.approx(charts.PLOT_H)
    assert "100" in adherence_chart.locator("svg text").all_text_contents()
    distress = _chart(clinician, "Distress before and after practice")
    week = _chart_row(distress, "Week of")
    assert week[1:] == ["8", "4", "1"], week
    plot_bottom = charts.TOP + charts.PLOT_H
    after_point = distress.locator("svg circle").last
    assert float(after_point.get_attribute("cy")) == pytest.approx(
        plot_bottom - 4 / 10 * charts.PLOT_H
    )
    before_point = distress.locator("svg rect[width='7']").last
    assert float(before_point.get_attribute("y")) + 3.5 == pytest.approx(
        plot_bottom - 8 / 10 * charts.PLOT_H
    )
    audit(clinician)

    log.get_by_text("Reply with feedback").click()
    log.get_by_label("Your feedback").fill("Noticing that is a real step. Well done.")
    log.get_by_role("button", name="Send feedback").click()
    expect(clinician.locator("main")).to_contain_text("Your feedback is sent")
    assert Feedback.objects.get(completion=completion).text.startswith("Noticing that")
    audit(clinician)

    client = new_context(PHONE).new_page()
    log_in(client, world.client)
    audit(client)
    before = timezone.now()
    client.get_by_role("link", name="Your clinician replied to your practice").click()
    client.wait_for_url("**/portal/history/")
    entry = client.locator(f"#log-{completion.pk}")
    assert "Dana Clinician replied" in entry.inner_text()
    assert "Noticing that is a real step. Well done." in entry.inner_text()
    audit(client)
    assert before <= Feedback.objects.get(completion=completion).read_at <= timezone.now()


def test_it_changes_reminder_preferences_through_the_link_in_a_reminder(
    live_server, world, new_context, audit, mailoutbox
):
    now = timezone.now()
    client = world.client
    yesterday = local_date(now, client.zone) - timedelta(days=1)
    # A daily plan since yesterday, reminding at midnight: today's reminder is due now.
    assignment = make_assignment(
        client, _self_compassion_break(), start_date=yesterday, reminder_time=time(0, 0)
    )
    Assignment.objects.filter(pk=assignment.pk).update(created_at=now - timedelta(days=1))
    assert reminders_create_due(now=now)
    (reminder,) = emails_to(client.email)
    assert "Self-compassion break" not in reminder.body

    page = new_context(PHONE).new_page()
    page.goto(link_in_email(client.email, "/reminders/settings/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Email settings"
    audit(page)
    page.get_by_label("Reminder time").fill("07:30")
    page.get_by_label("Quiet hours start").fill("22:00")
    page.get_by_label("Quiet hours end").fill("06:30")
    page.get_by_label("Pause reminders").select_option(label="Pause for 7 days")
    page.get_by_label("Send me a short weekly summary on Monday mornings").uncheck()
    page.get_by_role("button", name="Save reminder settings").click()
    expect(page.locator("main")).to_contain_text("Your reminder settings are saved.")
    expect(page.locator("main")).to_contain_text("Reminders are paused until")
    audit(page)

    profile = ClientProfile.objects.get(user=client)
    assert profile.reminder_time.strftime("%H:%M") == "07:30"
    assert (
        profile.quiet_hours_start.strftime("%H:%M"),
        profile.quiet_hours_end.strftime("%H:%M"),
    ) == (
        "22:00",
        "06:30",
    )
    assert profile.weekly_summary is False
    assert profile.reminders_paused_until > now + timedelta(days=6)
    # The link changes settings only: it is no way into the portal.
    page.goto("/portal/")
    assert "/accounts/login/" in page.url
    audit(page)


def test_it_refuses_a_client_the_clinician_pages_and_other_peoples_practice(
    live_server, world, new_context, audit
):
    own = _assign_today(world.client)
    theirs = _assign_today(world.other_client)
    their_log = completion_log(
        client=world.other_client,
        assignment=theirs,
        minutes=4,
        reflection="Blair's private words.",
    )
    page = new_context(PHONE).new_page()
    log_in(page, world.client)

    refused = {
        "/clinician/": 403,
        f"/clinician/clients/{world.other_client.pk}/": 403,
        f"/clinician/clients/{world.client.pk}/": 403,
        "/clinician/invitations/": 403,
        f"/portal/practice/{theirs.pk}/": 404,
        f"/portal/practice/{theirs.pk}/log/": 404,
        f"/portal/history/{their_log.pk}/correct/": 404,
        "/admin/accounts/user/": 302,
    }
    for path, status in refused.items():
        response = page.goto(path)
        text = page.inner_text("body")
        assert "Blair" not in text and "private words" not in text, path
        if status == 302:
            # The admin sends a non-staff account to its own login page.
            assert "/admin/login/" in page.url, path
            continue
        assert response.status == status, (path, response.status)
        heading = "Not allowed" if status == 403 else "Page not found"
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        audit(page)

    # A log form posted at someone else's plan writes nothing.
    page.goto(f"/portal/practice/{own.pk}/log/")
    page.evaluate(
        "(id) => { document.querySelector('main form').action = `/portal/practice/${id}/log/`; }",
        theirs.pk,
    )
    response_status = []
    page.on("response", lambda response: response_status.append(response.status))
    # The page checks the server is reachable before posting (static/js/app.js), so
    # wait for the post's own navigation rather than the page's current load state.
    with page.expect_navigation():
        page.get_by_role("button", name="Save my log").click()
    assert 404 in response_status
    assert Completion.objects.filter(assignment=theirs).count() == 1
    assert not Completion.objects.filter(assignment=own).exists()

    # Their own pages still work.
    page.goto("/portal/")
    assert page.get_by_role("link", name="Start practice").is_visible()
