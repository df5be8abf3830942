"""Batch context builders: one call per kind per claim, per-row refusals, and a builder that
fails as a whole retried later without losing a row."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import OperationalError, connection
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.conftest import skip_or_fail
from tests.notifications.conftest import make_notification

pytestmark = pytest.mark.django_db

Status = Notification.Status
BATCH_KIND = "outbox_batch_test"


class BatchBuilder:
    """Records what it was given; refuses rows or fails as a whole on cue."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.refuse: dict[int, Exception] = {}
        self.forget: set[int] = set()
        self.error: Exception | None = None

    def __call__(self, notifications: list[Notification]) -> dict[int, dict | Exception]:
        self.calls.append([notification.pk for notification in notifications])
        if self.error is not None:
            raise self.error
        return {
            notification.pk: self.refuse.get(
                notification.pk, {"reset_path": f"/batch-link-{notification.pk}/"}
            )
            for notification in notifications
            if notification.pk not in self.forget
        }


@pytest.fixture
def batch_builder(outbox_kind) -> BatchBuilder:
    """A second kind, built in batches, next to the conftest's one-at-a-time kind."""
    builder = BatchBuilder()
    services.register_kind(
        BATCH_KIND, template_prefix="emails/password_reset", build_contexts=builder
    )
    return builder


def make_rows(count: int, kind: str = BATCH_KIND) -> list[int]:
    return [
        make_notification(to_email=f"r{i}-{kind}@example.test", kind=kind).pk for i in range(count)
    ]


def refreshed(notification_id: int) -> Notification:
    return Notification.objects.get(pk=notification_id)


def test_it_calls_the_batch_builder_once_per_claim_and_sends_each_row_its_context(
    batch_builder, scripted_mail
):
    ids = make_rows(services.CLAIM_SIZE + 5)

    report = services.notifications_send(ids=ids)

    assert report.sent == ids
    assert batch_builder.calls == [ids[: services.CLAIM_SIZE], ids[services.CLAIM_SIZE :]]
    bodies = {message.to[0]: message.body for message in mail.outbox}
    for notification_id in ids:
        row = refreshed(notification_id)
        assert f"/batch-link-{notification_id}/" in bodies[row.to_email]


@pytest.mark.parametrize("count", [5, 60, 300])
def test_it_claims_builds_and_records_in_a_few_queries_per_claim(
    outbox_kind, scripted_mail, count, django_assert_max_num_queries
):
    if not connection.features.has_select_for_update_skip_locked:
        skip_or_fail("batch claims need skippable row locks (PostgreSQL, DATABASE_URL)")

    def one_query_per_batch(notifications: list[Notification]) -> dict[int, dict]:
        ids = list(
            Notification.objects.filter(pk__in=[n.pk for n in notifications]).values_list(
                "pk", flat=True
            )
        )
        return {pk: {"reset_path": f"/batch-link-{pk}/"} for pk in ids}

    services.register_kind(
        BATCH_KIND, template_prefix="emails/password_reset", build_contexts=one_query_per_batch
    )
    ids = make_rows(count)
    claims = -(-count // services.CLAIM_SIZE)
    records = -(-count // services.RECORD_EVERY) + claims

    # Per claim: savepoint, lock, mark sending, release, the builder's query; a "mark
    # sent" per RECORD_EVERY rows sent.
    with django_assert_max_num_queries(5 * claims + records):
        report = services.notifications_send(ids=ids)

    assert report.sent == ids
    assert len(mail.outbox) == count


def test_it_fails_or_retries_only_the_rows_the_batch_builder_refuses(batch_builder, scripted_mail):
    withdrawn, flaky, fine = make_rows(3)
    now = timezone.now()
    batch_builder.refuse = {
        withdrawn: services.PermanentSendError("The invitation is no longer open."),
        flaky: TimeoutError("the figures took too long"),
    }

    report = services.notifications_send(ids=[withdrawn, flaky, fine], now=now)

    assert (report.failed, report.retry_later, report.sent) == ([withdrawn], [flaky], [fine])
    assert refreshed(withdrawn).status == Status.FAILED
    assert refreshed(withdrawn).last_error == (
        "PermanentSendError: The invitation is no longer open."
    )
    retry = refreshed(flaky)
    assert (retry.status, retry.attempts) == (Status.PENDING, 1)
    assert retry.next_attempt_at == now + services.RETRY_BACKOFF[0]
    assert [message.to for message in mail.outbox] == [[refreshed(fine).to_email]]


def test_it_retries_every_row_of_the_claim_when_the_batch_builder_itself_fails(
    batch_builder, scripted_mail
):
    ids = make_rows(3)
    now = timezone.now()
    batch_builder.error = OperationalError("server closed the connection unexpectedly")

    report = services.notifications_send(ids=ids, now=now)

    # Nothing lost, nothing failed for good, nothing left in "sending": back to pending,
    # with the first back-off, exactly as a transient failure of one row.
    assert report.retry_later == ids
    assert (report.sent, report.failed) == ([], [])
    assert mail.outbox == []
    assert scripted_mail.opened == 0
    rows = Notification.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", "attempts", "next_attempt_at")) == {
        (Status.PENDING, 1, now + services.RETRY_BACKOFF[0])
    }
    assert {error.split(" at ")[0] for error in rows.values_list("last_error", flat=True)} == {
        "OperationalError"
    }

    # The database is back when the retry comes: every row goes out, once.
    batch_builder.error = None
    later = now + services.RETRY_BACKOFF[0]
    assert services.notifications_due_ids(now=later) == ids
    assert services.notifications_send(ids=ids, now=later).sent == ids
    assert services.notifications_send(ids=ids, now=later).sent == []
    assert len(mail.outbox) == 3


def test_it_fails_the_rows_for_good_when_the_batch_builder_fails_on_their_last_attempt(
    batch_builder, scripted_mail
):
    ids = make_rows(2)
    Notification.objects.filter(pk__in=ids).update(attempts=services.MAX_ATTEMPTS - 1)
    batch_builder.error = OperationalError("the database is away")

    report = services.notifications_send(ids=ids)

    assert report.failed == ids
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.FAILED}


def test_it_still_sends_the_other_kinds_of_a_claim_when_one_batch_builder_fails(
    batch_builder, scripted_mail
):
    from tests.notifications.conftest import KIND

    batched = make_rows(2)
    single = make_rows(2, kind=KIND)
    batch_builder.error = OperationalError("the database is away")

    report = services.notifications_send(ids=batched + single)

    assert report.retry_later == batched
    assert report.sent == single
    assert sorted(m.to[0] for m in mail.outbox) == sorted(refreshed(pk).to_email for pk in single)


def test_it_retries_a_row_the_batch_builder_left_out(batch_builder, scripted_mail):
    forgotten, fine = make_rows(2)
    batch_builder.forget = {forgotten}

    report = services.notifications_send(ids=[forgotten, fine])

    assert (report.retry_later, report.sent) == ([forgotten], [fine])
    assert refreshed(forgotten).status == Status.PENDING


def test_it_renders_one_row_with_a_batch_of_one(batch_builder):
    notification = Notification.objects.get(pk=make_rows(1)[0])

    message = services.notification_render(notification)

    assert batch_builder.calls == [[notification.pk]]
    assert f"/batch-link-{notification.pk}/" in message.body


def test_it_raises_a_refusal_when_rendering_one_row(batch_builder):
    notification = Notification.objects.get(pk=make_rows(1)[0])
    batch_builder.refuse = {notification.pk: services.PermanentSendError("Not any more.")}

    with pytest.raises(services.PermanentSendError, match="Not any more"):
        services.notification_render(notification)


def test_it_gives_the_headers_builder_the_built_context(outbox_kind, scripted_mail):
    seen: list[dict] = []

    def headers(notification: Notification, context: dict) -> dict:
        seen.append(context)
        return {"List-Unsubscribe": f"<https://example.test{context['reset_path']}>"}

    services.register_kind(
        BATCH_KIND,
        template_prefix="emails/password_reset",
        build_contexts=BatchBuilder(),
        headers=headers,
    )
    (notification_id,) = make_rows(1)

    services.notifications_send(ids=[notification_id])

    (message,) = mail.outbox
    link = f"/batch-link-{notification_id}/"
    assert message.extra_headers["List-Unsubscribe"] == f"<https://example.test{link}>"
    assert seen[0]["reset_path"] == link
    assert seen[0]["site_name"]  # the whole context, not only what the builder added


def test_it_does_not_send_a_retried_row_before_its_back_off(batch_builder, scripted_mail):
    ids = make_rows(1)
    now = timezone.now()
    batch_builder.error = OperationalError("the database is away")
    services.notifications_send(ids=ids, now=now)
    batch_builder.error = None

    services.notifications_send(ids=ids, now=now + timedelta(seconds=30))

    assert mail.outbox == []
    assert refreshed(ids[0]).status == Status.PENDING
