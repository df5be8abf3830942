"""The audit trail: automatic records of clinical writes, append-only, no content, an admin
that only reads and searches, and the client's "who viewed my record" page."""

from datetime import date

import pytest
from django.test import RequestFactory
from django.urls import reverse

from audit.context import request_context
from audit.models import AppendOnlyError, AuditAction, AuditEvent
from audit.services import audit_record
from homework.models import Completion, Feedback
from tests.factories import make_assignment, make_completion, make_exercise

CANARY = "canary-reflection-7f3a: I felt ashamed after the meeting"


def all_audit_text() -> str:
    return " ".join(str(row) for row in AuditEvent.objects.values_list())


def as_request(user, ip: str = "198.51.100.4", agent: str = "Browser/1.0"):
    request = RequestFactory().post("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    request.user = user
    return request_context(request)


def test_it_records_each_write_of_a_clinical_record_with_who_and_where(world):
    with as_request(world.client):
        assignment = make_assignment(world.client)
        completion = make_completion(assignment, date(2026, 1, 6), reflection=CANARY)
        completion.minutes = 9
        completion.save()
    with as_request(world.clinician):
        Feedback.objects.create(completion=completion, clinician=world.clinician, text=CANARY)
        completion.delete()

    rows = list(
        AuditEvent.objects.order_by("id").values_list(
            "actor_id", "action", "object_type", "client_id", "ip_address", "user_agent"
        )
    )
    client, clinician = world.client.pk, world.clinician.pk
    agent, ip = "Browser/1.0", "198.51.100.4"
    assert rows == [
        (client, "create", "homework.assignment", client, ip, agent),
        (client, "create", "homework.completion", client, ip, agent),
        (client, "change", "homework.completion", client, ip, agent),
        (clinician, "create", "homework.feedback", client, ip, agent),
        # Deleting a completion takes its feedback with it: both are recorded.
        (clinician, "delete", "homework.feedback", client, ip, agent),
        (clinician, "delete", "homework.completion", client, ip, agent),
    ]
    assert CANARY not in all_audit_text()
    assert "ashamed" not in all_audit_text()


def test_it_records_background_writes_without_an_actor(world):
    assignment = make_assignment(world.client)
    event = AuditEvent.objects.get(object_id=str(assignment.pk))
    assert (event.actor_id, event.actor_role, event.ip_address) == (None, "", None)


def test_it_records_a_clinics_exercises_but_not_the_built_in_library(world):
    make_exercise(clinic=None, title="Built-in")
    own = make_exercise(clinic=world.clinic, title="Our own")
    assert list(AuditEvent.objects.values_list("object_type", "object_id")) == [
        ("homework.exercise", str(own.pk))
    ]


def test_it_refuses_to_change_or_delete_an_event(world):
    event = audit_record(actor=world.clinician, action=AuditAction.VIEW, target=world.client)
    event.action = AuditAction.DELETE
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="create")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == AuditAction.VIEW


def test_it_refuses_an_unknown_action(world):
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit_record(actor=None, action="peek", target=world.client)


def test_it_keeps_the_user_agent_short(world):
    with as_request(world.clinician, agent="x" * 1000):
        event = audit_record(actor=world.clinician, action="view", target=world.client)
    assert len(event.user_agent) == 200


def test_it_shows_the_trail_to_admins_read_only_and_searchable(world):
    audit_record(actor=world.clinician, action="view", target=world.client, client=world.client)
    audit_record(
        actor=world.colleague, action="view", target=world.other_client, client=world.other_client
    )
    browser = world.login(world.admin)
    changelist = reverse("admin:audit_auditevent_changelist")
    page = browser.get(changelist, {"q": world.client.email})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    by_action = browser.get(changelist, {"action__exact": "view"})
    assert by_action.context["cl"].result_count == 2
    event = AuditEvent.objects.first()
    assert browser.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert browser.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    change = browser.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert change.status_code == 200
    assert 'name="_save"' not in change.content.decode()
    assert (
        browser.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {}).status_code
        == 403
    )
    assert AuditEvent.objects.count() == 2


@pytest.mark.parametrize("who", ["clinician", "client", "stranger_clinician"])
def test_it_keeps_the_trail_from_everyone_but_admins(world, who):
    response = world.login(getattr(world, who)).get(reverse("admin:audit_auditevent_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# --- Who viewed my record ---

RECORD_VIEWS = reverse("audit:record-views")


def test_it_shows_a_client_who_viewed_their_record_and_when(world):
    with as_request(world.clinician):
        audit_record(actor=world.clinician, action="view", target=world.client, client=world.client)
    audit_record(actor=world.admin, action="export", target=world.client, client=world.client)
    # Their own looks, other clients' records and writes are not "views by others".
    audit_record(actor=world.client, action="view", target=world.client, client=world.client)
    audit_record(
        actor=world.clinician, action="view", target=world.other_client, client=world.other_client
    )
    audit_record(actor=world.clinician, action="change", target=world.client, client=world.client)

    page = world.login(world.client).get(RECORD_VIEWS)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<tr>") == 3  # header + two views
    assert "Dana Clinician" in html and "Ada Admin" in html
    assert "Export" in html or "export" in html


def test_it_shows_nothing_of_other_clients_on_the_page(world):
    audit_record(
        actor=world.clinician, action="view", target=world.other_client, client=world.other_client
    )
    html = world.login(world.client).get(RECORD_VIEWS).content.decode()
    assert "No one has viewed your record yet." in html


@pytest.mark.parametrize("who", ["clinician", "admin"])
def test_it_keeps_the_page_for_clients(world, who):
    assert world.login(getattr(world, who)).get(RECORD_VIEWS).status_code == 403


def test_it_sends_anonymous_visitors_to_log_in_from_the_page(world):
    assert world.login(None).get(RECORD_VIEWS)["Location"].startswith("/accounts/login/")


def test_it_reads_the_page_in_constant_queries(world, django_assert_max_num_queries):
    for _ in range(30):
        audit_record(actor=world.clinician, action="view", target=world.client, client=world.client)
    browser = world.login(world.client)
    with django_assert_max_num_queries(6):
        assert browser.get(RECORD_VIEWS).status_code == 200


@pytest.mark.parametrize("ip", ["198.51.100.4", "2001:db8::7"])
def test_a_list_of_views_writes_the_rows_bulk_create_would(world, monkeypatch, ip):
    """audit_record_views has the database make the rows on PostgreSQL: the same rows,
    in the same order, as Django's bulk_create (the path on SQLite)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audit.services import audit_record_views
    from homework.models import Assignment

    request = RequestFactory().get("/", REMOTE_ADDR=ip, HTTP_USER_AGENT="Browser/2.0 <x>")
    request.user = world.clinician
    ids = [world.other_client.pk, world.client.pk, None, world.other_client.pk]
    columns = ["actor_id", "actor_role", "action", "object_type", "object_id", "client_id"]
    columns += ["ip_address", "user_agent"]

    def written() -> list[tuple]:
        rows = list(AuditEvent.objects.order_by("id").values_list(*columns))
        AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)
        return rows

    written()
    with CaptureQueriesContext(connection) as queries:
        assert audit_record_views(request=request, target=Assignment, client_ids=ids) == 2
    assert len(queries) == 1
    assert ("unnest" in queries[0]["sql"]) == (connection.vendor == "postgresql")
    fast = written()
    monkeypatch.setattr("audit.services.connections", {"default": _SQLiteLike()})
    assert audit_record_views(request=request, target=Assignment, client_ids=ids) == 2
    assert fast == written()
    assert [row[5] for row in fast] == [world.other_client.pk, world.client.pk]
    assert fast[0][:4] == (world.clinician.pk, "clinician", "view", "homework.assignment")
    assert audit_record_views(request=request, target=Assignment, client_ids=[None]) == 0


class _SQLiteLike:
    vendor = "sqlite"


# --- A new record and its event in one statement (audit.services.clinical_record_create) ---

COMPLETION_COLUMNS = [field.attname for field in Completion._meta.concrete_fields]
EVENT_COLUMNS = ["actor_id", "actor_role", "action", "object_type", "client_id"]
EVENT_COLUMNS += ["ip_address", "user_agent"]


def _new_log(assignment, day: date, **fields):
    fields.setdefault("minutes", 7)
    return Completion(
        assignment=assignment, client_id=assignment.client_id, local_date=day, **fields
    )


def _written(completion) -> tuple[dict, list[tuple]]:
    """The log as stored (decrypted by its fields) and the events that name it."""
    row = Completion.objects.values(*COMPLETION_COLUMNS).get(pk=completion.pk)
    events = list(
        AuditEvent.objects.filter(object_id=str(completion.pk), object_type="homework.completion")
        .order_by("id")
        .values_list(*EVENT_COLUMNS)
    )
    return row, events


def _one_statement_off(monkeypatch) -> None:
    """The path every other database takes: save() and the post_save receiver."""
    monkeypatch.setattr("audit.services._record_insert", lambda model, vendor: None)


@pytest.mark.parametrize("ip", ["198.51.100.4", "2001:db8::7", None])
def test_a_new_record_and_its_event_are_the_rows_save_writes(world, monkeypatch, ip):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audit.services import clinical_record_create

    assignment = make_assignment(world.client)
    fields = {
        "reflection": CANARY,
        "answers": {"moment": CANARY},
        "reflection_shared": False,
        "distress_before": 7,
    }
    request = RequestFactory().post("/", HTTP_USER_AGENT="Phone/3.0")
    request.META["REMOTE_ADDR"] = ip or "not an address"
    request.user = world.client
    with request_context(request):
        fast = _new_log(assignment, date(2026, 1, 6), **fields)
        with CaptureQueriesContext(connection) as queries:
            clinical_record_create(fast)
        _one_statement_off(monkeypatch)
        slow = _new_log(assignment, date(2026, 1, 7), **fields)
        clinical_record_create(slow)
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 and statements[0].startswith("WITH created AS")
    assert CANARY not in statements[0]  # encrypted on the way in, as save() does
    (fast_row, fast_events), (slow_row, slow_events) = _written(fast), _written(slow)
    assert (fast_row["id"], fast._state.adding, fast._state.db) == (fast.pk, False, "default")
    assert (fast_row["created_at"], fast_row["updated_at"]) == (fast.created_at, fast.updated_at)
    for row in (fast_row, slow_row):
        row.pop("id"), row.pop("local_date"), row.pop("created_at"), row.pop("updated_at")
    assert fast_row == slow_row
    assert fast_row["reflection"] == CANARY and fast_row["answers"] == {"moment": CANARY}
    assert fast_events == slow_events
    assert fast_events == [
        (
            world.client.pk,
            "client",
            "create",
            "homework.completion",
            world.client.pk,
            ip,
            "Phone/3.0",
        )
    ]


def test_a_background_record_has_an_event_without_an_actor(world):
    from audit.services import clinical_record_create

    completion = _new_log(make_assignment(world.client), date(2026, 1, 6))
    clinical_record_create(completion)
    assert _written(completion)[1] == [
        (None, "", "create", "homework.completion", world.client.pk, None, "")
    ]


def test_suppressed_records_write_the_record_alone(world):
    from audit.context import suppress_automatic_records
    from audit.services import clinical_record_create

    completion = _new_log(make_assignment(world.client), date(2026, 1, 6))
    with suppress_automatic_records():
        clinical_record_create(completion)
    assert completion.pk is not None and _written(completion)[1] == []


@pytest.mark.parametrize("one_statement", [True, False])
def test_a_refused_record_writes_nothing_and_the_transaction_goes_on(
    world, monkeypatch, one_statement
):
    from django.db import IntegrityError

    from audit.services import clinical_record_create

    if not one_statement:
        _one_statement_off(monkeypatch)
    assignment = make_assignment(world.client)
    clinical_record_create(_new_log(assignment, date(2026, 1, 6)))
    before = (Completion.objects.count(), AuditEvent.objects.count())
    with pytest.raises(IntegrityError):
        clinical_record_create(_new_log(assignment, date(2026, 1, 6)))  # one a day
    assert (Completion.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_is_one_round_trip_and_a_refusal_leaves_nothing():
    """Where a request writes a log (autocommit): one statement, no BEGIN or COMMIT."""
    from django.db import IntegrityError, connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Clinic, Role
    from audit.services import clinical_record_create
    from tests.conftest import make_client, make_user

    clinic = Clinic.objects.create(name="Harbour Clinic", timezone="Europe/London")
    clinician = make_user("dana@harbour.test", Role.CLINICIAN, clinic)
    assignment = make_assignment(make_client("alex@client.test", clinician))
    completion = _new_log(assignment, date(2026, 1, 6))
    with CaptureQueriesContext(connection) as queries:
        clinical_record_create(completion)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["WITH"]
    assert connection.get_autocommit()
    before = (Completion.objects.count(), AuditEvent.objects.count())
    assert before == (1, AuditEvent.objects.filter(action="create").count())
    with pytest.raises(IntegrityError):
        clinical_record_create(_new_log(assignment, date(2026, 1, 6)))
    assert (Completion.objects.count(), AuditEvent.objects.count()) == before


def test_only_the_audit_trail_listens_to_a_new_log():
    """clinical_record_create writes what save() and its receivers write: it sends no
    post_save. A receiver added for a log would be skipped, so this fails first."""
    from django.db.models.signals import post_save, pre_save

    from audit import signals

    sync, _async = post_save._live_receivers(Completion)
    assert sync == [signals._saved]
    assert pre_save._live_receivers(Completion) == ([], [])
