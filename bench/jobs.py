"""Background jobs at clinic scale: the reminder fan-out and the weekly summaries.

    bench/run jobs [--clients 2000 20000]

Real Celery workers (prefork, on the bench's own queue in Redis) send through SMTP
into a local sink (aiosmtpd, in this process). The database is changed for the run
and put back afterwards: reminder times, quiet hours, pauses and summary opt-ins are
saved in a table of their own (bench_saved_profile) and restored, and the
notifications the run wrote are deleted.

Reminder fan-out, for N clients whose reminder falls in the same minute:
1. Every chosen client's reminder time is set to the current UTC minute on their own
   wall clock (quiet hours and pauses cleared); every other client is paused, so
   the tick has exactly those N clients to consider.
2. The "who is due" step runs once in-process, read-only, under
   CaptureQueriesContext: its queries and time, and the number of reminders due.
3. outreach.tasks.reminders_tick is published to the workers (what beat does) and
   the outbox is polled: time until every reminder is written, and until every one
   is sent and received by the SMTP sink.

Push: every third chosen client has subscribed a device (to a fake push service on
loopback in this process, tests/push_service.py, which answers 201 as a real one does)
and so gets one email and one push per reminder. The workers sign (VAPID) and encrypt
(aes128gcm) every push for real; the figures give emails/s and pushes/s side by side.

Weekly summaries: every client opted in; three ticks at instants of the last Monday
that together make Monday 08:00 pass in every zone of the data set (bench.tasks)
are published at once; time until all are written and sent, and the workers' peak
resident memory (VmHWM of each worker process).
"""

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

POLL_SECONDS = 0.25
# Messages the SMTP floor sends (pre-built, same sink, same number of processes).
FLOOR_MESSAGES = 4000
REMINDER_TIMEOUT = 240
SUMMARY_TIMEOUT = 600


# --- the SMTP sink ----------------------------------------------------------------------


class SmtpSink:
    """Counts the messages it accepts; nothing is stored."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from bench.run import free_port

        self.count = 0
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                with sink._lock:
                    sink.count += 1
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def worker_environment(self, env: dict[str, str], **extra: str) -> dict[str, str]:
        """`env` for a Celery worker that sends its email to this sink."""
        return dict(
            env,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.port),
            EMAIL_USE_TLS="0",
            EMAIL_TIMEOUT="30",
            SITE_URL="http://127.0.0.1:8000",
            **extra,
        )


# --- workers ----------------------------------------------------------------------------


class Workers:
    def __init__(self, env: dict[str, str], concurrency: int) -> None:
        self.log = open(  # noqa: SIM115  (the worker writes here until stop())
            Path(env["KINDWORK_VAR_DIR"]) / "bench-worker.log", "wb"
        )
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/celery"),
                "--app",
                "clinic",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--include",
                "bench.tasks",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        time.sleep(1)

    def pids(self) -> list[int]:
        """The main process and its pool children."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(pid) for pid in children.read_text().split()]
        return pids

    def cpu_seconds(self) -> float:
        """User and system CPU time of the worker and its pool children so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def peak_memory_mb(self) -> dict[int, float]:
        """VmHWM (peak resident set) of each worker process, in MB."""
        peaks = {}
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[pid] = int(line.split()[1]) / 1024
            except FileNotFoundError:
                continue
        return peaks

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the pool children exist (the worker has imported Django and the app)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.pids()) > 1:
                time.sleep(2)
                return
            time.sleep(0.5)
        raise SystemExit("The Celery worker did not start; see its log.")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


# --- saving and restoring the data the run changes --------------------------------------


def profiles_save() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_saved_profile AS SELECT id, reminder_time, "
            "quiet_hours_start, quiet_hours_end, reminders_paused_until, weekly_summary "
            "FROM accounts_clientprofile"
        )


def profiles_restore() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_clientprofile p SET reminder_time = s.reminder_time, "
            "quiet_hours_start = s.quiet_hours_start, quiet_hours_end = s.quiet_hours_end, "
            "reminders_paused_until = s.reminders_paused_until, "
            "weekly_summary = s.weekly_summary FROM bench_saved_profile s WHERE s.id = p.id"
        )


PUSH_SHARE = 3  # one client in this many has subscribed a device


# The fan-out's mixes: (one client in this many has a device or 0 for none, email off).
MODES = {"email only": (0, False), "push only": (1, True), "mixed": (PUSH_SHARE, False)}


def push_devices_arrange(clients: int, endpoint: str, mode: str = "mixed") -> int:
    """Give every n-th of the first `clients` clients a device (MODES); how many got one.
    In "push only" those clients also turn email off, so they get pushes alone."""
    from accounts.models import ClientProfile, User
    from notifications.models import PushSubscription
    from tests.push_service import Browser

    push_devices_clear(endpoint)
    share, email_off = MODES[mode]
    if not share:
        return 0
    chosen = list(
        User.objects.filter(role="client", is_active=True)
        .order_by("id")
        .values_list("id", flat=True)[:clients]
    )[::share]
    if email_off:
        ClientProfile.objects.filter(user_id__in=chosen).update(email_reminders=False)
    browser = Browser()  # one key pair for all: the encryption cost is per message anyway
    PushSubscription.objects.bulk_create(
        [
            PushSubscription(
                user_id=user_id,
                endpoint=f"{endpoint}/push/{user_id}",
                p256dh=browser.p256dh,
                auth=browser.auth,
                label="bench",
            )
            for user_id in chosen
        ],
        batch_size=1000,
    )
    return len(chosen)


def push_devices_clear(endpoint: str) -> None:
    from accounts.models import ClientProfile
    from notifications.models import PushSubscription

    PushSubscription.objects.filter(endpoint__startswith=endpoint + "/").delete()
    # Only the push-only mix turns email off (the data set has it on for everyone).
    ClientProfile.objects.filter(email_reminders=False).update(email_reminders=True)


def notifications_clear() -> None:
    from notifications.models import Notification

    Notification.objects.filter(
        kind__in=[
            Notification.Kind.REMINDER,
            Notification.Kind.QUESTIONNAIRE_REMINDER,
            Notification.Kind.WEEKLY_CLIENT,
            Notification.Kind.WEEKLY_CLINICIAN,
        ]
    ).delete()


def queue_purge() -> None:
    from clinic.celery import app

    with app.connection_for_write() as connection:
        app.control.purge(connection=connection)


# --- reminder fan-out -------------------------------------------------------------------


@dataclass
class FanoutResult:
    mode: str
    clients: int
    reminders: int
    decide_queries: int
    decide_seconds: float
    written_seconds: float | None
    sent_seconds: float | None
    received: int
    failed: int
    worker_cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.received / self.sent_seconds if self.sent_seconds else 0.0

    pushes: int = 0
    pushed: int = 0
    emails_seconds: float | None = None
    pushes_seconds: float | None = None

    @property
    def emails_per_second(self) -> float | None:
        if not (self.emails_seconds and self.received):
            return None
        return self.received / self.emails_seconds

    @property
    def pushes_per_second(self) -> float | None:
        if not (self.pushes_seconds and self.pushed):
            return None
        return self.pushed / self.pushes_seconds


def reminders_arrange(clients: int, minute: datetime) -> None:
    """The first `clients` clients get a reminder at `minute` (UTC) on their own wall clock."""
    from django.db import connection

    profiles_restore()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH chosen AS (
                SELECT id FROM accounts_user WHERE role = 'client' AND is_active
                ORDER BY id LIMIT %s
            )
            UPDATE accounts_clientprofile p SET
                reminder_time = CASE WHEN p.user_id IN (SELECT id FROM chosen)
                    THEN (%s::timestamptz AT TIME ZONE u.timezone)::time ELSE p.reminder_time END,
                quiet_hours_start = NULL, quiet_hours_end = NULL,
                reminders_paused_until = CASE WHEN p.user_id IN (SELECT id FROM chosen)
                    THEN NULL ELSE %s::timestamptz END
            FROM accounts_user u WHERE u.id = p.user_id
            """,
            [clients, minute, minute + timedelta(days=30)],
        )
    churned_tables_vacuum()


def churned_tables_vacuum() -> None:
    """What autovacuum does between a clinic's ticks (it is off on the bench machine).

    Every run rewrites the profiles and deletes the last run's outbox; without this each
    run starts with millions more dead rows than the one before (at 10x, 4 million in
    the profiles after three runs, and "who is due" twice as slow).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounts_clientprofile, notifications_notification")


def reminders_decide(now: datetime) -> tuple[list, int, float]:
    """The read-only "who is due" step as the tick runs it: (reminders, queries, seconds)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from outreach import reminders

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        due = reminders.reminders_due(now=now)
    return due, len(queries), time.perf_counter() - started


def outbox_counts(kinds: list[str]) -> tuple[int, int, int]:
    """(written, sent, failed) rows of these kinds."""
    from django.db.models import Count, Q

    from notifications.models import Notification

    figures = Notification.objects.filter(kind__in=kinds).aggregate(
        written=Count("id"),
        sent=Count("id", filter=Q(status=Notification.Status.SENT)),
        failed=Count("id", filter=Q(status=Notification.Status.FAILED)),
    )
    return figures["written"], figures["sent"], figures["failed"]


def channel_done(kinds: list[str], channel: str) -> bool:
    """Whether every row of these kinds on this channel is sent or failed."""
    from notifications.models import Notification

    return not Notification.objects.filter(
        kind__in=kinds,
        channel=channel,
        status__in=[Notification.Status.PENDING, Notification.Status.SENDING],
    ).exists()


def wait_for_outbox(
    kinds: list[str],
    expected: int,
    sink: SmtpSink,
    started: float,
    timeout: float,
    channel_times: dict[str, float] | None = None,
) -> tuple[float | None, float | None, int]:
    """Poll until `expected` rows are written and all are sent or failed. With
    `channel_times`, note when each channel's rows were all done."""
    written_at = sent_at = None
    failed = 0
    last_report = 0.0
    while time.monotonic() - started < timeout:
        written, sent, failed = outbox_counts(kinds)
        now = time.monotonic()
        if written_at is None and written >= expected:
            written_at = now - started
        if written_at is not None and channel_times is not None:
            for channel in ("email", "push"):
                if channel not in channel_times and channel_done(kinds, channel):
                    channel_times[channel] = now - started
        if written_at is not None and sent + failed >= expected:
            sent_at = now - started
            break
        if now - last_report > 10:
            print(
                f"      t={now - started:5.1f} s: {written} written, {sent} sent, "
                f"{failed} failed, {sink.count} received",
                flush=True,
            )
            last_report = now
        time.sleep(POLL_SECONDS)
    return written_at, sent_at, failed


def reminders_fanout(
    clients: int, sink: SmtpSink, push: Any, mode: str = "mixed", workers: "Workers | None" = None
) -> FanoutResult:
    from notifications.models import Notification, PushSubscription
    from outreach.tasks import reminders_tick

    notifications_clear()
    received_before = sink.count
    pushed_before = len(push.received)
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    reminders_arrange(clients, minute)
    push_devices_arrange(clients, push.origin, mode)
    due_reminders, queries, seconds = reminders_decide(datetime.now(UTC))
    due = len(due_reminders)
    # Clients with a device get a push (and an email, unless they turned it off).
    with_device = set(
        PushSubscription.objects.filter(
            user_id__in=[reminder.client_id for reminder in due_reminders]
        ).values_list("user_id", flat=True)
    )
    pushes = sum(1 for reminder in due_reminders if reminder.client_id in with_device)
    emails = due - pushes if MODES[mode][1] else due
    print(
        f"    {clients} clients, {mode}: {due} reminders due, {emails} emails and "
        f"{pushes} pushes; "
        f"'who is due' took {queries} queries, "
        f"{seconds:.2f} s (in-process, read-only)",
        flush=True,
    )
    cpu_before = workers.cpu_seconds() if workers else 0.0
    started = time.monotonic()
    reminders_tick.apply_async()
    channel_times: dict[str, float] = {}
    kinds = [Notification.Kind.REMINDER]
    written_at, sent_at, failed = wait_for_outbox(
        kinds, emails + pushes, sink, started, REMINDER_TIMEOUT, channel_times
    )
    worker_cpu = (workers.cpu_seconds() - cpu_before) if workers else 0.0
    # The next tick finds everything written: what every later minute of the day costs.
    _due_again, idle_queries, idle_seconds = reminders_decide(datetime.now(UTC))
    print(
        f"    the next tick, with all {due} written: {idle_queries} queries, "
        f"{idle_seconds:.2f} s to decide that nothing is due",
        flush=True,
    )
    return FanoutResult(
        mode=mode,
        clients=clients,
        reminders=due,
        decide_queries=queries,
        decide_seconds=seconds,
        written_seconds=written_at,
        sent_seconds=sent_at,
        received=sink.count - received_before,
        failed=failed,
        worker_cpu_seconds=worker_cpu,
        pushes=pushes,
        pushed=len(push.received) - pushed_before,
        emails_seconds=channel_times.get("email"),
        pushes_seconds=channel_times.get("push"),
    )


# --- the SMTP floor -----------------------------------------------------------------------


def _floor_sender(port: int, count: int, message: bytes) -> None:
    """Send `count` copies of a pre-built message, 20 per connection, as the outbox does."""
    import smtplib

    sent = 0
    while sent < count:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for _ in range(min(20, count - sent)):
                smtp.sendmail("no-reply@kindwork.localhost", ["client@bench.test"], message)
                sent += 1


def smtp_floor(sink: SmtpSink, processes: int, messages: int) -> float:
    """Messages per second that `processes` processes reach sending pre-built messages over
    the same kind of connections to the same sink: what delivery is compared with."""
    from concurrent.futures import ProcessPoolExecutor
    from email.policy import SMTP

    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    # A reminder's text and HTML parts, built once: the floor pays for sending only.
    context = {"name": "Bench Client", "url": "http://127.0.0.1:8000/portal/" + "x" * 40}
    email = EmailMultiAlternatives(
        subject="You have practice waiting",
        body=render_to_string("emails/reminder.txt", context),
        to=["client@bench.test"],
    )
    email.attach_alternative(render_to_string("emails/reminder.html", context), "text/html")
    # CRLF line ends, as Django's SMTP backend sends (policy SMTP): smtplib sends bytes as
    # they are, and bare LFs make the whole message one line, which the sink refuses
    # ("Line too long") once the message passes 1,000 bytes.
    message = email.message(policy=SMTP).as_bytes()
    received_before = sink.count
    started = time.monotonic()
    with ProcessPoolExecutor(processes) as pool:
        share = [messages // processes + (i < messages % processes) for i in range(processes)]
        list(pool.map(_floor_sender, [sink.port] * processes, share, [message] * processes))
    elapsed = time.monotonic() - started
    assert sink.count - received_before == messages, "the sink lost messages"
    return messages / elapsed


# --- weekly summaries -------------------------------------------------------------------


def summary_instants(today: datetime) -> list[datetime]:
    """Instants of the last whole Monday (UTC) at which Monday 08:00 has passed in every zone.

    00:00 UTC: UTC+8 and east; 04:00 UTC: UTC+4 and east (India, Nepal); 19:00 UTC:
    UTC+4:59 to UTC-11 (Europe, Africa, the Americas, Hawaii).
    """
    monday = (today - timedelta(days=today.weekday() + 7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return [monday, monday + timedelta(hours=4), monday + timedelta(hours=19)]


def summaries_expected(instants: list[datetime]) -> int:
    """How many summaries the ticks will write (the same selection, counted in-process)."""
    from accounts.models import User
    from outreach import summaries
    from outreach.reminders import CHUNK_SIZE

    names = list(User.objects.order_by().values_list("timezone", flat=True).distinct())
    keys = set()
    for now in instants:
        zones = summaries.summary_weeks_due(zone_names=names, now=now)
        if not zones:
            continue
        for rows in summaries._recipient_chunks(zones=zones, now=now, chunk_size=CHUNK_SIZE):
            keys.update((row["id"], zones[row["timezone"]]) for row in rows)
    return len(keys)


@dataclass
class SummaryResult:
    summaries: int
    written_seconds: float | None
    sent_seconds: float | None
    received: int
    failed: int
    peak_mb: dict[int, float]


def weekly_summaries(sink: SmtpSink, workers: Workers) -> SummaryResult:
    from accounts.models import ClientProfile
    from bench.tasks import bench_weekly_summaries_tick
    from notifications.models import Notification

    notifications_clear()
    profiles_restore()
    ClientProfile.objects.update(weekly_summary=True)
    instants = summary_instants(datetime.now(UTC))
    expected = summaries_expected(instants)
    print(
        f"    {expected} summaries due across the ticks at "
        + ", ".join(i.strftime("%a %Y-%m-%d %H:%M UTC") for i in instants),
        flush=True,
    )
    received_before = sink.count
    started = time.monotonic()
    for instant in instants:
        bench_weekly_summaries_tick.apply_async(args=[instant.isoformat()])
    written_at, sent_at, failed = wait_for_outbox(
        [Notification.Kind.WEEKLY_CLIENT, Notification.Kind.WEEKLY_CLINICIAN],
        expected,
        sink,
        started,
        SUMMARY_TIMEOUT,
    )
    return SummaryResult(
        summaries=expected,
        written_seconds=written_at,
        sent_seconds=sent_at,
        received=sink.count - received_before,
        failed=failed,
        peak_mb=workers.peak_memory_mb(),
    )


# --- the run ----------------------------------------------------------------------------


def _rate(value: float | None) -> str:
    return f"{value:.0f}/s" if value is not None else "-"


def _seconds(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "not within the time limit"


def run_jobs(
    env: dict[str, str],
    sizes: list[int] | None,
    concurrency: int | None = None,
    *,
    summaries: bool = True,
) -> None:
    from bench.run import apply_environment, load_average

    sink_env = dict(env)
    apply_environment(sink_env)
    import django

    django.setup()
    from accounts.models import User

    total_clients = User.objects.filter(role="client", is_active=True).count()
    sizes = sizes or sorted({min(2000, total_clients), total_clients})
    concurrency = concurrency or (os.cpu_count() or 1)

    from notifications.push import vapid_keys_generate
    from tests.push_service import PushService

    sink = SmtpSink()
    push = PushService().start()
    vapid_private, vapid_public = vapid_keys_generate()
    worker_env = sink.worker_environment(
        env,
        VAPID_PRIVATE_KEY=vapid_private,
        VAPID_PUBLIC_KEY=vapid_public,
        VAPID_SUBJECT="mailto:bench@kindwork.test",
    )
    Path(env["KINDWORK_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    profiles_save()
    queue_purge()
    print(
        f"Jobs: {concurrency} prefork worker processes, SMTP sink on port {sink.port}; "
        f"load average {load_average()}",
        flush=True,
    )
    # As many shards as worker processes, so every process takes part in one tick.
    worker_env["OUTREACH_SHARDS"] = str(concurrency)
    floor = smtp_floor(sink, concurrency, FLOOR_MESSAGES)
    print(
        f"  SMTP floor: {concurrency} processes sending {FLOOR_MESSAGES} pre-built messages: "
        f"{floor:.0f} messages/s",
        flush=True,
    )
    workers = Workers(worker_env, concurrency)
    fanouts: list[FanoutResult] = []
    summary: SummaryResult | None = None
    try:
        workers.wait_ready()
        print("  Reminder fan-out:", flush=True)
        # Each channel alone at the first size (emails/s, pushes/s), then the usual mix.
        runs = [(sizes[0], "email only"), (sizes[0], "push only")]
        runs += [(size, "mixed") for size in sizes]
        for size, mode in runs:
            result = reminders_fanout(size, sink, push, mode, workers)
            fanouts.append(result)
            print(
                f"    {size} clients, {mode}: {result.reminders} reminders written in "
                f"{_seconds(result.written_seconds)}, all sent in {_seconds(result.sent_seconds)}"
                f" ({result.received} received by the sink, {result.failed} failed); "
                f"{result.pushed} of {result.pushes} pushes received by the push service; "
                f"load {load_average()}",
                flush=True,
            )
            print(
                f"    emails {_rate(result.emails_per_second)} (all {result.received} in "
                f"{_seconds(result.emails_seconds)}), pushes {_rate(result.pushes_per_second)} "
                f"(all {result.pushed} in {_seconds(result.pushes_seconds)})",
                flush=True,
            )
        if summaries:
            print("  Weekly summaries:", flush=True)
            summary = weekly_summaries(sink, workers)
        if summary is not None:
            written = _seconds(summary.written_seconds)
            print(
                f"    {summary.summaries} summaries written in {written}, "
                f"all sent in {_seconds(summary.sent_seconds)} ({summary.received} received, "
                f"{summary.failed} failed); worker peak RSS "
                + ", ".join(f"{mb:.0f} MB" for mb in summary.peak_mb.values())
                + f"; load {load_average()}",
                flush=True,
            )
    finally:
        workers.stop()
        sink.stop()
        push_devices_clear(push.origin)
        push.stop()
        notifications_clear()
        profiles_restore()
        queue_purge()

    print(f"\n{'job':<44} {'figure':>22}  target            met")
    for r in fanouts:
        name = f"reminders: {r.clients} clients, {r.mode} ({r.reminders})"
        written_ok = r.written_seconds is not None and r.written_seconds < 10
        sent_ok = r.sent_seconds is not None and r.sent_seconds < 60 and not r.failed
        print(
            f"{name + ', written':<44} {_seconds(r.written_seconds):>22}  < 10 s            "
            f"{'yes' if written_ok else 'NO'}"
        )
        print(
            f"{name + ', delivered':<44} {_seconds(r.sent_seconds):>22}  < 60 s            "
            f"{'yes' if sent_ok else 'NO'}"
        )
        print(f"{name + ', who-is-due queries':<44} {r.decide_queries:>22}  independent of N")
        ratio = r.per_second / floor if floor else 0.0
        print(
            f"{name + ', delivered per s':<44} {r.per_second:>18.0f} /s  >= 50% of floor  "
            f"{ratio:.0%} {'yes' if ratio >= 0.5 else 'NO'}"
        )
        if r.received:
            per_thousand = r.worker_cpu_seconds / r.received * 1000
            print(f"{name + ', worker CPU per 1,000':<44} {per_thousand:>20.1f} s")
        print(
            f"{name + ', emails/s':<44} {_rate(r.emails_per_second):>22}  "
            f"({r.received} emails in {_seconds(r.emails_seconds)})"
        )
        print(
            f"{name + ', pushes/s':<44} {_rate(r.pushes_per_second):>22}  "
            f"({r.pushed} of {r.pushes} pushes in {_seconds(r.pushes_seconds)})"
        )
    if summary is not None:
        ok = summary.sent_seconds is not None and summary.sent_seconds < 120
        peak = max(summary.peak_mb.values(), default=0.0)
        print(
            f"{'weekly summaries: ' + str(summary.summaries) + ', all sent':<44} "
            f"{_seconds(summary.sent_seconds):>22}  < 120 s           {'yes' if ok else 'NO'}"
        )
        print(
            f"{'weekly summaries: worker peak RSS (max)':<44} {peak:>19.0f} MB  < 300 MB"
            f"          {'yes' if peak < 300 else 'NO'}"
        )
    print(f"Load average after: {load_average()}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.run import production_environment

    run_jobs(production_environment(), [int(a) for a in sys.argv[1:]] or None)
