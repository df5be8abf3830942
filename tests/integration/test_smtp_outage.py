"""The mail relay down for longer than every retry, with a real worker and a real relay.

A private SMTP sink is stopped before the emails are written and started again, on the
same port, only after every attempt has failed. The rows must end failed, be listed as
failed in the admin's delivery log, and, once the admin retries them, each email must
arrive exactly once (a second retry, and a further sweep, send nothing more).

The back-off between attempts (minutes to an hour) is let pass by moving each row's
next attempt time to now, as the clock would; the sweep that then publishes the rows
runs in the worker, sent through the broker as beat would send it.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import invitation_create
from notifications import services, tasks
from notifications.models import Notification
from tests.integration.conftest import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

Status = Notification.Status
CHANGELIST = reverse("admin:notifications_notification_changelist")
ADDRESSES = [f"patient.{number}@example.test" for number in range(3)]


def _rows():
    return Notification.objects.filter(to_email__in=ADDRESSES)


def _all_rows(status: str, attempts: int) -> bool:
    rows = list(_rows().values_list("status", "attempts"))
    return len(rows) == len(ADDRESSES) and all(row == (status, attempts) for row in rows)


def _attempts() -> int:
    return sum(_rows().values_list("attempts", flat=True))


def _sweeps_done(worker) -> int:
    return len(re.findall(r"notifications\.tasks\.sweep_pending\[[^\]]+\] succeeded", worker.log()))


def test_emails_failed_through_a_long_relay_outage_are_retried_by_the_admin_and_sent_once(
    world, smtp_sink, celery_worker
):
    worker = celery_worker(smtp=smtp_sink)
    port = smtp_sink.port
    smtp_sink.stop()  # the relay is down from before the first attempt

    for address in ADDRESSES:
        invitation_create(
            clinic=world.clinic,
            email=address,
            role=Role.CLIENT,
            invited_by=world.clinician,
            clinician=world.clinician,
        )

    # Attempt 1 runs as soon as the rows are written. A send that cannot reach the relay
    # stops its batch (the other rows go back unattempted), so each sweep costs exactly
    # one attempt of one row: the sweeps go on until every row has spent all of its own.
    wait_until(lambda: _all_rows(Status.PENDING, 1), timeout=60, interval=0.2)
    sweeps = 0
    while _rows().filter(status=Status.PENDING).exists():
        assert sweeps < len(ADDRESSES) * services.MAX_ATTEMPTS, "the rows never end failed"
        attempts = _attempts()
        _rows().filter(status=Status.PENDING).update(next_attempt_at=timezone.now())
        tasks.sweep_pending.delay()
        sweeps += 1
        wait_until(
            lambda attempts=attempts: (
                _attempts() == attempts + 1 and not _rows().filter(status=Status.SENDING).exists()
            ),
            timeout=60,
            interval=0.2,
        )
    assert _all_rows(Status.FAILED, services.MAX_ATTEMPTS)
    assert smtp_sink.received == []
    for row in _rows():
        assert row.last_error.startswith("ConnectionRefusedError:"), row.last_error

    # The admin sees them failed, with the reason.
    admin = world.login(world.admin)
    page = admin.get(CHANGELIST, {"status__exact": "failed"}).content.decode()
    for address in ADDRESSES:
        assert address in page
    assert page.count('<td class="field-status">Failed</td>') == len(ADDRESSES)
    assert "ConnectionRefusedError" in page

    # The relay comes back on the same address; the admin retries every failed row.
    smtp_sink.start()
    assert smtp_sink.port == port
    ids = list(_rows().values_list("pk", flat=True))
    response = admin.post(
        CHANGELIST, {"action": "retry_failed", "_selected_action": ids}, follow=True
    )
    assert response.status_code == 200
    assert f"{len(ADDRESSES)} email(s) queued again." in response.content.decode()

    received = smtp_sink.wait_for(len(ADDRESSES), timeout=60)
    assert sorted(address for mail in received for address in mail.rcpt_tos) == ADDRESSES
    wait_until(lambda: _all_rows(Status.SENT, 1), timeout=30, interval=0.2)

    # Nothing goes out twice: a second click on the same rows and another sweep send
    # nothing more (the sweep is waited for in the worker's log, not by a sleep).
    again = admin.post(CHANGELIST, {"action": "retry_failed", "_selected_action": ids}, follow=True)
    assert "0 email(s) queued again." in again.content.decode()
    _rows().update(next_attempt_at=timezone.now())
    tasks.sweep_pending.delay()
    sweeps += 1
    wait_until(lambda: _sweeps_done(worker) >= sweeps, timeout=60, interval=0.2)
    assert len(smtp_sink.received) == len(ADDRESSES)
    assert _all_rows(Status.SENT, 1)
    assert worker.process.poll() is None  # the same worker throughout
