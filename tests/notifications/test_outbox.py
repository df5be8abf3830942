"""The outbox: write after commit, claim once, send, classify failures, retry, sweep."""

import logging
import smtplib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import services, tasks
from notifications.models import Notification
from tests.conftest import skip_or_fail
from tests.notifications.conftest import make_notification

pytestmark = pytest.mark.django_db

Status = Notification.Status


def refreshed(notification: Notification) -> Notification:
    notification.refresh_from_db()
    return notification


# --- writing and enqueueing -------------------------------------------------------------


def test_it_enqueues_only_after_commit(
    outbox_kind, scripted_mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        notification, created = services.notification_create(
            kind=outbox_kind, to_email="reader@example.test", idempotency_key="k:1"
        )
        assert created is True
        assert refreshed(notification).status == Status.PENDING
        assert mail.outbox == []

    assert len(callbacks) == 1
    assert mail.outbox == []  # nothing left before the commit
    callbacks[0]()  # the commit

    assert [m.to for m in mail.outbox] == [["reader@example.test"]]
    assert refreshed(notification).status == Status.SENT


def test_it_sends_nothing_when_the_transaction_rolls_back(
    outbox_kind, scripted_mail, django_capture_on_commit_callbacks
):
    class Abandon(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Abandon),
        transaction.atomic(),
    ):
        services.notification_create(
            kind=outbox_kind, to_email="reader@example.test", idempotency_key="k:1"
        )
        raise Abandon

    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.exists()


def test_it_writes_one_row_per_idempotency_key(
    outbox_kind, scripted_mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first, created_first = services.notification_create(
            kind=outbox_kind, to_email="reader@example.test", idempotency_key="k:1"
        )
        again, created_again = services.notification_create(
            kind=outbox_kind, to_email="reader@example.test", idempotency_key="k:1"
        )

    assert (created_first, created_again) == (True, False)
    assert first.pk == again.pk
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


# --- claiming and sending ---------------------------------------------------------------


def test_it_lets_only_one_claim_win(outbox_kind):
    notification = make_notification()

    assert services.notification_claim(notification_id=notification.pk) is True
    assert services.notification_claim(notification_id=notification.pk) is False
    assert refreshed(notification).status == Status.SENDING


def test_it_sends_once_when_the_send_runs_twice(outbox_kind, scripted_mail):
    notification = make_notification()

    before = timezone.now()
    tasks.send_notifications([notification.pk])
    tasks.send_notifications([notification.pk])
    services.notifications_send(ids=[notification.pk])

    assert len(mail.outbox) == 1
    notification = refreshed(notification)
    assert notification.status == Status.SENT
    assert notification.attempts == 1
    assert before <= notification.sent_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_it_sends_once_when_two_workers_race_for_the_same_row(outbox_kind, scripted_mail):
    if connection.vendor != "postgresql":
        pytest.skip("a real race needs PostgreSQL's row locking between connections")
    notification = make_notification()
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            services.notifications_send(ids=[notification.pk])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(mail.outbox) == 1
    assert refreshed(notification).status == Status.SENT


def test_it_renders_subject_text_and_html(outbox_kind, scripted_mail):
    notification = make_notification(to_email="reader@example.test")

    services.notifications_send(ids=[notification.pk])

    (message,) = mail.outbox
    assert message.subject == "Reset your Kindwork password"
    assert f"/secret-link-{notification.pk}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f"/secret-link-{notification.pk}/" in html


def test_it_sends_a_batch_over_one_connection(outbox_kind, scripted_mail):
    ids = [make_notification(to_email=f"reader{i}@example.test").pk for i in range(3)]

    report = services.notifications_send(ids=ids)

    assert report.sent == ids
    assert len(mail.outbox) == 3
    assert (scripted_mail.opened, scripted_mail.closed) == (1, 1)


@pytest.mark.parametrize("count", [5, 60, 300])
def test_it_claims_and_records_a_batch_in_a_few_queries_per_claim(
    outbox_kind, scripted_mail, count, django_assert_max_num_queries
):
    if not connection.features.has_select_for_update_skip_locked:
        skip_or_fail("batch claims need skippable row locks (PostgreSQL, DATABASE_URL)")
    ids = [make_notification(to_email=f"reader{i}@example.test").pk for i in range(count)]
    claims = -(-count // services.CLAIM_SIZE)
    records = -(-count // services.RECORD_EVERY) + claims  # each claim's remainder too

    # Per claim: savepoint, lock, mark sending, release; one "mark sent" per
    # RECORD_EVERY rows sent. Nothing per email.
    with django_assert_max_num_queries(4 * claims + records):
        report = services.notifications_send(ids=ids)

    assert report.sent == ids
    assert len(mail.outbox) == count
    rows = Notification.objects.values_list("status", "attempts", "last_error")
    assert set(rows) == {(Status.SENT, 1, "")}
    assert not Notification.objects.filter(sent_at__isnull=True).exists()


def test_a_claim_records_what_has_left_every_few_emails(outbox_kind, scripted_mail):
    """A worker killed mid-claim (no `finally` runs) leaves at most RECORD_EVERY emails
    that left but are still "sending", which the stale-claim sweep would send again."""
    unrecorded: list[int] = []

    def count_unrecorded(messages) -> None:
        recorded = Notification.objects.filter(status=Status.SENT).count()
        unrecorded.append(len(mail.outbox) - recorded)

    scripted_mail.before_send = staticmethod(count_unrecorded)
    count = services.CLAIM_SIZE
    ids = [make_notification(to_email=f"reader{i}@example.test").pk for i in range(count)]

    report = services.notifications_send(ids=ids)

    assert report.sent == ids
    assert len(unrecorded) == count
    assert max(unrecorded) == services.RECORD_EVERY - 1 < count - 1


def test_it_releases_the_rest_of_a_claim_when_the_server_goes_away(outbox_kind, scripted_mail):
    ids = [make_notification(to_email=f"reader{i}@example.test").pk for i in range(3)]
    scripted_mail.open_errors.append(ConnectionRefusedError(111, "Connection refused"))

    report = services.notifications_send(ids=ids)

    assert report.retry_later == ids[:1]
    # Claimed together with the first, never tried: back to pending as if never claimed.
    untried = Notification.objects.filter(pk__in=ids[1:])
    assert set(untried.values_list("status", "attempts", "claimed_at")) == {
        (Status.PENDING, 0, None)
    }
    assert not Notification.objects.filter(status=Status.SENDING).exists()


def test_it_does_not_send_a_row_before_its_next_attempt(outbox_kind, scripted_mail):
    now = timezone.now()
    notification = make_notification(now=now, next_attempt_at=now + timedelta(minutes=5))

    services.notifications_send(ids=[notification.pk], now=now)

    assert mail.outbox == []
    assert refreshed(notification).status == Status.PENDING


def test_a_claim_locks_by_primary_key_and_takes_only_due_pending_rows(outbox_kind):
    """The lock names the ids alone (a status condition let the planner read every pending
    entry of the status index after a large tick: 120 ms a claim at ten times the
    clients); which rows are claimable is decided on the locked rows."""
    if not connection.features.has_select_for_update_skip_locked:
        skip_or_fail("batch claims need skippable row locks (PostgreSQL, DATABASE_URL)")
    now = timezone.now()
    due = make_notification(to_email="due@example.test", now=now)
    later = make_notification(
        to_email="later@example.test", now=now, next_attempt_at=now + timedelta(minutes=5)
    )
    sent = make_notification(to_email="sent@example.test", now=now, status=Status.SENT)
    failed = make_notification(to_email="failed@example.test", now=now, status=Status.FAILED)
    sending = make_notification(
        to_email="sending@example.test", now=now, status=Status.SENDING, claimed_at=now
    )
    ids = [sent.pk, later.pk, due.pk, failed.pk, sending.pk]

    with CaptureQueriesContext(connection) as queries:
        claimed = services.notifications_claim(ids=ids, now=now)

    assert [row.pk for row in claimed] == [due.pk]
    (lock,) = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    where = lock.split(" WHERE ", 1)[1]
    assert '"status"' not in where and '"next_attempt_at"' not in where
    states = dict(Notification.objects.values_list("pk", "status"))
    assert states == {
        due.pk: Status.SENDING,
        later.pk: Status.PENDING,
        sent.pk: Status.SENT,
        failed.pk: Status.FAILED,
        sending.pk: Status.SENDING,
    }
    assert refreshed(sending).claimed_at == now  # another worker's claim is left alone


def test_it_leaves_rows_pending_when_the_time_budget_is_spent(outbox_kind, scripted_mail):
    ids = [make_notification(to_email=f"reader{i}@example.test").pk for i in range(2)]

    report = services.notifications_send(ids=ids, budget_seconds=-1)

    assert report.unattempted == ids
    assert mail.outbox == []
    assert set(Notification.objects.values_list("status", "attempts")) == {(Status.PENDING, 0)}


# --- failures ---------------------------------------------------------------------------


def test_it_retries_a_transient_failure_and_then_sends(outbox_kind, scripted_mail):
    created = timezone.now() - timedelta(hours=3)
    notification = make_notification(now=created)
    scripted_mail.send_errors.append(
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    )

    report = services.notifications_send(ids=[notification.pk], now=created)

    assert report.retry_later == [notification.pk]
    notification = refreshed(notification)
    assert notification.status == Status.PENDING
    assert notification.attempts == 1
    assert notification.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert notification.next_attempt_at == created + services.RETRY_BACKOFF[0]
    assert mail.outbox == []

    # Not due yet: a duplicate task does nothing.
    services.notifications_send(ids=[notification.pk], now=created + timedelta(seconds=30))
    assert mail.outbox == []

    # Once due, the sweep publishes it and the task sends it.
    assert tasks.sweep_pending() == 1
    assert len(mail.outbox) == 1
    notification = refreshed(notification)
    assert notification.status == Status.SENT
    assert notification.attempts == 2
    assert notification.last_error == ""


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPResponseException(421, b"4.3.2 Service not available, closing channel"),
        smtplib.SMTPSenderRefused(451, b"4.3.0 Try again later", "no-reply@kindwork.test"),
        smtplib.SMTPDataError(452, b"4.3.1 Insufficient system storage"),
        smtplib.SMTPRecipientsRefused({"reader@example.test": (450, b"4.2.1 Mailbox busy")}),
        TimeoutError("timed out"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_it_treats_4xx_replies_and_network_errors_as_transient(outbox_kind, scripted_mail, error):
    notification = make_notification()
    scripted_mail.send_errors.append(error)

    services.notifications_send(ids=[notification.pk])

    notification = refreshed(notification)
    assert notification.status == Status.PENDING
    assert notification.attempts == 1
    assert notification.last_error.startswith(type(error).__name__)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            smtplib.SMTPRecipientsRefused({"reader@example.test": (550, b"5.1.1 No such user")}),
            "SMTPRecipientsRefused: 550 5.1.1 No such user",
        ),
        (
            smtplib.SMTPDataError(554, b"5.7.1 Message rejected as spam"),
            "SMTPDataError: 554 5.7.1 Message rejected as spam",
        ),
        (
            smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "no-reply@kindwork.test"),
            "SMTPSenderRefused: 553 5.7.1 Sender not allowed",
        ),
    ],
    ids=["recipient-550", "data-554", "sender-553"],
)
def test_it_records_a_permanent_failure(outbox_kind, scripted_mail, error, reason):
    notification = make_notification()
    scripted_mail.send_errors.append(error)

    report = services.notifications_send(ids=[notification.pk])

    assert report.failed == [notification.pk]
    notification = refreshed(notification)
    assert notification.status == Status.FAILED
    assert notification.attempts == 1
    assert notification.last_error == reason
    # Nothing retries a permanent failure.
    later = timezone.now() + timedelta(days=1)
    assert services.notifications_due_ids(now=later) == []


def test_it_fails_permanently_when_the_builder_says_so(outbox_kind, scripted_mail, monkeypatch):
    def withdrawn(notification: Notification) -> dict:
        raise services.PermanentSendError("The invitation is no longer open.")

    services.register_kind(
        outbox_kind, template_prefix="emails/password_reset", build_context=withdrawn
    )
    notification = make_notification()

    services.notifications_send(ids=[notification.pk])

    notification = refreshed(notification)
    assert notification.status == Status.FAILED
    assert notification.last_error == "PermanentSendError: The invitation is no longer open."
    assert scripted_mail.opened == 0  # failed before connecting to anything


def test_it_fails_a_kind_with_no_templates(scripted_mail):
    notification = make_notification(kind="never_registered")

    services.notifications_send(ids=[notification.pk])

    notification = refreshed(notification)
    assert notification.status == Status.FAILED
    assert "never_registered" in notification.last_error


def test_it_fails_after_max_attempts_with_the_last_error(outbox_kind, scripted_mail):
    now = timezone.now() - timedelta(days=1)
    notification = make_notification(now=now)

    for attempt in range(1, services.MAX_ATTEMPTS + 1):
        scripted_mail.send_errors.append(
            smtplib.SMTPDataError(451, f"4.7.1 Greylisted, attempt {attempt}".encode())
        )
        report = services.notifications_send(ids=[notification.pk], now=now)
        notification = refreshed(notification)
        assert notification.attempts == attempt
        if attempt < services.MAX_ATTEMPTS:
            assert report.retry_later == [notification.pk]
            assert notification.next_attempt_at == now + services.RETRY_BACKOFF[attempt - 1]
            now = notification.next_attempt_at

    assert notification.status == Status.FAILED
    assert notification.last_error == (
        f"SMTPDataError: 451 4.7.1 Greylisted, attempt {services.MAX_ATTEMPTS}"
    )
    assert mail.outbox == []


def test_it_stops_the_batch_when_the_mail_server_cannot_be_reached(outbox_kind, scripted_mail):
    first = make_notification(to_email="first@example.test")
    second = make_notification(to_email="second@example.test")
    scripted_mail.open_errors.append(ConnectionRefusedError(111, "Connection refused"))

    report = services.notifications_send(ids=[first.pk, second.pk])

    assert report.retry_later == [first.pk]
    first, second = refreshed(first), refreshed(second)
    assert (first.status, first.attempts) == (Status.PENDING, 1)
    assert first.last_error == "ConnectionRefusedError: [Errno 111] Connection refused"
    # Not this message's fault, and not the next one's either: it waits, untouched.
    assert (second.status, second.attempts, second.last_error) == (Status.PENDING, 0, "")


def test_it_treats_a_refused_login_as_transient(outbox_kind, scripted_mail):
    # A 535 at login is our configuration, not the message: fixing it must not
    # leave every email of the outage failed.
    notification = make_notification()
    scripted_mail.open_errors.append(
        smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")
    )

    services.notifications_send(ids=[notification.pk])

    notification = refreshed(notification)
    assert notification.status == Status.PENDING
    assert notification.last_error == (
        "SMTPAuthenticationError: 535 5.7.8 Authentication credentials invalid"
    )


def test_it_reconnects_after_a_transient_failure_mid_batch(outbox_kind, scripted_mail):
    first = make_notification(to_email="first@example.test")
    second = make_notification(to_email="second@example.test")
    scripted_mail.send_errors.append(smtplib.SMTPServerDisconnected("Connection closed"))

    report = services.notifications_send(ids=[first.pk, second.pk])

    assert (report.retry_later, report.sent) == ([first.pk], [second.pk])
    assert [m.to for m in mail.outbox] == [["second@example.test"]]
    assert scripted_mail.opened == 2


def test_it_never_puts_message_content_in_last_error_or_the_log(outbox_kind, scripted_mail, caplog):
    def leaky(notification: Notification) -> dict:
        # An exception whose text carries what the email would have said.
        raise RuntimeError(f"could not render /secret-link-{notification.pk}/")

    services.register_kind(
        outbox_kind, template_prefix="emails/password_reset", build_context=leaky
    )
    notification = make_notification()

    with caplog.at_level(logging.INFO, logger="notifications"):
        services.notifications_send(ids=[notification.pk])

    notification = refreshed(notification)
    assert notification.status == Status.PENDING  # unknown errors may pass later
    assert notification.last_error.startswith("RuntimeError at test_outbox.py:")
    assert "secret-link" not in notification.last_error
    # One warning, naming the row and the error's place, never what it said.
    retry_at = notification.next_attempt_at.isoformat(timespec="seconds")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            f"Notification {notification.pk} attempt 1 failed, retrying at {retry_at}: "
            f"{notification.last_error}",
        )
    ]
    assert "secret-link" not in caplog.text


def test_it_keeps_the_smtp_reply_but_not_the_email_in_last_error(outbox_kind, scripted_mail):
    notification = make_notification()
    scripted_mail.send_errors.append(smtplib.SMTPDataError(451, b"4.3.0 Temporary failure"))

    services.notifications_send(ids=[notification.pk])

    last_error = refreshed(notification).last_error
    assert last_error == "SMTPDataError: 451 4.3.0 Temporary failure"
    assert "secret-link" not in last_error
    assert "Reset your" not in last_error


# --- the sweep --------------------------------------------------------------------------


def test_it_sweeps_pending_rows_whose_publish_was_lost(outbox_kind, scripted_mail):
    now = timezone.now()
    lost = make_notification(to_email="lost@example.test", now=now - timedelta(minutes=10))
    retry_due = make_notification(
        to_email="retry-due@example.test",
        now=now - timedelta(hours=1),
        attempts=1,
        next_attempt_at=now - timedelta(seconds=1),
    )
    make_notification(to_email="fresh@example.test", now=now - timedelta(seconds=30))
    make_notification(
        to_email="retry-later@example.test",
        now=now - timedelta(hours=1),
        attempts=1,
        next_attempt_at=now + timedelta(minutes=3),
    )
    make_notification(to_email="sent@example.test", now=now - timedelta(hours=1), status="sent")
    make_notification(to_email="failed@example.test", now=now - timedelta(hours=1), status="failed")

    assert services.notifications_due_ids(now=now) == [lost.pk, retry_due.pk]

    assert tasks.sweep_pending() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["lost@example.test", "retry-due@example.test"]


def test_it_sweeps_claims_abandoned_by_a_dead_worker(outbox_kind, scripted_mail):
    now = timezone.now()
    abandoned = make_notification(
        to_email="abandoned@example.test",
        now=now - timedelta(hours=1),
        status="sending",
        claimed_at=now - services.STALE_CLAIM_AFTER - timedelta(minutes=1),
    )
    in_progress = make_notification(
        to_email="in-progress@example.test",
        now=now - timedelta(hours=1),
        status="sending",
        claimed_at=now - timedelta(minutes=1),
    )

    assert tasks.sweep_pending() == 1

    assert [m.to for m in mail.outbox] == [["abandoned@example.test"]]
    abandoned = refreshed(abandoned)
    assert abandoned.status == Status.SENT
    assert abandoned.attempts == 2  # the lost attempt counts
    assert refreshed(in_progress).status == Status.SENDING


def test_it_fails_a_claim_abandoned_on_its_last_attempt(outbox_kind, scripted_mail):
    now = timezone.now()
    notification = make_notification(
        now=now - timedelta(hours=2),
        status="sending",
        attempts=services.MAX_ATTEMPTS - 1,
        claimed_at=now - services.STALE_CLAIM_AFTER - timedelta(minutes=1),
    )

    services.notifications_sweep(now=now)

    notification = refreshed(notification)
    assert notification.status == Status.FAILED
    assert notification.attempts == services.MAX_ATTEMPTS
    assert notification.last_error == "Worker stopped while sending"
    assert mail.outbox == []


# --- admin retry (service) --------------------------------------------------------------


def test_it_retries_only_failed_rows(
    outbox_kind, scripted_mail, django_capture_on_commit_callbacks
):
    failed = make_notification(
        to_email="failed@example.test", status="failed", attempts=5, last_error="x"
    )
    sent = make_notification(to_email="sent@example.test", status="sent", attempts=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.notification_retry(notification_id=failed.pk) is True
        assert services.notification_retry(notification_id=sent.pk) is False

    assert [m.to for m in mail.outbox] == [["failed@example.test"]]
    failed = refreshed(failed)
    assert (failed.status, failed.attempts, failed.last_error) == (Status.SENT, 1, "")
    assert refreshed(sent).attempts == 1
