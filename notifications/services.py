"""The outbox: write a row, enqueue its id after commit, claim it, send it, record it.

Apps that send email register a *context builder* per kind (see `register_kind`).
The builder runs in the worker at send time and may add things that must never
rest in the database, such as a fresh invitation token. notifications imports
neither accounts nor homework; they import it.
"""

import contextlib
import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Notification

logger = logging.getLogger(__name__)

ContextBuilder = Callable[[Notification], dict]


@dataclass(frozen=True)
class KindSpec:
    template_prefix: str
    build_context: ContextBuilder | None = None
    headers: Callable[[Notification], dict] | None = None


_KINDS: dict[str, KindSpec] = {}

# Transient failures are retried with back-off up to this many attempts in all.
MAX_ATTEMPTS = 5
# A row stuck in "sending" this long belongs to a worker that died mid-send.
STALE_CLAIM_AFTER = timedelta(minutes=15)


class PermanentSendError(Exception):
    """The message can never be delivered as it is (bad address, rejected)."""


def register_kind(
    kind: str,
    *,
    template_prefix: str,
    build_context: ContextBuilder | None = None,
    headers: Callable[[Notification], dict] | None = None,
) -> None:
    """Tell the outbox how to render one kind: templates and an optional context builder."""
    _KINDS[kind] = KindSpec(template_prefix, build_context, headers)


def notification_create(
    *,
    kind: str,
    to_email: str,
    idempotency_key: str,
    recipient_id: int | None = None,
    context: dict | None = None,
) -> tuple[Notification, bool]:
    """Write one outbox row (or return the existing one for the key) and enqueue it after commit.

    Returns (notification, created). Must not be given clinical content in `context`.
    """
    notification, created = Notification.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "kind": kind,
            "to_email": to_email,
            "recipient_id": recipient_id,
            "context": context or {},
        },
    )
    if created:
        notifications_enqueue(ids=[notification.pk])
    return notification, created


def notifications_enqueue(*, ids: Iterable[int]) -> None:
    """Publish send tasks once the surrounding transaction commits.

    A broker outage must not fail the user's request: the rows stay pending and
    the periodic sweep publishes them later.
    """
    ids = list(ids)
    if not ids:
        return
    transaction.on_commit(lambda: _publish(ids))


def _publish(ids: list[int]) -> None:
    from notifications import tasks

    try:
        for chunk_start in range(0, len(ids), 500):
            tasks.send_notifications.delay(ids[chunk_start : chunk_start + 500])
    except Exception:
        # Logged without content; the sweep picks these rows up.
        logger.warning("Broker unavailable; %d notification(s) left for the sweep", len(ids))


def notification_claim(*, notification_id: int, now: datetime | None = None) -> bool:
    """Move a row from pending to sending. True only for the one caller that won."""
    now = now or timezone.now()
    updated = Notification.objects.filter(
        id=notification_id, status=Notification.Status.PENDING
    ).update(status=Notification.Status.SENDING, claimed_at=now)
    return updated == 1


def notifications_send(*, ids: list[int], now: datetime | None = None) -> list[int]:
    """Claim and send each id over one mail connection. Returns ids to retry later."""
    retry: list[int] = []
    claimed = [i for i in ids if notification_claim(notification_id=i, now=now)]
    if not claimed:
        return retry
    rows = Notification.objects.in_bulk(claimed)
    connection = mailers.default
    try:
        connection.open()
        for notification_id in claimed:
            notification = rows[notification_id]
            if not _send_one(notification, connection):
                retry.append(notification_id)
    finally:
        # A connection that broke mid-batch is already as closed as it will get.
        with contextlib.suppress(Exception):
            connection.close()
    return retry


def _send_one(notification: Notification, connection) -> bool:
    """Send one claimed row and record the outcome. False means retry later."""
    attempts = notification.attempts + 1
    try:
        message = notification_render(notification)
        connection.send_messages([message])
    except (PermanentSendError, smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as error:
        _record(notification, Notification.Status.FAILED, attempts, _describe(error))
        logger.error("Notification %s failed permanently", notification.pk)
        return True
    except Exception as error:  # network, timeouts, 4xx: transient
        status = (
            Notification.Status.FAILED if attempts >= MAX_ATTEMPTS else Notification.Status.PENDING
        )
        _record(notification, status, attempts, _describe(error))
        logger.warning("Notification %s attempt %d failed", notification.pk, attempts)
        return status == Notification.Status.PENDING
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.SENT, attempts=attempts, sent_at=timezone.now(), last_error=""
    )
    return True


def _describe(error: Exception) -> str:
    # The error class and SMTP reply only: never the message body.
    return f"{type(error).__name__}: {error}"[:1000]


def _record(notification: Notification, status: str, attempts: int, error: str) -> None:
    Notification.objects.filter(pk=notification.pk).update(
        status=status, attempts=attempts, last_error=error
    )


def notification_render(notification: Notification) -> EmailMultiAlternatives:
    """Build the message from three templates: subject, text and HTML."""
    spec = _KINDS.get(notification.kind)
    if spec is None:
        raise PermanentSendError(f"No templates registered for kind {notification.kind!r}")
    context = {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        **notification.context,
    }
    if spec.build_context:
        context.update(spec.build_context(notification))
    prefix = spec.template_prefix
    subject = render_to_string(f"{prefix}_subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"{prefix}.txt", context)
    html = render_to_string(f"{prefix}.html", context)
    headers = spec.headers(notification) if spec.headers else {}
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to_email],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def notifications_pending_ids(*, now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Rows the sweep should publish again: pending ones, and claims abandoned by a dead worker."""
    now = now or timezone.now()
    stale = Notification.objects.filter(
        status=Notification.Status.SENDING, claimed_at__lt=now - STALE_CLAIM_AFTER
    )
    # A worker killed mid-send may or may not have handed the message to SMTP; we
    # choose to send again rather than drop it (documented in the README).
    stale.update(status=Notification.Status.PENDING)
    return list(
        Notification.objects.filter(status=Notification.Status.PENDING)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def notification_retry(*, notification_id: int) -> bool:
    """Admin action: put a failed row back in the queue."""
    updated = Notification.objects.filter(
        id=notification_id, status=Notification.Status.FAILED
    ).update(status=Notification.Status.PENDING, attempts=0, last_error="")
    if updated:
        notifications_enqueue(ids=[notification_id])
    return bool(updated)
