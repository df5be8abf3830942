import io

from django.core.management import call_command

from accounts.models import User
from homework.models import Assignment


def _demo_clients() -> list[User]:
    call_command("setup_demo", stdout=io.StringIO())
    return list(User.objects.filter(email__in=["client1@demo.kindwork", "client2@demo.kindwork"]))


def test_it_assigns_a_builtin_practice_to_each_demo_client(db):
    clients = _demo_clients()
    call_command("setup_demo_practice", stdout=io.StringIO())
    plans = {a.client.email: a for a in Assignment.objects.select_related("client", "exercise")}
    assert set(plans) == {c.email for c in clients}
    assert plans["client1@demo.kindwork"].exercise.slug == "self-compassion-break"
    assert plans["client1@demo.kindwork"].schedule_kind == "daily"
    assert plans["client2@demo.kindwork"].times_per_week == 3
    assert all(plan.exercise.clinic_id is None for plan in plans.values())


def test_it_adds_nothing_when_run_again(db):
    _demo_clients()
    call_command("setup_demo_practice", stdout=io.StringIO())
    call_command("setup_demo_practice", stdout=io.StringIO())
    assert Assignment.objects.count() == 2
