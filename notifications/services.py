"""The outbox: write a row, enqueue its id after commit, claim it, send it, record it.

Apps that send email register a *context builder* per kind (see `register_kind`).
The builder runs in the worker at send time and may add things that must never
rest in the database, such as a fresh invitation token. A kind that sends in
bulk registers a batch builder instead, called once per claim with all of that
claim's rows of the kind, so its reads cost a few queries per claim rather than
per email. notifications imports neither accounts nor homework; they import it.

The database is the schedule. A row is only ever sent by the one worker whose
conditional UPDATE moved it from pending to sending; a transient failure puts it
back to pending with a later `next_attempt_at`, and the periodic sweep publishes
rows that are due. The broker only carries ids and may lose them without harm.
"""

import contextlib
import logging
import smtplib
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.mime import OutboxMessage
from notifications.models import Notification, PushSubscription
from notifications.push import PushMessage, push_send

logger = logging.getLogger(__name__)

ContextBuilder = Callable[[Notification], dict]
# Per row id: the row's context, or the exception that fails that row alone.
BatchContextBuilder = Callable[[list[Notification]], dict[int, dict | Exception]]
# Extra headers from the row and its full rendering context (so a signed link is made once).
HeadersBuilder = Callable[[Notification, dict], dict]
# When a new row of a kind may first be sent, from its recipient's id and the time now
# (a client's quiet hours): the row waits in the database, not in the broker.
DeliverAt = Callable[[int | None, datetime], datetime]
# Per row id: whose name, colour and logo the email wears (see `register_branding`).
BrandingLookup = Callable[[list[Notification]], dict[int, "EmailBrand"]]


@dataclass(frozen=True)
class EmailBrand:
    """The look of one email: the sender's name (also in the plain text), the accent
    colour of its HTML (#rrggbb, checked by its owner) and a logo as PNG bytes, sent
    inline with the message (a Content-ID part), never fetched from a server."""

    name: str
    accent: str
    logo_png: bytes | None = None


@dataclass(frozen=True)
class PushText:
    """What a kind's push says, the same for everyone: no name, no figure, no text of
    theirs. `url_key` names the built context's absolute URL the notification opens."""

    title: str
    body: str
    url_key: str


@dataclass(frozen=True)
class KindSpec:
    template_prefix: str
    build_context: ContextBuilder | None = None
    headers: HeadersBuilder | None = None
    build_contexts: BatchContextBuilder | None = None
    deliver_at: DeliverAt | None = None
    push: PushText | None = None


_KINDS: dict[str, KindSpec] = {}
_BRANDING: list[BrandingLookup] = []
# Kindwork's own look, for an email whose recipient belongs to no clinic.
DEFAULT_ACCENT = "#1d5c63"  # --accent in static/css/kindwork.css
LOGO_CID = "clinic-logo@kindwork"

# Attempts in all (first send included) before a transiently failing row is failed.
MAX_ATTEMPTS = 5
# Wait after the 1st, 2nd, 3rd and 4th failed attempt: about 80 minutes in all, so a
# short SMTP outage costs a delay, not a lost email. The sweep adds up to its interval.
RETRY_BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=4),
    timedelta(minutes=16),
    timedelta(hours=1),
)
# A row stuck in "sending" this long belongs to a worker that died mid-send (a task
# is killed after CELERY_TASK_TIME_LIMIT, well below this).
STALE_CLAIM_AFTER = timedelta(minutes=15)
# A pending row whose task is simply waiting in the queue is not published again
# until it has been due this long; only lost publishes (broker down) need the sweep.
SWEEP_GRACE = timedelta(minutes=2)
# How long a worker keeps trying to record emails it has sent while the database is away
# (a restart takes seconds), instead of leaving them to be sent again.
SENT_RECORD_PATIENCE = timedelta(seconds=60)
# Ids per task: small enough that one task ends well inside its time limit (250 emails
# take a worker process about a second), large enough that publishing tasks stays a
# small part of a large tick (each publish costs about 1 ms of CPU).
BATCH_SIZE = 250
# Rows claimed, and their contexts built, together: a few queries per claim, not per
# email. A task's whole batch is one claim (5 queries per 250 emails, where claims of
# 20 took 5 per 20).
CLAIM_SIZE = BATCH_SIZE
# Sent rows recorded together, one UPDATE each time: a worker that dies mid-claim leaves
# at most this many sent-but-unrecorded rows for the stale-claim sweep to send twice (its
# other rows in "sending" were never tried, and the sweep sends them once).
RECORD_EVERY = 20


class PermanentSendError(Exception):
    """The message can never be delivered as it is (bad address, withdrawn invitation)."""


class PushDeliveryError(Exception):
    """What the push service answered (status and reason), never the message."""


def register_kind(
    kind: str,
    *,
    template_prefix: str,
    build_context: ContextBuilder | None = None,
    build_contexts: BatchContextBuilder | None = None,
    headers: HeadersBuilder | None = None,
    deliver_at: DeliverAt | None = None,
    push: PushText | None = None,
) -> None:
    """Tell the outbox how to render one kind: templates and an optional context builder.

    `build_contexts` takes a list of rows of the kind and returns, for each row id, its
    context or the exception that fails it (PermanentSendError or ValueError: for good;
    anything else: retried later). If it raises, every row it was given is retried later.
    It is preferred to `build_context` when a kind has both. `deliver_at` delays a
    new row of the kind (quiet hours).
    """
    _KINDS[kind] = KindSpec(
        template_prefix, build_context, headers, build_contexts, deliver_at, push
    )


def register_branding(lookup: BrandingLookup) -> None:
    """Let the app that owns clinics say how each email looks (one lookup, replaced if
    registered again). It gets a claim's email rows together, so it costs a few queries
    per claim; a row it leaves out looks like Kindwork."""
    _BRANDING[:] = [lookup]


def recipient_channels(*, email_wanted: dict[int, bool]) -> dict[int, list[str]]:
    """The channels each recipient is reached on, from whether they want email: push when
    they subscribed a device, email when they want it or have no device (so turning email
    off never leaves them with nothing). One query for the lot."""
    with_devices = set(
        PushSubscription.objects.filter(user_id__in=list(email_wanted))
        .values_list("user_id", flat=True)
        .distinct()
    )
    channels: dict[int, list[str]] = {}
    for recipient_id, wants_email in email_wanted.items():
        chosen = []
        if wants_email or recipient_id not in with_devices:
            chosen.append(Notification.Channel.EMAIL)
        if recipient_id in with_devices:
            chosen.append(Notification.Channel.PUSH)
        channels[recipient_id] = chosen
    return channels


def notification_create(
    *,
    kind: str,
    to_email: str,
    idempotency_key: str,
    recipient_id: int | None = None,
    context: dict | None = None,
    channel: str = Notification.Channel.EMAIL,
    now: datetime | None = None,
) -> tuple[Notification, bool]:
    """Write one outbox row (or return the existing one for the key and channel) and
    enqueue it after commit.

    Returns (notification, created). Must not be given clinical content in `context`.
    """
    now = now or timezone.now()
    spec = _KINDS.get(kind)
    due = spec.deliver_at(recipient_id, now) if spec and spec.deliver_at else now
    notification, created = Notification.objects.get_or_create(
        idempotency_key=idempotency_key,
        channel=channel,
        defaults={
            "kind": kind,
            "to_email": to_email,
            "recipient_id": recipient_id,
            "context": context or {},
            "created_at": now,
            "next_attempt_at": due,
        },
    )
    # A delayed row is published by the periodic sweep once it is due.
    if created and due <= now:
        notifications_enqueue(ids=[notification.pk])
    return notification, created


def notification_create_on_channels(
    *,
    kind: str,
    to_email: str,
    recipient_id: int,
    idempotency_key: str,
    context: dict | None = None,
    email_wanted: bool = True,
    now: datetime | None = None,
) -> list[Notification]:
    """One row per channel that reaches the recipient (`recipient_channels`): the email,
    and a push to their devices when they subscribed one, under one key, so each is
    written once however often this is called. Each row is enqueued after commit as
    `notification_create` does; the kind's `deliver_at` holds every channel alike."""
    channels = recipient_channels(email_wanted={recipient_id: email_wanted})[recipient_id]
    return [
        notification_create(
            kind=kind,
            to_email=to_email,
            recipient_id=recipient_id,
            idempotency_key=idempotency_key,
            context=dict(context or {}),
            channel=channel,
            now=now,
        )[0]
        for channel in channels
    ]


def notifications_enqueue(*, ids: Iterable[int]) -> None:
    """Publish send tasks once the surrounding transaction commits.

    A rolled-back transaction publishes nothing. A broker outage must not fail the
    user's request: the rows stay pending and the periodic sweep publishes them later.
    """
    ids = list(ids)
    if ids:
        transaction.on_commit(lambda: notifications_publish(ids=ids))


def notifications_publish(*, ids: list[int]) -> bool:
    """Hand ids to the broker now, failing fast. False if the broker could not take them."""
    from notifications import tasks

    try:
        tasks.send_notifications_publish(ids=ids, batch_size=BATCH_SIZE)
    except Exception as error:
        # Logged without content; the sweep picks these rows up.
        logger.warning(
            "Broker unavailable (%s); %d notification(s) left for the sweep",
            type(error).__name__,
            len(ids),
        )
        return False
    return True


def notification_claim(*, notification_id: int, now: datetime | None = None) -> bool:
    """Move a due row from pending to sending. True only for the one caller that won."""
    now = now or timezone.now()
    updated = Notification.objects.filter(
        id=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).update(status=Notification.Status.SENDING, claimed_at=now)
    return updated == 1


@dataclass
class SendReport:
    """What one `notifications_send` call did with the ids it was given."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Transient failures, back to pending with a later next_attempt_at.
    retry_later: list[int] = field(default_factory=list)
    # Never claimed because the time budget ran out: still pending, due now.
    unattempted: list[int] = field(default_factory=list)


class _ConnectionFailed(Exception):
    """The mail server could not be reached or refused us: not this message's fault."""


def notifications_send(
    *,
    ids: list[int],
    now: datetime | None = None,
    budget_seconds: float | None = None,
) -> SendReport:
    """Claim and send the ids over one mail connection and record every outcome.

    Rows are claimed CLAIM_SIZE at a time, just before they are sent; each claim's
    contexts are built with one batch builder call per kind, and the sent ones are
    recorded with one UPDATE per RECORD_EVERY: a handful of queries per claim
    instead of several per email. A worker killed mid-batch strands at most one
    claim in "sending", for the stale-claim sweep to send again; of those, at most
    RECORD_EVERY had already left. When the mail
    server cannot be reached the batch stops: the rest stay pending for the sweep
    rather than each spending an attempt on the same outage.
    """
    report = SendReport()
    started = time.monotonic()
    mailer: BaseEmailBackend | None = None
    # One connection pool for the batch's pushes, as one SMTP connection for its emails.
    push_session = requests.Session()
    try:
        for position in range(0, len(ids), CLAIM_SIZE):
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                report.unattempted.extend(ids[position:])
                break
            claimed = notifications_claim(ids=ids[position : position + CLAIM_SIZE], now=now)
            if not claimed:
                continue  # other workers have them, they are done, or not due yet
            contexts = _contexts_build(claimed)
            if mailer is None:
                mailer = mailers.default
            devices = _devices_of(claimed)
            sent: list[int] = []
            try:
                for index, notification in enumerate(claimed):
                    built = contexts[notification.pk]
                    if notification.channel == Notification.Channel.PUSH:
                        outcome = _push_one(
                            notification, built, devices, session=push_session, now=now
                        )
                        getattr(report, outcome).append(notification.pk)
                        continue
                    try:
                        outcome = _send_one(notification, built, mailer, now=now)
                    except _ConnectionFailed:
                        report.retry_later.append(notification.pk)
                        _claims_release(ids=[n.pk for n in claimed[index + 1 :]])
                        return report
                    if outcome == "sent":
                        sent.append(notification.pk)
                        if len(sent) >= RECORD_EVERY:
                            _sent_record(ids=sent)
                            report.sent.extend(sent)
                            sent = []
                        continue
                    getattr(report, outcome).append(notification.pk)
                    if outcome == "retry_later":
                        # Whatever went wrong may have left the connection unusable; the
                        # next message opens a fresh one.
                        _close_quietly(mailer)
            finally:
                _sent_record(ids=sent)
                report.sent.extend(sent)
    finally:
        if mailer is not None:
            _close_quietly(mailer)
        push_session.close()
    return report


def notifications_claim(*, ids: list[int], now: datetime | None = None) -> list[Notification]:
    """Claim the due, pending rows among ids for this worker; the claimed rows, in ids order.

    With row locks that can be skipped (PostgreSQL) this is two queries for the whole
    list: lock what no other worker holds, then mark it sending in the same
    transaction, so two workers never get the same row. Elsewhere (SQLite, one
    writer at a time) each row is claimed by its own conditional UPDATE.
    """
    now = now or timezone.now()
    if not connection.features.has_select_for_update_skip_locked:
        return [
            Notification.objects.get(pk=notification_id)
            for notification_id in ids
            if notification_claim(notification_id=notification_id, now=now)
        ]
    with transaction.atomic():
        # Locked by primary key alone, and the state checked here on the locked (so
        # latest) versions: with status in the WHERE clause the planner, its statistics
        # taken before a tick wrote 400,000 pending rows, combined the primary key with
        # the status index and read every pending entry: 120 ms a claim, 0.24 by id.
        locked = Notification.objects.select_for_update(skip_locked=True).filter(id__in=ids)
        rows = [
            row
            for row in locked
            if row.status == Notification.Status.PENDING and row.next_attempt_at <= now
        ]
        Notification.objects.filter(id__in=[row.pk for row in rows]).update(
            status=Notification.Status.SENDING, claimed_at=now
        )
    order = {notification_id: position for position, notification_id in enumerate(ids)}
    rows.sort(key=lambda row: order[row.pk])
    for row in rows:
        row.status, row.claimed_at = Notification.Status.SENDING, now
    return rows


def _claims_release(*, ids: list[int]) -> None:
    """Put claimed rows that were never tried back to pending, as if never claimed."""
    if ids:
        Notification.objects.filter(id__in=ids, status=Notification.Status.SENDING).update(
            status=Notification.Status.PENDING, claimed_at=None
        )


def _sent_record(*, ids: list[int]) -> None:
    """Mark rows sent, one UPDATE for all; each was claimed by us, so attempts are ours.

    These emails have left: if the database is away (restarted, failed over), keep trying
    for SENT_RECORD_PATIENCE rather than leave the rows in "sending", where the stale-claim
    sweep would send them a second time. Inside a transaction (eager tasks) the error is
    the caller's.
    """
    if not ids:
        return
    deadline = time.monotonic() + SENT_RECORD_PATIENCE.total_seconds()
    while True:
        try:
            Notification.objects.filter(id__in=ids).update(
                status=Notification.Status.SENT,
                attempts=F("attempts") + 1,
                sent_at=timezone.now(),
                last_error="",
            )
            return
        except (OperationalError, InterfaceError) as error:
            if connection.in_atomic_block or time.monotonic() > deadline:
                raise
            logger.warning(
                "Database unavailable (%s) recording %d sent notification(s); trying again",
                type(error).__name__,
                len(ids),
            )
            with contextlib.suppress(DatabaseError):
                connection.close()  # the next attempt connects afresh
            time.sleep(1)


def _close_quietly(mailer: BaseEmailBackend) -> None:
    # A connection that broke mid-conversation is as closed as it will get.
    with contextlib.suppress(Exception):
        mailer.close()


def _send_one(
    notification: Notification,
    built: dict | Exception,
    mailer: BaseEmailBackend,
    *,
    now: datetime | None,
) -> str:
    """Send one claimed row: "sent" (recorded by the caller), "failed" or "retry_later".

    `built` is the row's context from its kind's builder, or the exception that fails it.

    Raises _ConnectionFailed (after recording it) when the server could not be reached.
    """
    attempts = notification.attempts + 1
    if isinstance(built, _BuilderFailed):
        return _record_failure(notification, attempts, built.error, permanent=False, now=now)
    try:
        if isinstance(built, Exception):
            raise built
        message = _message_build(notification, built)
    except Exception as error:
        permanent = isinstance(error, (PermanentSendError, ValueError))
        return _record_failure(notification, attempts, error, permanent=permanent, now=now)
    try:
        mailer.open()
    except Exception as error:
        _record_failure(notification, attempts, error, permanent=False, now=now)
        raise _ConnectionFailed from error
    try:
        mailer.send_messages([message])
    except Exception as error:
        return _record_failure(
            notification, attempts, error, permanent=_is_permanent(error), now=now
        )
    return "sent"  # recorded with the rest of its claim by _sent_record


def _devices_of(claimed: list[Notification]) -> dict[int, list[PushSubscription]]:
    """The subscribed devices of a claim's push recipients, in one query."""
    recipient_ids = {
        row.recipient_id for row in claimed if row.channel == Notification.Channel.PUSH
    }
    devices: dict[int, list[PushSubscription]] = defaultdict(list)
    if recipient_ids:
        for device in PushSubscription.objects.filter(user_id__in=recipient_ids):
            devices[device.user_id].append(device)
    return devices


def _push_one(
    notification: Notification,
    built: dict | Exception,
    devices: dict[int, list[PushSubscription]],
    *,
    session: requests.Session,
    now: datetime | None,
) -> str:
    """Push one claimed row to each of its recipient's devices; "sent", "failed" or
    "retry_later", recorded here.

    A device the push service no longer knows (404/410) is forgotten. When a device
    fails for a while (429, 5xx, unreachable) the row is retried later for the devices
    not reached yet: the ones reached are remembered in the row, so none gets it twice.
    """
    attempts = notification.attempts + 1
    if isinstance(built, _BuilderFailed):
        return _record_failure(notification, attempts, built.error, permanent=False, now=now)
    try:
        if isinstance(built, Exception):
            raise built
        message = _push_message_build(notification, built)
    except Exception as error:
        permanent = isinstance(error, (PermanentSendError, ValueError))
        return _record_failure(notification, attempts, error, permanent=permanent, now=now)
    reached = set(notification.context.get("pushed_to", []))
    targets = [d for d in devices.get(notification.recipient_id, []) if d.pk not in reached]
    if not targets and not reached:
        error = PermanentSendError("No device is subscribed to notifications.")
        return _record_failure(notification, attempts, error, permanent=True, now=now)
    transient: list[str] = []
    refused: list[str] = []
    for device in targets:
        outcome = push_send(
            endpoint=device.endpoint,
            p256dh=device.p256dh,
            auth=device.auth,
            message=message,
            session=session,
        )
        if outcome.delivered:
            reached.add(device.pk)
            PushSubscription.objects.filter(pk=device.pk).update(last_success_at=timezone.now())
        elif outcome.gone:
            PushSubscription.objects.filter(pk=device.pk).delete()
            refused.append(f"{outcome.status or ''} {outcome.reason}, device forgotten".strip())
        elif outcome.transient:
            transient.append(f"{outcome.status or 'unreachable'} {outcome.reason}".strip())
        else:
            refused.append(f"{outcome.status} {outcome.reason}".strip())
    if reached != set(notification.context.get("pushed_to", [])):
        notification.context["pushed_to"] = sorted(reached)
        Notification.objects.filter(pk=notification.pk).update(context=notification.context)
    if transient:
        error = PushDeliveryError("; ".join(transient))
        return _record_failure(notification, attempts, error, permanent=False, now=now)
    if reached:
        _sent_record(ids=[notification.pk])
        return "sent"
    reason = "; ".join(refused)
    error = PushDeliveryError(reason)
    return _record_failure(notification, attempts, error, permanent=True, now=now)


def _push_message_build(notification: Notification, built: dict) -> PushMessage:
    spec = _KINDS[notification.kind]
    if spec.push is None:
        raise PermanentSendError(f"Kind {notification.kind!r} has no notification text")
    context = {**notification.context, **built}
    url = context.get(spec.push.url_key) or settings.SITE_URL + "/"
    return PushMessage(title=spec.push.title, body=spec.push.body, url=url)


def notification_push_message(notification: Notification) -> PushMessage:
    """One push row's message (tests, admin), or raise what keeps it from going out."""
    built = _kind_contexts(notification.kind, [notification])[notification.pk]
    if isinstance(built, _BuilderFailed):
        raise built.error
    if isinstance(built, Exception):
        raise built
    return _push_message_build(notification, built)


def _is_permanent(error: Exception) -> bool:
    """SMTP's own rule: a 5xx reply about this message is final, anything else may pass later.

    Timeouts, dropped connections and 4xx replies (greylisting, mailbox busy, 421
    service unavailable) are transient.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return isinstance(error, (PermanentSendError, ValueError))


def _record_failure(
    notification: Notification,
    attempts: int,
    error: Exception,
    *,
    permanent: bool,
    now: datetime | None,
) -> str:
    description = notification_error_describe(error)
    if permanent or attempts >= MAX_ATTEMPTS:
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.FAILED, attempts=attempts, last_error=description
        )
        logger.error(
            "Notification %s failed after %d attempt(s): %s",
            notification.pk,
            attempts,
            description,
        )
        return "failed"
    next_attempt_at = (now or timezone.now()) + RETRY_BACKOFF[attempts - 1]
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.PENDING,
        attempts=attempts,
        last_error=description,
        next_attempt_at=next_attempt_at,
    )
    logger.warning(
        "Notification %s attempt %d failed, retrying at %s: %s",
        notification.pk,
        attempts,
        next_attempt_at.isoformat(timespec="seconds"),
        description,
    )
    return "retry_later"


def notification_error_describe(error: Exception) -> str:
    """A short reason for the admin and the log, never the message's content.

    SMTP replies and socket errors are the server's words about delivery; any other
    exception may carry rendered text or template context (an invitation link, for
    instance), so only its class and where it was raised are kept.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(
            f"{code} {_reply_text(reply)}" for code, reply in error.recipients.values()
        )
        description = f"SMTPRecipientsRefused: {replies}"
    elif isinstance(error, smtplib.SMTPResponseException):
        description = f"{type(error).__name__}: {error.smtp_code} {_reply_text(error.smtp_error)}"
    elif isinstance(error, (PermanentSendError, PushDeliveryError)):
        description = f"{type(error).__name__}: {error}"
    elif isinstance(error, OSError):
        # Socket errors: "[Errno 111] Connection refused", "timed out", ...
        description = f"{type(error).__name__}: {error}"
    else:
        description = type(error).__name__
        frames = traceback.extract_tb(error.__traceback__)
        if frames:
            description += f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return description[:1000]


def _reply_text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return " ".join(reply.split())


class _BuilderFailed(Exception):
    """A batch builder raised (the database went away, say): no one row's fault, so every
    row it was given is retried later, whatever the error."""

    def __init__(self, error: Exception) -> None:
        super().__init__(type(error).__name__)
        self.error = error


def _contexts_build(notifications: list[Notification]) -> dict[int, dict | Exception]:
    """Every claimed row's context, or what fails it: one builder call per kind in the claim,
    then one branding lookup for the claim's emails."""
    by_kind: dict[str, list[Notification]] = defaultdict(list)
    for notification in notifications:
        by_kind[notification.kind].append(notification)
    contexts: dict[int, dict | Exception] = {}
    for kind, rows in by_kind.items():
        try:
            contexts.update(_kind_contexts(kind, rows))
        except Exception as error:
            failure = _BuilderFailed(error)
            contexts.update((row.pk, failure) for row in rows)
    _brands_add(notifications, contexts)
    return contexts


def _brands_add(notifications: list[Notification], contexts: dict[int, dict | Exception]) -> None:
    """Put each email's brand in its context (`_brand`). A lookup that raises (the database
    went away) fails the rows it was given for a later retry, as a batch builder would."""
    emails = [
        row
        for row in notifications
        if row.channel == Notification.Channel.EMAIL and isinstance(contexts[row.pk], dict)
    ]
    if not emails or not _BRANDING:
        return
    try:
        brands = _BRANDING[0](emails)
    except Exception as error:
        failure = _BuilderFailed(error)
        contexts.update((row.pk, failure) for row in emails)
        return
    for row in emails:
        brand = brands.get(row.pk)
        if brand is not None:
            contexts[row.pk] = {**contexts[row.pk], "_brand": brand}


def _kind_contexts(kind: str, rows: list[Notification]) -> dict[int, dict | Exception]:
    """The contexts of rows of one kind. Raises only what a batch builder itself raised."""
    spec = _KINDS.get(kind)
    if spec is None:
        error = PermanentSendError(f"No templates registered for kind {kind!r}")
        return {row.pk: error for row in rows}
    if spec.build_contexts:
        built = spec.build_contexts(rows)
        missing = _BuilderFailed(LookupError("The batch builder returned nothing for the row"))
        return {row.pk: built.get(row.pk, missing) for row in rows}
    contexts: dict[int, dict | Exception] = {}
    for row in rows:
        try:
            contexts[row.pk] = spec.build_context(row) if spec.build_context else {}
        except Exception as error:
            contexts[row.pk] = error
    return contexts


def notification_render(notification: Notification) -> EmailMultiAlternatives:
    """Build one row's message (admin preview, tests), or raise what keeps it from going out.

    The send path builds a whole claim's contexts at once; this builds a batch of one.
    """
    contexts = _kind_contexts(notification.kind, [notification])
    _brands_add([notification], contexts)
    built = contexts[notification.pk]
    if isinstance(built, _BuilderFailed):
        raise built.error
    if isinstance(built, Exception):
        raise built
    return _message_build(notification, built)


def _message_build(notification: Notification, built: dict) -> EmailMultiAlternatives:
    """The message from three templates (subject, text and HTML) and the built context."""
    spec = _KINDS[notification.kind]
    brand = built.get("_brand") or EmailBrand(name=settings.SITE_NAME, accent=DEFAULT_ACCENT)
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        **notification.context,
        **{key: value for key, value in built.items() if key != "_brand"},
        "brand_name": brand.name,
        "brand_accent": brand.accent,
        "brand_logo_cid": LOGO_CID if brand.logo_png else "",
    }
    prefix = spec.template_prefix
    subject = render_to_string(f"{prefix}_subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"{prefix}.txt", context)
    html = render_to_string(f"{prefix}.html", context)
    headers = spec.headers(notification, context) if spec.headers else {}
    message = OutboxMessage(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to_email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    if brand.logo_png:
        message.inline_images.append((LOGO_CID, brand.logo_png))
    return message


def notifications_release_stale_claims(*, now: datetime | None = None) -> int:
    """Put rows abandoned in "sending" by a dead worker back in the queue.

    The worker may or may not have handed the message to SMTP before it died; we
    send again rather than drop it (at least once, documented in the README). The
    lost attempt counts, so a message that kills its worker every time ends failed
    instead of looping for ever.
    """
    now = now or timezone.now()
    stale = Notification.objects.filter(
        status=Notification.Status.SENDING, claimed_at__lt=now - STALE_CLAIM_AFTER
    )
    reason = "Worker stopped while sending"
    failed = stale.filter(attempts__gte=MAX_ATTEMPTS - 1).update(
        status=Notification.Status.FAILED, attempts=F("attempts") + 1, last_error=reason
    )
    released = stale.update(
        status=Notification.Status.PENDING,
        attempts=F("attempts") + 1,
        last_error=reason,
        next_attempt_at=now,
    )
    return failed + released


def notifications_due_ids(*, now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Pending rows the sweep should publish: lost publishes, and retries whose time has come.

    A row never tried yet was published when it was written, so it gets SWEEP_GRACE
    before it counts as lost; a row waiting for a retry has no task anywhere.
    """
    now = now or timezone.now()
    return list(
        Notification.objects.filter(
            Q(attempts=0, next_attempt_at__lte=now - SWEEP_GRACE)
            | Q(attempts__gt=0, next_attempt_at__lte=now),
            status=Notification.Status.PENDING,
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def notifications_sweep(*, now: datetime | None = None) -> int:
    """The periodic safety net: release stale claims, publish due rows. Returns ids published."""
    now = now or timezone.now()
    notifications_release_stale_claims(now=now)
    ids = notifications_due_ids(now=now)
    if ids and not notifications_publish(ids=ids):
        return 0
    return len(ids)


def notification_retry(*, notification_id: int, now: datetime | None = None) -> bool:
    """Admin action: put a failed row back in the queue with a fresh set of attempts."""
    now = now or timezone.now()
    updated = Notification.objects.filter(
        id=notification_id, status=Notification.Status.FAILED
    ).update(
        status=Notification.Status.PENDING,
        attempts=0,
        last_error="",
        next_attempt_at=now,
        claimed_at=None,
    )
    if updated:
        notifications_enqueue(ids=[notification_id])
    return bool(updated)
