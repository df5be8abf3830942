"""Reminders for real: a Celery worker process, Redis, PostgreSQL and a local SMTP sink.

Each test starts from the real clock: the client's zone is chosen so that it is
well inside their local day, and their reminder time (00:00) has passed.
"""

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import ClientProfile, User
from clinic.celery import app
from homework.models import Assignment
from homework.schedule import local_date
from notifications import services
from notifications.models import Notification
from outreach.reminders import reminders_create_due
from outreach.tasks import reminders_tick
from tests.factories import make_clients, make_completion, make_daily_plans
from tests.integration.conftest import SmtpSink, free_port, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
Status = Notification.Status


def midday_zone() -> str:
    """A zone where it is now between 01:00 and 23:00, so the local day cannot end mid-test."""
    now = timezone.now()
    for name in ["UTC", "Asia/Tokyo", "America/New_York"]:
        if 1 <= now.astimezone(ZoneInfo(name)).hour < 23:
            return name
    raise AssertionError("no zone in the middle of its day")  # pragma: no cover


def due_clients(clinician: User, count: int) -> list[User]:
    """Clients whose daily practice is due right now, each with one plan."""
    users = make_clients(
        clinician, count, zones=[midday_zone()], reminder_time=clock(0, 0), date_joined=LONG_AGO
    )
    make_daily_plans(users, clinician, start_date=LONG_AGO.date(), created_at=LONG_AGO)
    return users


def publish_tick(queue: str | None = None) -> None:
    """Publish a tick as beat would, over a connection of its own.

    Not the app's producer pool: `use_broker` closes it whenever a worker (re)starts.
    """
    with app.connection_for_write() as broker:
        reminders_tick.apply_async(connection=broker, queue=queue)


def recipients(sink: SmtpSink) -> list[str]:
    return sorted(address for mail in sink.received for address in mail.rcpt_tos)


def settle(sink: SmtpSink, expected: int, *, seconds: float = 2.0) -> None:
    """Wait for `expected` emails, then a little longer to see that no more arrive."""
    sink.wait_for(expected)
    time.sleep(seconds)
    assert len(sink.received) == expected


def test_it_delivers_due_reminders_exactly_once_through_a_real_worker(
    world, smtp_sink, celery_worker
):
    celery_worker(smtp=smtp_sink)
    due = due_clients(world.clinician, 3)
    waiting, done, paused = due
    today = local_date(timezone.now(), done.zone)
    make_completion(Assignment.objects.get(client=done), today)
    ClientProfile.objects.filter(user=paused).update(
        reminders_paused_until=timezone.now() + timedelta(days=2)
    )

    publish_tick()  # as beat would: the worker decides, writes and sends
    settle(smtp_sink, 1)
    publish_tick()  # the next minute's tick finds nothing new
    time.sleep(2)

    (received,) = smtp_sink.received
    assert received.rcpt_tos == [waiting.email]
    assert received.subject == "You have practice waiting"
    assert "/reminders/settings/" in received.message["List-Unsubscribe"]
    # As sent: one link in angle brackets, not folded into encoded words, which mail
    # apps do not decode in this header (notifications.mime.outbox_bytes).
    raw = dict(received.message.raw_items())["List-Unsubscribe"]
    assert raw.startswith("<http") and raw.endswith(">") and "=?" not in raw
    assert received.mail_from == "no-reply@kindwork.localhost"
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    row = Notification.objects.get(kind=Notification.Kind.REMINDER)
    assert (row.status, row.attempts, row.recipient_id) == (Status.SENT, 1, waiting.pk)


def test_it_sends_once_when_ticks_run_at_once_in_three_processes(world, smtp_sink, celery_worker):
    first = celery_worker(smtp=smtp_sink)
    second = celery_worker(smtp=smtp_sink)
    clients = due_clients(world.clinician, 100)
    errors: list[BaseException] = []

    def tick_here() -> None:
        try:
            reminders_create_due()
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    # A tick in each worker (as if two beats ran) and one in this process, all at once.
    here = threading.Thread(target=tick_here)
    publish_tick(first.queue)
    publish_tick(second.queue)
    here.start()
    here.join(timeout=30)

    assert errors == []

    def ticks_succeeded() -> int:
        return sum(
            "outreach.tasks.reminders_tick[" in line and " succeeded in " in line
            for worker in (first, second)
            for line in worker.log().splitlines()
        )

    # Both worker ticks have run to the end (and whatever they wrote has been sent).
    wait_until(lambda: ticks_succeeded() == 2, timeout=45, interval=0.2)
    settle(smtp_sink, len(clients), seconds=3)
    assert recipients(smtp_sink) == sorted(c.email for c in clients)
    assert Notification.objects.filter(status=Status.SENT).count() == len(clients)


# --- A worker killed with SIGKILL while it is talking to the mail server ---


@dataclass
class StallingSink(SmtpSink):
    """An SMTP sink that, while `stall` is set, keeps a client waiting at RCPT TO."""

    stall: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        while self.stall.is_set():
            self.stalled.set()
            await asyncio.sleep(0.05)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def stalling_sink() -> Iterator[StallingSink]:
    sink = StallingSink(port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        sink.stall.clear()
        controller.stop()


def test_it_delivers_once_after_a_worker_is_killed_mid_send(world, stalling_sink, celery_worker):
    first = celery_worker(smtp=stalling_sink)
    (client,) = due_clients(world.clinician, 1)
    stalling_sink.stall.set()

    (notification_id,) = reminders_create_due()  # commits, then publishes to the worker
    assert stalling_sink.stalled.wait(timeout=30), first.log()
    assert Notification.objects.get(pk=notification_id).status == Status.SENDING
    os.killpg(first.process.pid, signal.SIGKILL)  # mid-send: the message is not handed over
    first.process.wait(timeout=10)
    stalling_sink.stall.clear()
    time.sleep(0.5)
    assert stalling_sink.received == []

    # A fresh worker, and a sweep once the abandoned claim is old enough to be stale.
    celery_worker(smtp=stalling_sink)
    Notification.objects.filter(pk=notification_id).update(
        claimed_at=timezone.now() - services.STALE_CLAIM_AFTER - timedelta(minutes=1)
    )
    assert services.notifications_sweep() == 1
    settle(stalling_sink, 1)

    assert recipients(stalling_sink) == [client.email]
    row = Notification.objects.get(pk=notification_id)
    assert row.status == Status.SENT
    assert row.attempts == 2  # the lost attempt counts
    assert reminders_create_due() == []  # and the key still blocks a second reminder


# --- Redis down while a client logs practice and while the tick runs ---


def test_it_loses_nothing_while_redis_is_down(world, smtp_sink, private_redis, celery_worker):
    celery_worker(smtp=smtp_sink, broker_url=private_redis.url())
    practising, waiting = due_clients(world.clinician, 2)
    User.objects.filter(pk=practising.pk).update(timezone=waiting.timezone)
    private_redis.stop()

    # The client logs today's practice: the request neither fails nor hangs.
    assignment = Assignment.objects.get(client=practising)
    started = time.monotonic()
    response = world.login(practising).post(
        reverse("homework:log", args=[assignment.pk]), {"minutes": "7"}
    )
    assert response.status_code == 302, response.content[:500]
    assert time.monotonic() - started < 3.0

    # The tick runs during the outage: it writes the row and returns quickly.
    started = time.monotonic()
    created = reminders_tick.run()
    assert created == 1
    assert time.monotonic() - started < 5.0
    (row,) = Notification.objects.all()
    assert (row.recipient_id, row.status) == (waiting.pk, Status.PENDING)

    private_redis.start()  # the worker reconnects by itself; the sweep publishes the row
    wait_until(
        lambda: services.notifications_sweep(now=timezone.now() + services.SWEEP_GRACE),
        timeout=20,
        interval=1,
    )
    settle(smtp_sink, 1)
    assert recipients(smtp_sink) == [waiting.email]
    row.refresh_from_db()
    assert row.status == Status.SENT
