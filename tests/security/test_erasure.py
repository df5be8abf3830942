"""Right to erasure: an admin erases a client after a confirmation step; their clinical data
goes, the account is anonymised and closed, and the audit trail keeps only that it happened."""

from datetime import date

import pytest
from django.urls import reverse
from knox.models import AuthToken

from accounts.models import ClientProfile, User, UserSession
from audit.models import AuditEvent
from homework.models import Assignment, Completion, Feedback
from notifications.models import Notification
from notifications.services import notification_create
from tests.factories import make_assignment, make_completion

CHANGELIST = reverse("admin:accounts_user_changelist")
CANARY = "canary-erasure-5b1c reflection"


@pytest.fixture
def records(world):
    """Clinical data for world.client and, untouched by the erasure, world.other_client."""
    made = {}
    for who in ("client", "other_client"):
        person = getattr(world, who)
        assignment = make_assignment(person)
        completion = make_completion(assignment, date(2026, 1, 6), reflection=CANARY)
        Feedback.objects.create(completion=completion, clinician=world.clinician, text="Well done")
        notification_create(
            kind=Notification.Kind.REMINDER,
            to_email=person.email,
            recipient_id=person.pk,
            idempotency_key=f"reminder:{assignment.pk}:2026-01-06",
        )
        from measures.models import RiskFlag
        from tests.factories import make_measure_response

        answer = make_measure_response(
            client=person, instrument="PHQ-9", answers=dict.fromkeys(range(1, 10), 1)
        )
        RiskFlag.objects.create(client=person, response=answer, item=9)
        made[who] = assignment
    return made


def erase_post(browser, users, confirm: bool):
    data = {"action": "erase", "_selected_action": [user.pk for user in users]}
    if confirm:
        data["confirm"] = "erase"
    return browser.post(CHANGELIST, data)


def test_it_asks_for_confirmation_before_erasing_anything(world, records):
    browser = world.login(world.admin)
    page = erase_post(browser, [world.client], confirm=False)
    assert page.status_code == 200
    html = page.content.decode()
    assert "cannot be undone" in html and world.client.email in html
    assert 'name="confirm" value="erase"' in html
    assert Completion.objects.filter(client=world.client).exists()
    assert User.objects.get(pk=world.client.pk).is_active


def test_it_erases_a_clients_clinical_data_and_anonymises_the_account(world, records):
    client_session = world.login(world.client)
    AuthToken.objects.create(user=world.client)
    before = set(AuditEvent.objects.values_list("pk", flat=True))

    response = erase_post(world.login(world.admin), [world.client], confirm=True)
    assert response.status_code == 302

    assert not Assignment.objects.filter(client=world.client).exists()
    assert not Completion.objects.filter(client=world.client).exists()
    assert not Feedback.objects.filter(completion__client=world.client).exists()
    assert not Notification.objects.filter(recipient=world.client).exists()
    assert not Notification.objects.filter(to_email="alex@client.test").exists()
    # Questionnaire answers and their risk flags are clinical data too.
    from measures.models import MeasureResponse, RiskFlag

    assert not MeasureResponse.objects.filter(client=world.client).exists()
    assert not RiskFlag.objects.filter(client=world.client).exists()
    assert MeasureResponse.objects.filter(client=world.other_client).exists()
    assert not ClientProfile.objects.filter(user=world.client).exists()
    erased = User.objects.get(pk=world.client.pk)
    assert erased.email == f"erased-{erased.pk}@erased.invalid"
    assert erased.full_name == ""
    assert not erased.is_active
    assert not erased.has_usable_password()
    assert not AuthToken.objects.filter(user=erased).exists()
    assert client_session.get(reverse("homework:today"))["Location"].startswith("/accounts/login/")
    sessions = UserSession.objects.all()
    assert not [s for s in sessions if s.get_decoded().get("_auth_user_id") == str(erased.pk)]

    # The trail gains exactly one event: the erasure, by the admin. No row-by-row deletes.
    new = AuditEvent.objects.exclude(pk__in=before)
    assert list(new.values_list("action", "actor_id", "client_id")) == [
        ("erase", world.admin.pk, erased.pk)
    ]
    assert CANARY not in " ".join(str(row) for row in AuditEvent.objects.values_list())

    # Another client of the same clinician keeps everything.
    assert Completion.objects.filter(client=world.other_client).count() == 1
    assert Notification.objects.filter(recipient=world.other_client).count() == 1
    assert User.objects.get(pk=world.other_client.pk).email == "blair@client.test"


def test_it_leaves_staff_accounts_alone(world, records):
    response = erase_post(world.login(world.admin), [world.clinician], confirm=True)
    assert response.status_code == 302
    clinician = User.objects.get(pk=world.clinician.pk)
    assert clinician.is_active and clinician.email == "dana@harbour.test"
    assert not AuditEvent.objects.filter(action="erase").exists()


def test_it_lets_a_clinic_admin_erase_only_their_own_clinics_clients(world, records, settings):
    from django.contrib.auth.models import Permission

    clinic_admin = User.objects.create_user(
        email="office@hillside.test",
        password="a-long-test-password-9",
        role="admin",
        clinic=world.other_clinic,
        is_staff=True,
    )
    clinic_admin.user_permissions.set(Permission.objects.filter(codename__endswith="_user"))
    erase_post(world.login(clinic_admin), [world.client], confirm=True)
    assert Completion.objects.filter(client=world.client).exists()
    assert User.objects.get(pk=world.client.pk).is_active


def test_it_keeps_erasure_from_clinicians_and_clients(world, records):
    for who in ("clinician", "client"):
        response = erase_post(world.login(getattr(world, who)), [world.client], confirm=True)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    assert Completion.objects.filter(client=world.client).exists()
