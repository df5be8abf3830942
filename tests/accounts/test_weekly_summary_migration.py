"""The migration that turns the caseload-summary opt-out group into User.weekly_summary_email.

Tests run without migrations, so the migration's functions are run here on real rows
with the current models, which match its state.
"""

from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from accounts.models import User

migration = import_module("accounts.migrations.0002_user_weekly_summary_email")
GROUP = "Weekly caseload summary: opted out"


def weekly_summary_email(*users: User) -> list[bool]:
    return [User.objects.get(pk=user.pk).weekly_summary_email for user in users]


def test_it_turns_the_email_off_for_the_groups_members_and_deletes_the_group(world):
    group = Group.objects.create(name=GROUP)
    other = Group.objects.create(name="Reviewers")
    world.clinician.groups.add(group, other)
    world.client.groups.add(group)  # only the admin could do this; it excluded them too
    world.colleague.groups.add(other)

    migration.opt_outs_from_group(apps, None)

    assert weekly_summary_email(
        world.clinician, world.client, world.colleague, world.stranger_clinician
    ) == [False, False, True, True]
    assert not Group.objects.filter(name=GROUP).exists()
    assert list(world.clinician.groups.values_list("name", flat=True)) == ["Reviewers"]


def test_it_changes_nothing_when_nobody_opted_out(world):
    migration.opt_outs_from_group(apps, None)
    assert set(User.objects.values_list("weekly_summary_email", flat=True)) == {True}
    assert not Group.objects.exists()


def test_it_puts_the_opted_out_back_in_the_group_when_reversed(world):
    User.objects.filter(pk__in=[world.clinician.pk, world.stranger_clinician.pk]).update(
        weekly_summary_email=False
    )

    migration.opt_outs_to_group(apps, None)

    members = Group.objects.get(name=GROUP).user_set.order_by("email")
    assert list(members.values_list("email", flat=True)) == [
        "dana@harbour.test",
        "sam@hillside.test",
    ]


def test_it_creates_no_group_when_reversed_with_nobody_opted_out(world):
    migration.opt_outs_to_group(apps, None)
    assert not Group.objects.exists()


@pytest.mark.parametrize("run", [1, 2])
def test_it_round_trips(world, run):
    Group.objects.create(name=GROUP).user_set.add(world.colleague)
    for _ in range(run):
        migration.opt_outs_from_group(apps, None)
        migration.opt_outs_to_group(apps, None)
    assert list(Group.objects.get(name=GROUP).user_set.all()) == [world.colleague]
