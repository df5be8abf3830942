"""The clinic overview for admins: counts and a distribution, never one person's figures."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Invitation, Role
from notifications.models import Notification
from records.overview import clinic_overview
from tests.conftest import make_client, make_user
from tests.factories import local_today, make_assignment, make_completion

OVERVIEW = reverse("clinic-overview")


@pytest.fixture
def clinic_admin(world):
    return make_user("ops@harbour.test", Role.ADMIN, world.clinic, is_staff=True)


def _daily_plan_done(client, days_done: int):
    """A daily plan started 27 days ago with practice on the first `days_done` days."""
    start = local_today(client) - timedelta(days=27)
    plan = make_assignment(client, start_date=start)
    for offset in range(days_done):
        make_completion(plan, start + timedelta(days=offset))
    return plan


def test_it_counts_people_and_bands_clients_by_adherence(world, supervisor):
    _daily_plan_done(world.client, 28)  # all done: top band
    _daily_plan_done(world.other_client, 3)  # 3 of 28: lowest band
    now = timezone.now()
    Invitation.objects.create(
        clinic=world.clinic, email="new@client.test", role=Role.CLIENT,
        clinician=world.clinician, expires_at=now + timedelta(days=3),
    )  # fmt: skip
    Invitation.objects.create(
        clinic=world.clinic, email="old@client.test", role=Role.CLIENT,
        clinician=world.clinician, expires_at=now - timedelta(days=1),
    )  # fmt: skip
    overview = clinic_overview(clinic=world.clinic, now=now)
    assert overview.active_clients == 2
    assert overview.active_clinicians == 2
    assert overview.active_supervisors == 1
    assert overview.invitations_pending == 1
    assert dict(overview.band_counts) == {
        "0 to 24%": 1,
        "25 to 49%": 0,
        "50 to 74%": 0,
        "75 to 100%": 1,
    }
    assert overview.without_plan == 0


def test_it_counts_a_client_without_a_plan_apart_and_leaves_other_clinics_out(world):
    _daily_plan_done(world.stranger_client, 28)
    overview = clinic_overview(clinic=world.clinic)
    assert overview.without_plan == 2
    assert overview.with_plan == 0
    assert "No client had a plan" in overview.adherence_chart().summary


def test_it_reports_email_delivery_health_for_the_clinic_only(world):
    now = timezone.now()
    for number, (status, user, age) in enumerate(
        [
            (Notification.Status.PENDING, world.client, timedelta(hours=3)),
            (Notification.Status.PENDING, world.clinician, timedelta(minutes=5)),
            (Notification.Status.FAILED, world.client, timedelta(days=1)),
            (Notification.Status.SENT, world.client, timedelta(days=2)),
            (Notification.Status.PENDING, world.stranger_client, timedelta(days=9)),
        ]
    ):
        Notification.objects.create(
            kind=Notification.Kind.REMINDER,
            recipient=user,
            to_email=user.email,
            idempotency_key=f"test:{number}",
            status=status,
            created_at=now - age,
        )
    email = clinic_overview(clinic=world.clinic, now=now).email
    assert (email.pending, email.failed) == (2, 1)
    assert email.oldest_pending_age == timedelta(hours=3)
    assert email.oldest_pending_text == "3 hours"


def test_it_reports_push_delivery_apart_from_email(world):
    now = timezone.now()
    push, email = Notification.Channel.PUSH, Notification.Channel.EMAIL
    pending, sending = Notification.Status.PENDING, Notification.Status.SENDING
    failed, sent = Notification.Status.FAILED, Notification.Status.SENT
    rows = [
        (push, pending, world.client, timedelta(hours=30)),
        (push, sending, world.client, timedelta(minutes=2)),
        (push, failed, world.client, timedelta(days=1)),
        (push, failed, world.other_client, timedelta(days=1)),
        (push, sent, world.client, timedelta(days=3)),
        (push, pending, world.stranger_client, timedelta(days=9)),
        (email, pending, world.client, timedelta(minutes=7)),
    ]  # fmt: skip
    for number, (channel, status, user, age) in enumerate(rows):
        Notification.objects.create(
            kind=Notification.Kind.REMINDER,
            channel=channel,
            recipient=user,
            to_email=user.email,
            idempotency_key=f"test:{number}",
            status=status,
            created_at=now - age,
        )
    overview = clinic_overview(clinic=world.clinic, now=now)
    assert (overview.push.pending, overview.push.failed) == (2, 2)
    assert overview.push.oldest_pending_text == "30 hours"
    # The push rows no longer count as email.
    assert (overview.email.pending, overview.email.failed) == (1, 0)
    assert overview.email.oldest_pending_text == "7 minutes"


def _urgent_flag(client, acknowledged_by=None):
    from measures.models import RiskFlag
    from tests.factories import make_measure_response

    response = make_measure_response(
        client=client, instrument="PHQ-9", answers=dict.fromkeys(range(1, 10), 1)
    )
    return RiskFlag.objects.create(
        client=client,
        response=response,
        item=9,
        acknowledged_by=acknowledged_by,
        acknowledged_at=timezone.now() if acknowledged_by else None,
    )


def test_it_counts_the_clinics_open_urgent_flags(world):
    _urgent_flag(world.client)
    _urgent_flag(world.client)
    _urgent_flag(world.other_client)
    _urgent_flag(world.other_client, acknowledged_by=world.clinician)  # seen: no longer open
    _urgent_flag(world.stranger_client)  # another clinic's
    assert clinic_overview(clinic=world.clinic).open_urgent_flags == 3


def test_the_page_shows_both_channels_and_the_open_flags_in_a_labelled_table(world, clinic_admin):
    _urgent_flag(world.client)
    Notification.objects.create(
        kind=Notification.Kind.REMINDER,
        channel=Notification.Channel.PUSH,
        recipient=world.client,
        to_email=world.client.email,
        idempotency_key="test:push",
        status=Notification.Status.FAILED,
    )
    html = world.login(clinic_admin).get(OVERVIEW).content.decode()
    assert "<dt>Open urgent flags</dt><dd>1</dd>" in html
    assert '<th scope="col">Email</th><th scope="col">Notification on a device</th>' in html
    assert '<th scope="row">Failed after retries</th><td>0</td><td>1</td>' in html
    assert "Failed notifications are listed under Notifications" in html
    assert "Alex Client" not in html


def test_the_page_shows_an_accessible_chart_and_no_client_names(world, clinic_admin):
    _daily_plan_done(world.client, 20)
    page = world.login(clinic_admin).get(OVERVIEW)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<title id="clinic-adherence-title">' in html
    assert '<desc id="clinic-adherence-desc">' in html
    assert "Show the numbers" in html
    assert "Alex Client" not in html and "alex@client.test" not in html
    assert "Harbour Clinic" in html


def test_its_queries_do_not_grow_with_the_clinic(world, clinic_admin):
    _daily_plan_done(world.client, 5)
    browser = world.login(clinic_admin)
    browser.get(OVERVIEW)  # warm the session and permission caches

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert browser.get(OVERVIEW).status_code == 200
        return len(queries)

    few = count()
    for number in range(15):
        more = make_client(f"more{number}@client.test", world.clinician)
        _daily_plan_done(more, number)
        if number % 3 == 0:
            _urgent_flag(more)
    assert count() == few


def test_a_clinic_admin_sees_only_their_clinic(world, clinic_admin):
    browser = world.login(clinic_admin)
    assert browser.get(f"{OVERVIEW}?clinic={world.other_clinic.pk}").status_code == 404
    assert browser.get(f"{OVERVIEW}?clinic=nonsense").status_code == 404


def test_a_superuser_chooses_any_clinic(world):
    page = world.login(world.admin).get(f"{OVERVIEW}?clinic={world.other_clinic.pk}")
    assert page.status_code == 200
    assert "Clinic overview: Hillside Practice" in page.content.decode()


@pytest.mark.parametrize("who", [None, "client", "clinician", "colleague", "supervisor"])
def test_it_sends_everyone_else_to_the_admin_login(world, supervisor, who):
    response = world.login(getattr(world, who) if who else None).get(OVERVIEW)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_staff_member_of_no_clinic_who_is_not_a_superuser_is_refused(world):
    drifter = make_user("drift@kindwork.test", Role.ADMIN, None, is_staff=True)
    assert world.login(drifter).get(OVERVIEW).status_code == 403


def test_the_clinics_list_in_the_admin_links_to_the_overview(world, clinic_admin):
    from django.contrib.auth.models import Permission

    clinic_admin.user_permissions.set(Permission.objects.filter(codename="view_clinic"))
    page = world.login(clinic_admin).get(reverse("admin:accounts_clinic_changelist"))
    assert page.status_code == 200
    assert f'href="{OVERVIEW}"' in page.content.decode()
