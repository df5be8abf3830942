"""The demo data command: loads once, prints passwords once, never loads twice."""

import re
from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from accounts.models import ClientProfile, Clinic, Role, User


def test_it_loads_demo_accounts_once_and_their_passwords_work(db, client):
    first = StringIO()
    call_command("setup_demo", stdout=first)
    printed = dict(re.findall(r"^\s+(\S+@demo\.kindwork)\s+(\S+)$", first.getvalue(), re.M))
    assert set(printed) == {
        "clinician@demo.kindwork",
        "clinician2@demo.kindwork",
        "supervisor@demo.kindwork",
        "admin@demo.kindwork",
        *(f"client{n}@demo.kindwork" for n in range(1, 11)),
    }
    clinician = User.objects.get(email="clinician@demo.kindwork")
    assert clinician.role == Role.CLINICIAN
    assert ClientProfile.objects.filter(clinician=clinician).count() == 6
    supervisor = User.objects.get(email="supervisor@demo.kindwork")
    assert set(supervisor.supervises.values_list("email", flat=True)) == {
        "clinician@demo.kindwork",
        "clinician2@demo.kindwork",
    }
    zones = set(User.objects.filter(role=Role.CLIENT).values_list("timezone", flat=True))
    assert len(zones) == 10
    response = client.post(
        reverse("accounts:login"),
        {"username": "client2@demo.kindwork", "password": printed["client2@demo.kindwork"]},
    )
    assert response["Location"] == reverse("homework:today")

    second = StringIO()
    call_command("setup_demo", stdout=second)
    assert "already loaded" in second.getvalue()
    assert "manage.py demo_passwords" in second.getvalue()
    assert "@demo.kindwork" not in second.getvalue()
    assert Clinic.objects.count() == 1
    assert User.objects.count() == 14
