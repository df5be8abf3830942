"""No email carries clinical content: every template rendered with canaries in every clinical field.

The canaries sit in the database for the very recipient of each email (exercise
text, the clinician's note, reflections, answers, ratings, feedback, names), and
each email is built by the real services and the real context builders.
"""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core import mail
from django.db.models import Q
from django.utils import timezone

from accounts.models import ClientProfile, Role, User
from accounts.services import invitation_create
from homework.models import Feedback
from homework.schedule import local_date, week_start
from homework.services.feedback import client_reply_create, feedback_create
from measures.models import MeasureAssignment
from measures.services import measure_response_submit
from notifications.models import Notification
from notifications.services import notification_render
from outreach.questionnaire_reminders import measure_reminders_create_due
from outreach.reminders import reminders_create_due
from outreach.summaries import weekly_summaries_create_due
from tests.factories import make_assignment, make_completion, make_exercise

CANARIES = {
    "exercise title": "Canary-Title-Quokka",
    "exercise summary": "Canary-Summary-Lantern",
    "exercise step": "Canary-Step-Marmalade",
    "prompt label": "Canary-Prompt-Heron",
    "clinician note": "Canary-Note-Juniper",
    "reflection": "Canary-Reflection-Pebble",
    "answer": "Canary-Answer-Thistle",
    "feedback": "Canary-Feedback-Orchard",
    "client name": "Canary Clientname",
    "other client name": "Canary Otherclient",
    "invitee name": "Canary Inviteename",
    "clinician name": "Canary Clinicianname",
}
# The invitation greets the invitee and names the clinician who invites them, so it is
# recognisable (issue 17); names are not clinical content, and nothing else is in it.
INVITATION_NAMES = {"invitee name", "clinician name"}
# Words that would give ratings or scores away even without their values.
RATING_WORDS = ["distress", "self-criticism", "self-kindness", "belief", "rating", "score"]
# Which questionnaire a client was given is clinical too: its code, name and author.
INSTRUMENT_WORDS = ["scs-sf", "self-compassion scale", "short form", "raes", "neff"]


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def _last_monday_nine(now: datetime) -> datetime:
    """The latest Monday 09:00 UTC that has passed: a moment summaries are due in UTC."""
    monday = week_start(now.astimezone(UTC).date())
    moment = datetime.combine(monday, time(9, 0), tzinfo=UTC)
    return moment if moment <= now else moment - timedelta(days=7)


@pytest.fixture
def canary_world(world):
    """The client and clinician of `world`, in UTC, with canaries in every clinical field."""
    now = timezone.now()
    client, clinician = world.client, world.clinician
    for user, name in [
        (client, CANARIES["client name"]),
        (world.other_client, CANARIES["other client name"]),
        (clinician, CANARIES["clinician name"]),
    ]:
        user.full_name = name
        user.timezone = "UTC"
        user.save(update_fields=["full_name", "timezone"])
    # 00:00: whatever time the test runs, today's reminder has fallen due.
    ClientProfile.objects.filter(user__in=[client, world.other_client]).update(
        reminder_time=time(0, 0)
    )
    exercise = make_exercise(
        client.clinic,
        title=CANARIES["exercise title"],
        summary=CANARIES["exercise summary"],
        steps=[CANARIES["exercise step"]],
        prompts=[{"key": "moment", "label": CANARIES["prompt label"], "phrase": True}],
        ratings=["distress_before", "distress_after", "self_kindness_after"],
    )
    long_ago = now - timedelta(days=60)
    User.objects.filter(pk__in=[client.pk, world.other_client.pk]).update(date_joined=long_ago)
    start = (now - timedelta(days=40)).date()
    assignment = make_assignment(
        client, exercise, note=CANARIES["clinician note"], created_at=long_ago, start_date=start
    )
    make_assignment(world.other_client, exercise, created_at=long_ago, start_date=start)
    # A questionnaire that falls due today (so its reminder is due too), and last time's
    # answers already given: the instrument and the score are in the database.
    measure = MeasureAssignment.objects.create(
        client=client,
        clinician=clinician,
        instrument="SCS-SF",
        every_weeks=1,
        start_date=now.date() - timedelta(days=7),
        created_at=long_ago,
    )
    measure_response_submit(
        client=client,
        measure=measure,
        answers=dict.fromkeys(range(1, 13), 5),
        now=now - timedelta(days=7),
    )
    summary_moment = _last_monday_nine(now)
    # One log in the week the summaries cover (Monday to Sunday before summary_moment) and
    # one the Sunday before it: whatever the day the suite runs (a Monday too), the week
    # holds exactly one, and today holds none (so today's reminder is due).
    summarised = summary_moment.date()
    for day in [summarised - timedelta(days=3), summarised - timedelta(days=8)]:
        completion = make_completion(
            assignment,
            day,
            minutes=17,
            reflection=CANARIES["reflection"],
            answers={"moment": CANARIES["answer"]},
            distress_before=9,
            distress_after=3,
            self_kindness_after=8,
        )
        Feedback.objects.create(
            completion=completion, clinician=clinician, text=CANARIES["feedback"]
        )
    # Through the services, so the "new message" emails are written as in the product.
    feedback_create(clinician=clinician, completion=completion, text=CANARIES["feedback"])
    client_reply_create(client=client, completion=completion, text=CANARIES["reflection"])
    return world, summary_moment


def _rendered(notification: Notification) -> dict[str, str]:
    message = notification_render(notification)
    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    headers = "\n".join(f"{name}: {value}" for name, value in message.message().items())
    return {"subject": message.subject, "text": message.body, "html": html, "headers": headers}


def _all_emails(canary_world) -> dict[str, dict[str, str]]:
    world, summary_moment = canary_world
    reminders_create_due(now=timezone.now())
    measure_reminders_create_due(now=timezone.now())
    weekly_summaries_create_due(now=summary_moment)
    invitation_create(
        clinic=world.clinic,
        email="new.client@client.test",
        role=Role.CLIENT,
        invited_by=world.clinician,
        clinician=world.clinician,
        full_name=CANARIES["invitee name"],
    )
    Notification.objects.create(
        kind=Notification.Kind.PASSWORD_RESET,
        recipient=world.client,
        to_email=world.client.email,
        idempotency_key="password_reset:canary",
    )
    # One of each kind: the canary client's own, or their clinician's.
    ours = Notification.objects.filter(
        Q(recipient__in=[world.client, world.clinician]) | Q(recipient__isnull=True)
    )
    # Messages go both ways, so they are keyed by recipient as well.
    return {
        (
            f"{notification.kind}:{notification.recipient_id}"
            if notification.kind == Notification.Kind.MESSAGE
            else notification.kind
        ): _rendered(notification)
        for notification in ours
    }


@pytest.mark.django_db
def test_it_renders_every_email_without_clinical_content(canary_world):
    world, _ = canary_world
    emails = _all_emails(canary_world)
    assert set(emails) == {
        Notification.Kind.REMINDER,
        Notification.Kind.QUESTIONNAIRE_REMINDER,
        Notification.Kind.WEEKLY_CLIENT,
        Notification.Kind.WEEKLY_CLINICIAN,
        Notification.Kind.INVITATION,
        Notification.Kind.PASSWORD_RESET,
        # The clinician's reply reaches the client as news on their channels; the
        # client's reply reaches the clinician as a message.
        Notification.Kind.FEEDBACK_REPLY,
        f"{Notification.Kind.MESSAGE}:{world.clinician.pk}",
    }
    _assert_no_clinical_content(emails)

    invitation = emails[Notification.Kind.INVITATION]["text"].lower()
    assert all(CANARIES[field].lower() in invitation for field in INVITATION_NAMES)


def _assert_no_clinical_content(emails: dict[str, dict[str, str]]) -> None:
    for kind, parts in emails.items():
        for part, content in parts.items():
            lowered = content.lower()
            for field, canary in CANARIES.items():
                if kind == Notification.Kind.INVITATION and field in INVITATION_NAMES:
                    continue
                assert canary.lower() not in lowered, f"{field} in the {part} of {kind}"
            if kind != Notification.Kind.PASSWORD_RESET or part != "headers":
                for word in RATING_WORDS + INSTRUMENT_WORDS:
                    assert word not in lowered, f"'{word}' in the {part} of {kind}"


@pytest.mark.django_db
def test_a_branded_clinics_emails_carry_no_clinical_content_either(
    canary_world, settings, tmp_path
):
    """The clinic's look (name, colour, logo) adds a header and a picture, nothing of theirs."""
    from accounts.services import clinic_branding_update
    from tests.accounts.test_branding import picture

    settings.MEDIA_ROOT = tmp_path / "media"
    world, _ = canary_world
    clinic_branding_update(
        clinic=world.clinic,
        display_name="Harbour Wellbeing",
        accent_colour="#5b2a86",
        logo_data=picture(),
    )
    emails = _all_emails(canary_world)
    assert all("Harbour Wellbeing" in parts["html"] for parts in emails.values())
    _assert_no_clinical_content(emails)

    invitation = emails[Notification.Kind.INVITATION]["text"].lower()
    assert all(CANARIES[field].lower() in invitation for field in INVITATION_NAMES)


@pytest.mark.django_db
def test_it_says_what_it_may_and_links_to_the_rest(canary_world):
    emails = _all_emails(canary_world)
    reminder = emails[Notification.Kind.REMINDER]
    assert reminder["subject"] == "You have practice waiting"
    assert "/portal/" in reminder["text"] and "/portal/" in reminder["html"]
    questionnaire = emails[Notification.Kind.QUESTIONNAIRE_REMINDER]
    assert questionnaire["subject"] == "You have a short questionnaire waiting"
    assert "a short questionnaire from your clinician" in questionnaire["text"]
    assert "a short questionnaire from your clinician" in questionnaire["html"]
    assert "/portal/" in questionnaire["text"] and "/portal/" in questionnaire["html"]
    assert "practice" not in questionnaire["subject"] + questionnaire["text"]
    weekly = emails[Notification.Kind.WEEKLY_CLIENT]
    monday = (canary_world[1].date() - timedelta(days=7)).isoformat()
    assert f"/portal/weeks/{monday}/" in weekly["text"]
    assert "practised on 1 day" in weekly["text"]
    assert "17 minutes" in weekly["text"]
    caseload = emails[Notification.Kind.WEEKLY_CLINICIAN]
    assert f"/clinician/weeks/{monday}/" in caseload["text"]
    assert "1 of your 2 clients practised" in caseload["text"]


@pytest.mark.django_db
def test_it_puts_a_one_click_unsubscribe_on_reminders_and_summaries(canary_world):
    emails = _all_emails(canary_world)
    for kind in [
        Notification.Kind.REMINDER,
        Notification.Kind.QUESTIONNAIRE_REMINDER,
        Notification.Kind.WEEKLY_CLIENT,
        Notification.Kind.WEEKLY_CLINICIAN,
    ]:
        headers = emails[kind]["headers"]
        assert "List-Unsubscribe: <http" in headers, kind
        assert "/reminders/settings/" in headers, kind
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in headers, kind


@pytest.mark.django_db
def test_it_sends_a_due_reminder_through_the_outbox_after_commit(
    canary_world, django_capture_on_commit_callbacks
):
    world, _ = canary_world
    with django_capture_on_commit_callbacks(execute=True):
        created = reminders_create_due(now=timezone.now())
    assert len(created) == 2  # the client and the other client
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [world.client.email, world.other_client.email]
    )
    assert set(Notification.objects.filter(pk__in=created).values_list("status", flat=True)) == {
        Notification.Status.SENT
    }
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers


@pytest.mark.django_db
def test_it_drops_a_late_reminder_once_the_practice_is_logged(canary_world):
    world, _ = canary_world
    (created,) = [
        pk
        for pk in reminders_create_due(now=timezone.now())
        if Notification.objects.get(pk=pk).recipient_id == world.client.pk
    ]
    notification = Notification.objects.get(pk=created)
    assignment_id = notification.context["assignment_id"]
    make_completion(
        world.client.assignments.get(pk=assignment_id),
        local_date(timezone.now(), world.client.zone),
    )
    from notifications.services import notifications_send

    report = notifications_send(ids=[created])
    notification.refresh_from_db()
    assert report.failed == [created]
    assert notification.status == Notification.Status.FAILED
    assert "already logged" in notification.last_error
    assert mail.outbox == []
