"""Who may read a log's reflection and prompt answers: one rule, reflection_visible_to.

The table pins the rule for every kind of reader; the surface tests pin that the
pages, the API and the exports ask it rather than deciding for themselves.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from homework.schedule import local_date
from homework.selectors.practice import reflection_visible_to
from homework.serializers import CompletionSerializer
from records.exports import client_data
from tests.conftest import make_user
from tests.factories import make_assignment, make_completion

CANARY = "REFLECTION-CANARY"
ANSWER = "ANSWER-CANARY"


def _viewer(world, key: str):
    if key == "anonymous":
        return AnonymousUser()
    if key == "nobody":
        return None
    if key == "clinic_admin":
        return make_user("amy@harbour.test", Role.ADMIN, world.clinic)
    if key == "other_clinic_admin":
        return make_user("ola@hillside.test", Role.ADMIN, world.other_clinic)
    return getattr(world, key)


def _log(world, *, shared: bool):
    today = local_date(timezone.now(), world.client.zone)
    assignment = make_assignment(world.client, start_date=today - timedelta(days=7))
    return make_completion(
        assignment,
        today - timedelta(days=1),
        reflection=CANARY,
        answers={"moment": ANSWER},
        reflection_shared=shared,
    )


# (viewer, may see the client's record at all, may read a shared log's words,
#  may read a private log's words)
RULE = [
    ("client", True, True, True),  # their own, shared or not
    ("clinician", True, True, False),  # their clinician: only what the client shared
    ("colleague", False, False, False),  # same clinic, not their clinician
    ("other_client", False, False, False),  # same clinician, another client
    ("stranger_clinician", False, False, False),  # another clinic
    ("stranger_client", False, False, False),
    ("clinic_admin", True, True, False),  # the clinic export: shared words, never private
    ("other_clinic_admin", False, False, False),
    ("admin", True, True, False),  # a superuser: every clinic, as the clinic export allows
    ("anonymous", False, False, False),
    ("nobody", False, False, False),  # no request user at all
]


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "private"])
@pytest.mark.parametrize(
    ("viewer_key", "sees_record", "sees_shared", "sees_private"),
    RULE,
    ids=[row[0] for row in RULE],
)
def test_it_answers_who_may_read_a_reflection(
    world, viewer_key, sees_record, sees_shared, sees_private, shared
):
    completion = _log(world, shared=shared)
    viewer = _viewer(world, viewer_key)
    expected = sees_shared if shared else sees_private
    assert reflection_visible_to(viewer, completion) is expected
    # Callers whose rows already come from the viewer's access rules skip the query;
    # for them the answer must be the same.
    if sees_record:
        assert reflection_visible_to(viewer, completion, record_visible=True) is expected
    assert reflection_visible_to(viewer, completion, record_visible=False) is False


def test_it_asks_the_database_only_when_the_words_could_be_shown(world, django_assert_num_queries):
    private = _log(world, shared=False)
    with django_assert_num_queries(0):
        assert reflection_visible_to(world.clinician, private) is False
        assert reflection_visible_to(world.client, private, record_visible=True) is True
    with django_assert_num_queries(1):
        assert reflection_visible_to(world.client, private) is True


# --- Every surface asks the rule ---


def _never(*args, **kwargs) -> bool:
    return False


def _always(*args, **kwargs) -> bool:
    return True


def test_the_clients_history_asks_the_rule(world, monkeypatch):
    _log(world, shared=False)
    url = reverse("homework:history")
    assert CANARY in world.login(world.client).get(url).text
    monkeypatch.setattr("homework.views.portal.reflection_visible_to", _never)
    page = world.login(world.client).get(url).text
    assert CANARY not in page and ANSWER not in page


def test_the_clinicians_client_page_asks_the_rule(world, monkeypatch):
    _log(world, shared=False)
    url = reverse("homework:client-detail", args=[world.client.pk])
    page = world.login(world.clinician).get(url).text
    assert CANARY not in page and "Reflection kept private" in page
    monkeypatch.setattr("homework.views.clinician.reflection_visible_to", _always)
    page = world.login(world.clinician).get(url).text
    assert CANARY in page and ANSWER in page


def test_the_api_asks_the_rule(world, monkeypatch):
    completion = _log(world, shared=False)
    context = {"request": SimpleNamespace(user=world.client)}
    data = CompletionSerializer(completion, context=context).data
    assert (data["reflection"], data["answers"]) == (CANARY, {"moment": ANSWER})
    monkeypatch.setattr("homework.serializers.reflection_visible_to", _never)
    data = CompletionSerializer(completion, context=context).data
    assert (data["reflection"], data["answers"]) == ("", {})


def test_the_exports_ask_the_rule(world, monkeypatch):
    _log(world, shared=False)
    [row] = client_data(client=world.client)["completions"]
    assert (row["reflection"], row["answers"]) == (CANARY, {"moment": ANSWER})
    monkeypatch.setattr("records.exports.reflection_visible_to", _never)
    [row] = client_data(client=world.client)["completions"]
    assert (row["reflection"], row["answers"]) == ("", "")
