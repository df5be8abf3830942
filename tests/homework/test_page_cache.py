"""Cached pages (homework.page_cache) are never stale, never shown to the wrong reader,
and keep no clinical words in the clear.

The client page, the pre-session report, the group page, the today page and the caseload
are kept whole under the record versions of the reader, of every client shown and of the
library; database
triggers (homework.triggers) give those a new value with every write the pages are made
of. The property test applies random sequences of writes of every kind a page shows
(logs, corrections, replies both ways, notes, questionnaires, flags and their
acknowledgement, the next session, plans paused, a course, a group's members, a name,
a time zone, an exercise renamed, the day rolling over) through the ORM, queryset
updates and raw SQL, and after every step opens each page twice: the second answer
comes from the cache (checked), and the suite's PAGE_CACHE_VERIFY renders it afresh
and fails on any difference. It runs on whichever database the suite runs on; a last
test runs this module again on SQLite when the suite runs on PostgreSQL.
"""

import os
import re
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import ClientProfile, Clinic, User
from homework import page_cache
from homework.models import Assignment, ClientNote, Completion, Exercise, Feedback
from homework.selectors.progress import with_figures_version
from homework.triggers import LIBRARY
from measures.models import RiskFlag
from programs.models import Group, Program
from programs.services import enrolments_create, group_save
from tests.conftest import make_client, run_module_on_sqlite
from tests.factories import (
    local_today,
    make_assignment,
    make_completion,
    make_exercise,
    make_measure,
    make_measure_response,
)

pytestmark = pytest.mark.django_db

REFLECTION = "Wrote to myself like a friend would"
NOTE = "Ask about the letter exercise"


def _hits(page: str) -> float:
    return page_cache.PAGE_CACHE.labels(page=page, result="hit")._value.get()


def _version(user_id: int):
    return with_figures_version(User.objects.filter(pk=user_id)).get().figures_version


def _library():
    from homework.models import FiguresVersion

    return FiguresVersion.objects.get(client_id=LIBRARY).version


def _fields(html: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)


@pytest.fixture
def seen(world):
    """The client with a plan, a shared reflection, a note and a questionnaire."""
    plan = make_assignment(world.client, make_exercise(title="Soothing touch"))
    make_completion(plan, local_today(world.client), reflection=REFLECTION, reflection_shared=True)
    ClientNote.objects.create(client=world.client, author=world.clinician, text=NOTE)
    make_measure(world.client)
    return plan


def _pages(world) -> list[str]:
    return [
        reverse("homework:client-detail", args=[world.client.pk]),
        reverse("records:pre-session-report", args=[world.client.pk]),
    ]


# --- The cache is used, and what it keeps ---


def test_a_second_view_is_served_from_the_cache_with_its_own_token(world, seen, settings):
    # Without the suite's verification, which would render the body again.
    settings.PAGE_CACHE_VERIFY = False
    browser = world.login(world.clinician)
    url = reverse("homework:client-detail", args=[world.client.pk])
    with CaptureQueriesContext(connection) as cold:
        first = browser.get(url)
    before = _hits("client_detail")
    with CaptureQueriesContext(connection) as warm:
        second = browser.get(url)
    assert second.status_code == 200
    assert _hits("client_detail") == before + 1
    body = second.content.decode()
    assert REFLECTION in body and NOTE in body and "Soothing touch" in body
    assert _normal(body) == _normal(first.content.decode())
    # Nothing the body is made of was read again.
    for table in ("homework_completion", "homework_clientnote", "homework_measureassignment"):
        assert any(f'FROM "{table}"' in q["sql"] for q in cold.captured_queries)
        assert not any(f'FROM "{table}"' in q["sql"] for q in warm.captured_queries)
    # Every form has a token of this response, none the stored mark; the forms work.
    assert page_cache.CSRF_MARK not in body
    tokens = set(_fields(body))
    assert tokens and tokens.isdisjoint(_fields(first.content.decode()))
    for token in tokens:
        posted = browser.post(
            reverse("homework:note-create", args=[world.client.pk]),
            {"text": "A second note", "csrfmiddlewaretoken": token},
        )
        assert posted.status_code == 302


def _normal(html: str) -> str:
    """The page without what differs in every response: CSRF tokens and CSP nonces."""
    html = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+"', r'\1"', html)
    return re.sub(r'nonce="[^"]+"', 'nonce=""', html)


def test_a_stale_body_fails_the_verification_and_would_have_been_served(world, seen, settings):
    """The check the whole suite runs can fail: put a changed body under the current key."""
    browser = world.login(world.clinician)
    url = reverse("homework:client-detail", args=[world.client.pk])
    browser.get(url)
    store = caches["pages"]
    tampered = 0
    for key in _keys(store):
        entry = page_cache._read(key)
        if entry and REFLECTION in entry:
            page_cache._write(key, entry.replace(REFLECTION, "Something else entirely"))
            tampered += 1
    assert tampered >= 1
    with pytest.raises(page_cache.StalePage):
        browser.get(url)
    settings.PAGE_CACHE_VERIFY = False
    assert "Something else entirely" in browser.get(url).content.decode()


def _keys(store) -> list[str]:
    """The page cache's keys (Redis or the in-process cache)."""
    if hasattr(store, "_cache") and hasattr(store._cache, "get_client"):
        client = store._cache.get_client()
        prefix = store.make_key("")
        return [k.decode()[len(prefix) :] for k in client.scan_iter(match=f"{prefix}*")]
    return [k.split(":", 2)[2] for k in store._cache]


def test_entries_hold_no_words_and_keys_name_no_one(world, seen):
    browser = world.login(world.clinician)
    browser.get(reverse("homework:client-detail", args=[world.client.pk]))
    store = caches["pages"]
    keys = _keys(store)
    assert keys
    for key in keys:
        assert re.fullmatch(r"[0-9a-f]{64}", key)
        raw = store.get(key)
        assert isinstance(raw, bytes)
        for word in (REFLECTION, NOTE, "Soothing touch", "Alex Client"):
            assert word.encode() not in raw


def test_each_reader_has_their_own_body(world, seen, supervisor):
    """A supervisor reads the caseload but not the clinician's private notes, whichever
    of them opens the page first; another clinic's clinician is refused before any cache."""
    url = reverse("homework:client-detail", args=[world.client.pk])
    clinician = world.login(world.clinician)
    for _ in range(2):
        assert NOTE in clinician.get(url).content.decode()
    reader = world.login(supervisor)
    for _ in range(2):
        page = reader.get(url)
        assert page.status_code == 200
        assert NOTE not in page.content.decode()
        assert REFLECTION in page.content.decode()
    for outsider in (world.stranger_clinician, world.colleague):
        assert world.login(outsider).get(url).status_code == 404
    assert world.login(world.other_client).get(url).status_code in (302, 403, 404)
    anonymous = world.login(None).get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_a_reply_shown_as_new_is_not_kept(world, seen):
    completion = Completion.objects.get(client=world.client)
    Feedback.objects.create(
        completion=completion, clinician=world.clinician, from_client=True, text="Thank you"
    )
    browser = world.login(world.clinician)
    url = reverse("homework:client-detail", args=[world.client.pk])
    first = browser.get(url).content.decode()
    assert "Thank you" in first
    assert Feedback.objects.get(from_client=True).read_at is not None
    # Shown once as new, then as read: the first body was not kept.
    second = browser.get(url).content.decode()
    assert first != second


def test_a_form_with_errors_is_never_kept_or_served(world, seen):
    browser = world.login(world.clinician)
    url = reverse("homework:client-detail", args=[world.client.pk])
    browser.get(url)
    refused = browser.post(reverse("homework:note-create", args=[world.client.pk]), {"text": ""})
    assert refused.status_code == 400
    assert "errorlist" in refused.content.decode() or "error" in refused.content.decode()
    assert "errorlist" not in browser.get(url).content.decode()


def test_a_cache_that_fails_leaves_the_pages_working(world, seen, monkeypatch):
    class Broken:
        def get(self, key):
            raise ConnectionError("cache down")

        def set(self, key, value):
            raise ConnectionError("cache down")

    monkeypatch.setattr("homework.page_cache.caches", {"pages": Broken()})
    browser = world.login(world.clinician)
    for url in _pages(world):
        for _ in range(2):
            page = browser.get(url)
            assert page.status_code == 200
            assert REFLECTION in page.content.decode()


# --- What gives a new version ---


def _colleague_renamed(world, plan):
    User.objects.filter(pk=world.colleague.pk).update(full_name="Lee Renamed")


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda world, plan: Feedback.objects.create(
                completion=Completion.objects.get(client=world.client),
                clinician=world.clinician,
                text="Lovely",
            ),
            id="reply",
        ),
        pytest.param(
            lambda world, plan: ClientNote.objects.filter(client=world.client).update(text="x"),
            id="note update()",
        ),
        pytest.param(
            lambda world, plan: make_measure_response(
                client=world.client, answers={1: 2}, instrument="SCS-SF"
            ),
            id="questionnaire",
        ),
        pytest.param(
            lambda world, plan: ClientProfile.objects.filter(user=world.client).update(
                next_session_on=local_today(world.client) + timedelta(days=3)
            ),
            id="next session",
        ),
        pytest.param(
            lambda world, plan: User.objects.filter(pk=world.client.pk).update(
                timezone="Asia/Tokyo"
            ),
            id="zone",
        ),
        pytest.param(
            lambda world, plan: Group.objects.get(name="Spare").members.add(world.client),
            id="group member",
        ),
        pytest.param(
            lambda world, plan: _raw(
                "UPDATE homework_feedback SET text = text WHERE completion_id IN "
                "(SELECT id FROM homework_completion WHERE client_id = %s)",
                [world.client.pk],
            ),
            id="raw reply update",
        ),
    ],
)
def test_every_kind_of_write_gives_the_client_a_new_version(world, seen, write):
    Group.objects.create(clinic=world.clinic, clinician=world.clinician, name="Spare")
    Feedback.objects.create(
        completion=Completion.objects.get(client=world.client), clinician=world.clinician, text="a"
    )
    before, bystander, library = (
        _version(world.client.pk),
        _version(world.other_client.pk),
        _library(),
    )
    write(world, seen)
    assert _version(world.client.pk) != before
    assert _version(world.other_client.pk) == bystander
    assert _library() == library


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda world: Exercise.objects.filter(title="Soothing touch").update(title="Touch"),
            id="exercise renamed",
        ),
        pytest.param(
            lambda world: Program.objects.filter(clinic__isnull=True).update(title="Course"),
            id="course renamed",
        ),
        pytest.param(
            lambda world: Clinic.objects.filter(pk=world.clinic.pk).update(name="New name"),
            id="clinic",
        ),
        pytest.param(_colleague_renamed, id="a colleague's name"),
    ],
)
def test_rows_of_no_one_client_give_the_library_a_new_version(world, seen, write):
    library, client = _library(), _version(world.client.pk)
    try:
        write(world)
    except TypeError:
        write(world, seen)
    assert _library() != library
    assert _version(world.client.pk) == client


def test_a_login_does_not_touch_the_library(world, seen):
    library = _library()
    User.objects.filter(pk=world.colleague.pk).update(last_login=timezone.now())
    assert _library() == library


# --- The property: after any writes, every cached page equals a fresh one ---


_numbers = iter(range(10**6))


class Box:
    """A client of their own for each example (so an example that fails replays the same
    way), with a plan, a shared reflection, a note and a questionnaire."""

    def __init__(self, world) -> None:
        self.world = world
        self.client = make_client(
            f"box{next(_numbers)}@pages.test", world.clinician, full_name="Box Client"
        )
        self.other = make_client(f"box{next(_numbers)}@pages.test", world.clinician)
        self.plan = make_assignment(self.client, make_exercise(title="Soothing touch"))
        make_completion(
            self.plan, local_today(self.client), reflection=REFLECTION, reflection_shared=True
        )
        ClientNote.objects.create(client=self.client, author=world.clinician, text=NOTE)
        make_measure(self.client)
        self.group: Group | None = None
        self.now_shift = timedelta(0)

    def pages(self) -> list[str]:
        urls = [
            reverse("homework:client-detail", args=[self.client.pk]),
            reverse("records:pre-session-report", args=[self.client.pk]),
            reverse("homework:dashboard"),
            reverse("homework:dashboard") + "?q=box&status=attention",
        ]
        if self.group is not None:
            urls.append(reverse("programs:group-detail", args=[self.group.pk]))
        return urls


def step_log(box, data):
    day = local_today(box.client) - timedelta(days=data.draw(st.integers(0, 6)))
    if not Completion.objects.filter(assignment=box.plan, local_date=day).exists():
        make_completion(
            box.plan,
            day,
            reflection=data.draw(st.sampled_from(["", "Gentle", "<b>kind</b>"])),
            reflection_shared=data.draw(st.booleans()),
            # "Asked you to look": on the caseload for seven days from this moment.
            clinician_told_at=data.draw(st.sampled_from([None, timezone.now()])),
        )


def step_correct(box, data):
    Completion.objects.filter(client=box.client).update(
        minutes=data.draw(st.integers(1, 60)), reflection_shared=data.draw(st.booleans())
    )


def step_delete_log(box, data):
    log = Completion.objects.filter(client=box.client).order_by("?").first()
    if log:
        log.delete()


def step_reply(box, data):
    log = Completion.objects.filter(client=box.client).order_by("-id").first()
    if log:
        Feedback.objects.create(
            completion=log,
            clinician=box.world.clinician,
            from_client=data.draw(st.booleans()),
            text=data.draw(st.sampled_from(["Thanks", "Keep going", "a & b"])),
        )


def step_note(box, data):
    if data.draw(st.booleans()):
        ClientNote.objects.create(client=box.client, author=box.world.clinician, text="Later")
    else:
        _raw("UPDATE homework_clientnote SET text = 'Raw' WHERE client_id = %s", [box.client.pk])


def step_questionnaire(box, data):
    measure = make_measure(box.client, instrument="PHQ-9")
    answers = dict.fromkeys(range(1, 10), data.draw(st.integers(0, 3)))
    make_measure_response(measure=measure, answers=answers)


def step_flag(box, data):
    response = make_measure_response(client=box.client, answers={9: 2}, instrument="PHQ-9")
    flag = RiskFlag.objects.create(client=box.client, response=response, item=9)
    if data.draw(st.booleans()):
        RiskFlag.objects.filter(pk=flag.pk).update(
            acknowledged_at=timezone.now(), acknowledged_by=box.world.clinician
        )


def step_next_session(box, data):
    ClientProfile.objects.filter(user=box.client).update(
        next_session_on=local_today(box.client) + timedelta(days=data.draw(st.integers(1, 9))),
        last_session_on=local_today(box.client) - timedelta(days=data.draw(st.integers(1, 9))),
    )


def step_plan_status(box, data):
    Assignment.objects.filter(pk=box.plan.pk).update(
        status=data.draw(st.sampled_from(["active", "paused"]))
    )


def step_zone(box, data):
    zone = data.draw(st.sampled_from(["UTC", "Pacific/Auckland", "America/Los_Angeles"]))
    User.objects.filter(pk=box.client.pk).update(timezone=zone)
    box.client.refresh_from_db()


def step_names(box, data):
    who = data.draw(st.sampled_from([box.client, box.world.clinician]))
    _raw("UPDATE accounts_user SET full_name = %s WHERE id = %s", [f"Renamed {who.pk}", who.pk])


def step_exercise(box, data):
    Exercise.objects.filter(pk=box.plan.exercise_id).update(
        title=data.draw(st.sampled_from(["Soothing touch", "Kind letter"]))
    )


def step_group(box, data):
    members = [box.client.pk] + ([box.other.pk] if data.draw(st.booleans()) else [])
    if box.group is None:
        box.group = group_save(clinician=box.world.clinician, name="Tuesday", member_ids=members)
    else:
        box.group.members.set(members)


def step_course(box, data):
    if box.group is not None and not box.group.enrolments.exists():
        members = list(box.group.members.all())
        enrolments_create(
            clinician=box.world.clinician,
            program=Program.objects.get(clinic__isnull=True, slug="eight-weeks-of-self-compassion"),
            clients=members,
            group=box.group,
            # Not before any member's today: their zones may be a day apart.
            start_date=max(local_today(member) for member in members),
        )


def step_time_passes(box, data):
    # Past a request to look (7 days) and a band rise (14 days) too.
    box.now_shift += timedelta(hours=data.draw(st.sampled_from([5, 13, 24, 7 * 24, 14 * 24])))


STEPS = [
    step_log,
    step_correct,
    step_delete_log,
    step_reply,
    step_note,
    step_questionnaire,
    step_flag,
    step_next_session,
    step_plan_status,
    step_zone,
    step_names,
    step_exercise,
    step_group,
    step_course,
    step_time_passes,
]


PAGES = ("client_detail", "pre_session_report", "group", "today", "dashboard", "api_today")


@hypothesis_settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(data=st.data())
def test_cached_pages_equal_a_fresh_rendering_after_any_writes(world, monkeypatch, data):
    box = Box(world)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + box.now_shift)
    before = {page: _hits(page) for page in PAGES}
    reader = None
    # Every kind of write in each example, in a drawn order, and a few drawn again.
    steps = data.draw(st.permutations(STEPS)) + data.draw(
        st.lists(st.sampled_from(STEPS), max_size=4)
    )
    for step in steps:
        step(box, data)
        if step is step_time_passes or reader is None:
            # Logged in at the (moved) clock: a session idle for hours has ended. (Only
            # then: a login writes the reader's row, which would make every key new.)
            reader = world.login(world.clinician)
            client_reader = world.login(box.client)
        visits = [(reader, url) for url in box.pages()]
        visits.append((client_reader, reverse("homework:today")))
        visits.append((client_reader, reverse("api:v1:today")))
        for browser, url in visits:
            # Twice: the second from the cache unless the first showed a reply as new;
            # PAGE_CACHE_VERIFY renders it afresh and fails on any difference.
            assert browser.get(url).status_code == 200
            assert browser.get(url).status_code == 200
    # Each page was served from the cache at least once.
    assert all(_hits(page) > before[page] for page in PAGES if page != "group" or box.group)


@pytest.mark.skipif(
    connection.vendor != "postgresql" or os.environ.get("PAGES_ON_SQLITE") == "1",
    reason="runs this module on SQLite when the suite runs on PostgreSQL",
)
def test_the_same_properties_hold_on_sqlite(tmp_path):
    run_module_on_sqlite(__file__, tmp_path, "PAGES_ON_SQLITE")


def test_a_deploy_that_changes_a_template_or_a_printed_setting_changes_every_key(
    tmp_path, settings
):
    (tmp_path / "templates").mkdir()
    template = tmp_path / "templates" / "page.html"
    template.write_text("<p>{{ a }}</p>")
    settings.BASE_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    builds = []
    try:
        for change in (
            lambda: None,
            lambda: template.write_text("<p>{{ b }}</p>"),
            lambda: setattr(settings, "SITE_NAME", "Another name"),
            lambda: None,
        ):
            change()
            page_cache.build.cache_clear()
            builds.append(page_cache.build())
    finally:
        page_cache.build.cache_clear()
    assert len(set(builds[:3])) == 3
    assert builds[3] == builds[2]


# --- Whole pages: what every response has of its own, and reasons that lapse ---


def _session_normal(html: str) -> str:
    """`_normal`, and the session notice's moment (it moves with every request)."""
    html = re.sub(r'data-ends-at="\d+"', 'data-ends-at=""', _normal(html))
    return re.sub(r'<time datetime="[^"]+">[^<]+</time>', "<time></time>", html)


def test_a_kept_page_has_this_responses_notice_nonce_and_tokens(world, seen, settings):
    """Served from the cache, every page equals a fresh one but for what is the
    response's own: the session notice (its moment, its path, a token that posts), the
    CSP nonce the header allows, and the tokens."""
    settings.PAGE_CACHE_VERIFY = False
    clinician = world.login(world.clinician)
    visits = [(clinician, url) for url in (*_pages(world), reverse("homework:dashboard"))]
    visits.append((world.login(world.client), reverse("homework:today")))
    for browser, url in visits:
        fresh = browser.get(url)
        hits = {page: _hits(page) for page in PAGES}
        kept = browser.get(url)
        assert kept.status_code == 200
        assert any(_hits(page) == hits[page] + 1 for page in PAGES), url
        html = kept.content.decode()
        assert _session_normal(html) == _session_normal(fresh.content.decode())
        for mark in (page_cache.CSRF_MARK, page_cache.SESSION_MARK, page_cache.NONCE_MARK):
            assert mark not in html
        assert html.count('id="session-timeout"') == 1
        assert f'name="next" value="{url.replace("&", "&amp;")}"' in html
        nonce = re.search(r'nonce="([^"]+)"', html).group(1)
        assert nonce != re.search(r'nonce="([^"]+)"', fresh.content.decode()).group(1)
        assert f"'nonce-{nonce}'" in kept["Content-Security-Policy"]
        notice = html[html.index('id="session-timeout"') :]
        token = _fields(notice)[0]
        stayed = browser.post(
            reverse("accounts:session-keepalive"), {"next": url, "csrfmiddlewaretoken": token}
        )
        assert stayed.status_code == 302


def test_a_page_with_a_message_waiting_shows_it_and_is_not_kept(world, seen, settings):
    settings.PAGE_CACHE_VERIFY = False
    browser = world.login(world.clinician)
    url = reverse("homework:client-detail", args=[world.client.pk])
    browser.get(url)
    saved = browser.post(
        reverse("homework:note-create", args=[world.client.pk]), {"text": "After the session"}
    )
    assert saved.status_code == 302
    before = {result: _value("client_detail", result) for result in ("hit", "skip")}
    shown = browser.get(saved["Location"]).content.decode()
    assert 'class="messages"' in shown
    assert _value("client_detail", "skip") == before["skip"] + 1
    assert _value("client_detail", "hit") == before["hit"]
    # The message was shown once; the next view comes from the cache, without it.
    again = browser.get(saved["Location"]).content.decode()
    assert 'class="messages"' not in again


def _value(page: str, result: str) -> float:
    return page_cache.PAGE_CACHE.labels(page=page, result=result)._value.get()


@pytest.mark.parametrize("reason", ["asked to look", "band rise"])
def test_a_caseload_reason_that_lapses_is_not_served_after_it_lapses(world, seen, reason, settings):
    """Kept until the first moment a reason on it lapses, and not a moment longer: the
    suite's verification renders every hit afresh at the same clock. The reason lapses at
    noon UTC, so one key (each client's day) holds on either side of it."""
    # A session that outlives the clock moving on, so one key holds throughout.
    settings.SESSION_COOKIE_AGE = 60 * 24 * 3600
    settings.SESSION_IDLE_MINUTES_STAFF = settings.SESSION_ABSOLUTE_MINUTES = 60 * 24 * 60
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    lapses = noon + timedelta(days=1)
    if reason == "asked to look":
        told = lapses - timedelta(days=7)
        make_completion(seen, local_today(world.client) - timedelta(days=7), clinician_told_at=told)
        text = "needs attention: asked you to look"
    else:
        measure = make_measure(world.client, instrument="PHQ-9")
        answered = lapses - timedelta(days=14)
        for points, days in ((0, 3), (2, 0)):
            make_measure_response(
                measure=measure,
                answers=dict.fromkeys(range(1, 10), points),
                days_ago=13 + days,
                answered_at=answered - timedelta(days=days),
            )
        text = "needs attention: phq-9 severity band rose"
    browser = world.login(world.clinician)
    url = reverse("homework:dashboard")
    shown = []
    for moment in (lapses - timedelta(seconds=1), lapses, lapses + timedelta(seconds=1)):
        with _clock(moment):
            hits = _hits("dashboard")
            first = browser.get(url).content.decode()
            second = browser.get(url).content.decode()
        assert _hits("dashboard") >= hits + 1
        assert (text in first.lower()) == (text in second.lower())
        shown.append(text in second.lower())
    assert shown == [True, True, False]


def _clock(moment):
    from unittest import mock

    return mock.patch.object(timezone, "now", lambda: moment)


def test_a_handover_offered_and_a_new_reply_show_on_a_kept_caseload(world, seen):
    from homework.services.caseload import handover_offer

    browser = world.login(world.colleague)
    url = reverse("homework:dashboard")
    browser.get(url)
    assert "Handovers waiting" not in browser.get(url).content.decode()
    handover_offer(clinician=world.clinician, client=world.client, to_clinician=world.colleague)
    assert "offers you Alex Client" in browser.get(url).content.decode()
    clinician = world.login(world.clinician)
    clinician.get(url)
    Feedback.objects.create(
        completion=Completion.objects.get(client=world.client),
        clinician=world.clinician,
        from_client=True,
        text="Thank you",
    )
    assert "1 unread reply" in clinician.get(url).content.decode()


def test_a_process_keeps_its_latest_pages_and_shares_every_page(world, seen, settings, monkeypatch):
    """The pages a process kept last are served without the shared cache; any other is
    read from the shared cache (as another process would), and the process's own list
    stays within its bound."""
    settings.PAGE_CACHE_LOCAL_ENTRIES = 2
    page_cache._recent.clear()
    browser = world.login(world.clinician)
    urls = [*_pages(world), reverse("homework:dashboard")]
    for url in urls:
        browser.get(url)
    assert len(page_cache._recent._entries) == 2
    shared_reads = []
    real = page_cache._read_shared
    monkeypatch.setattr(
        page_cache, "_read_shared", lambda key: shared_reads.append(key) or real(key)
    )
    settings.PAGE_CACHE_VERIFY = False
    hits = _hits("client_detail")
    assert REFLECTION in browser.get(urls[0]).content.decode()  # left the process's list
    assert _hits("client_detail") == hits + 1 and len(shared_reads) == 1
    browser.get(urls[0])  # now in it again
    assert len(shared_reads) == 1
    settings.PAGE_CACHE_LOCAL_ENTRIES = 0
    browser.get(urls[1])
    assert not page_cache._recent._entries


def test_the_api_today_is_kept_as_data_and_renewed_by_a_log(world, seen, settings):
    from tests.api.conftest import client_with_token, token_for

    settings.PAGE_CACHE_VERIFY = False
    api = client_with_token(token_for(world.client))
    url = reverse("api:v1:today")
    first = api.get(url)
    hits = _hits("api_today")
    second = api.get(url)
    assert second.status_code == 200 and _hits("api_today") == hits + 1
    assert second.json() == first.json()
    assert list(second.json()) == list(first.json())  # the same keys, in the same order
    # A log made through the API is in the next answer (a new version, a new key).
    other = make_assignment(world.client, make_exercise(title="Kind letter"))
    logged = api.post(
        reverse("api:v1:completion-list"), {"assignment": other.pk, "minutes": 7}, format="json"
    )
    assert logged.status_code == 201
    after = api.get(url).json()
    assert after != second.json()
    assert _hits("api_today") == hits + 1
    for outsider in (None, world.clinician):
        browser = client_with_token(token_for(outsider) if outsider else None)
        assert browser.get(url).status_code in (401, 403)


@pytest.mark.parametrize("case", ["client renamed", "clinic renamed"])
def test_a_write_between_the_views_read_and_the_versions_is_never_served(
    world, seen, case, monkeypatch
):
    """The view reads the client (or the session reads the reader and their clinic)
    before the versions: a write in between must not leave the older page under the
    newer version. The suite's verification renders the second view afresh."""
    if case == "client renamed":
        browser = world.login(world.clinician)
        url = reverse("homework:client-detail", args=[world.client.pk])
        sql = "UPDATE accounts_user SET full_name = 'Alex Renamed' WHERE id = %s"
        params, new = [world.client.pk], "Alex Renamed"
    else:
        browser = world.login(world.client)
        url = reverse("homework:today")
        sql = "UPDATE accounts_clinic SET name = 'Harbour Renamed' WHERE id = %s"
        params, new = [world.clinic.pk], "Harbour Renamed"
    real = page_cache._versions

    def written_first(ids):
        monkeypatch.setattr(page_cache, "_versions", real)
        _raw(sql, params)
        return real(ids)

    monkeypatch.setattr(page_cache, "_versions", written_first)
    first = browser.get(url).content.decode()
    assert new not in first  # made from the rows read before the write
    second = browser.get(url).content.decode()
    assert new in second
