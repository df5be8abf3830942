"""Ten times the clients: the sharded reminder and weekly-summary ticks with 1, 2 and 4
worker processes, each next to an SMTP floor measured in the same run.

    bench/run scale                      # on kw_bench_10x (bench/generate.py --scale 10x)
    bench/run scale --scale-workers 1 2 4 --window 40 --no-summaries

For each number of worker processes W (Celery prefork, W processes, OUTREACH_SHARDS=W):
1. the SMTP floor: W processes sending pre-built reminder emails to the same sink over
   the same kind of connections (bench.jobs.smtp_floor);
2. every active client's reminder is set to this minute on their own wall clock;
   "who is due" runs once in-process, read-only (queries, seconds, reminders due);
3. outreach.tasks.reminders_tick is published: it enqueues W shards, which the W
   processes take from the queue and write (time until every reminder is written);
4. delivery is then measured over a window of `--window` seconds: emails received
   by the sink per second, and the workers' CPU (user + system, the sink excluded)
   per 1,000 emails. Sending all of them would take many minutes per W, and the
   rate is what the floor is compared with;
5. the workers stop, the queue is purged and the run's notifications are deleted;
6. with summaries: the weekly-summary ticks at the three instants of the last Monday
   (bench.jobs.summary_instants), each split into W shards, written and delivered in
   a window the same way.

Email only (no push devices), so reminders and floor send the same kind of message.
The database is put back afterwards, as in bench.jobs.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.jobs import (
    FLOOR_MESSAGES,
    SmtpSink,
    Workers,
    churned_tables_vacuum,
    notifications_clear,
    outbox_counts,
    profiles_restore,
    profiles_save,
    queue_purge,
    reminders_arrange,
    reminders_decide,
    smtp_floor,
    summaries_expected,
    summary_instants,
)

WRITE_TIMEOUT = 600
WRITTEN_TARGET = 30.0  # seconds, 200,000 clients' reminders
DECIDE_TARGET = 10.0  # seconds
FLOOR_SHARE = 0.5


@dataclass
class Run:
    workers: int
    floor: float
    due: int
    decide_queries: int
    decide_seconds: float
    written_seconds: float | None
    window_received: int
    window_seconds: float
    window_cpu: float
    load: str
    summaries: int = 0
    summaries_written_seconds: float | None = None
    summaries_received: int = 0
    summaries_window_seconds: float = 0.0
    summaries_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.window_received / self.window_seconds if self.window_seconds else 0.0

    @property
    def cpu_per_thousand(self) -> float | None:
        return self.window_cpu / self.window_received * 1000 if self.window_received else None

    @property
    def summaries_rate(self) -> float:
        if not self.summaries_window_seconds:
            return 0.0
        return self.summaries_received / self.summaries_window_seconds


def _wait_written(kinds: list[str], expected: int, started: float) -> float | None:
    """Seconds from `started` until `expected` rows of these kinds are written."""
    last_report = time.monotonic()
    while time.monotonic() - started < WRITE_TIMEOUT:
        written, sent, _failed = outbox_counts(kinds)
        if written >= expected:
            return time.monotonic() - started
        if time.monotonic() - last_report > 10:
            print(f"      {written} of {expected} written, {sent} sent", flush=True)
            last_report = time.monotonic()
        time.sleep(0.25)
    return None


def _window(sink: SmtpSink, workers: Workers, seconds: float) -> tuple[int, float, float]:
    """(messages received, seconds, worker CPU seconds) over a window of steady sending."""
    received, cpu, started = sink.count, workers.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return sink.count - received, time.monotonic() - started, workers.cpu_seconds() - cpu


def _load() -> str:
    from bench.run import load_average

    return load_average()


def one_run(
    env: dict[str, str], sink: SmtpSink, count: int, window: float, summaries: bool, clients: int
) -> Run:
    from accounts.models import ClientProfile
    from bench.tasks import bench_weekly_summaries_shard
    from notifications.models import Notification
    from outreach.tasks import reminders_tick

    print(f"  {count} worker process(es), {count} shard(s):", flush=True)
    floor = smtp_floor(sink, count, FLOOR_MESSAGES)
    print(
        f"    SMTP floor, {count} process(es), {FLOOR_MESSAGES} pre-built messages: "
        f"{floor:.0f} messages/s; load {_load()}",
        flush=True,
    )
    notifications_clear()
    queue_purge()
    workers = Workers(dict(env, OUTREACH_SHARDS=str(count)), count)
    try:
        workers.wait_ready()
        reminders_arrange(clients, datetime.now(UTC).replace(second=0, microsecond=0))
        due, queries, seconds = reminders_decide(datetime.now(UTC))
        print(
            f"    who is due: {len(due)} reminders for {clients} clients, {queries} queries, "
            f"{seconds:.1f} s in-process; load {_load()}",
            flush=True,
        )
        started = time.monotonic()
        reminders_tick.apply_async()
        written = _wait_written([Notification.Kind.REMINDER], len(due), started)
        print(
            f"    all {len(due)} written in "
            + (f"{written:.1f} s" if written is not None else "(timed out)")
            + f" by {count} shard(s); load {_load()}",
            flush=True,
        )
        received, elapsed, cpu = _window(sink, workers, window)
        run = Run(
            count, floor, len(due), queries, seconds, written, received, elapsed, cpu, _load()
        )
        print(
            f"    delivery over {elapsed:.0f} s: {run.rate:.0f} emails/s "
            f"({run.rate / floor:.0%} of the floor), worker CPU "
            + (f"{run.cpu_per_thousand:.1f} s" if run.cpu_per_thousand else "-")
            + f" per 1,000 emails; load {run.load}",
            flush=True,
        )
        if summaries:
            workers.stop()
            queue_purge()
            notifications_clear()
            workers = Workers(dict(env, OUTREACH_SHARDS=str(count)), count)
            workers.wait_ready()
            profiles_restore()
            ClientProfile.objects.update(weekly_summary=True)
            churned_tables_vacuum()
            instants = summary_instants(datetime.now(UTC))
            run.summaries = summaries_expected(instants)
            started = time.monotonic()
            for instant in instants:
                for index in range(count):
                    bench_weekly_summaries_shard.apply_async(
                        args=[instant.isoformat(), index, count]
                    )
            run.summaries_written_seconds = _wait_written(
                [Notification.Kind.WEEKLY_CLIENT, Notification.Kind.WEEKLY_CLINICIAN],
                run.summaries,
                started,
            )
            received, elapsed, cpu = _window(sink, workers, window)
            run.summaries_received, run.summaries_window_seconds = received, elapsed
            run.summaries_cpu = cpu
            print(
                f"    weekly summaries: {run.summaries} written in "
                + (
                    f"{run.summaries_written_seconds:.1f} s"
                    if run.summaries_written_seconds is not None
                    else "(timed out)"
                )
                + f", then {run.summaries_rate:.0f} emails/s over {elapsed:.0f} s; "
                f"load {_load()}",
                flush=True,
            )
        return run
    finally:
        workers.stop()
        queue_purge()
        notifications_clear()
        profiles_restore()


def run_scale(
    env: dict[str, str],
    worker_counts: list[int],
    *,
    window: float = 40.0,
    summaries: bool = True,
    clients: int | None = None,
) -> None:
    from bench.run import apply_environment

    sink_env = dict(env)
    apply_environment(sink_env)
    import django

    django.setup()
    from accounts.models import User

    total = User.objects.filter(role="client", is_active=True).count()
    clients = clients or total
    sink = SmtpSink()
    worker_env = sink.worker_environment(env)
    Path(env["KINDWORK_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    profiles_save()
    print(
        f"Scale: {total} active clients, reminders for {clients}; worker processes "
        f"{worker_counts}; delivery window {window:.0f} s; load average {_load()}",
        flush=True,
    )
    runs: list[Run] = []
    try:
        for count in worker_counts:
            runs.append(one_run(worker_env, sink, count, window, summaries, clients))
    finally:
        sink.stop()
        notifications_clear()
        profiles_restore()
        queue_purge()

    print(
        f"\n{'workers':>7} {'due':>8} {'decide':>8} {'written':>9} {'floor/s':>8} "
        f"{'sent/s':>7} {'of floor':>8} {'CPU s/1k':>8} {'+/s':>6}  {'summ. written':>13} "
        f"{'summ./s':>7}  load"
    )
    previous = None
    for run in runs:
        added = f"{run.rate - previous:+.0f}" if previous is not None else "-"
        previous = run.rate
        written = f"{run.written_seconds:.1f} s" if run.written_seconds is not None else "-"
        summ = (
            f"{run.summaries_written_seconds:.1f} s"
            if run.summaries_written_seconds is not None
            else "-"
        )
        cpu = f"{run.cpu_per_thousand:.1f}" if run.cpu_per_thousand else "-"
        print(
            f"{run.workers:>7} {run.due:>8} {run.decide_seconds:>6.1f} s {written:>9} "
            f"{run.floor:>8.0f} {run.rate:>7.0f} {run.rate / run.floor:>8.0%} {cpu:>8} "
            f"{added:>6}  {summ:>13} {run.summaries_rate:>7.0f}  {run.load}"
        )
    print("\ntargets:")
    for run in runs:
        decide_ok = run.decide_seconds < DECIDE_TARGET
        written_ok = run.written_seconds is not None and run.written_seconds < WRITTEN_TARGET
        rate_ok = run.rate >= FLOOR_SHARE * run.floor
        print(
            f"  {run.workers} worker(s): who is due {run.decide_seconds:.1f} s in "
            f"{run.decide_queries} queries "
            f"(< {DECIDE_TARGET:g} s: {'yes' if decide_ok else 'NO'}); "
            f"written < {WRITTEN_TARGET:g} s: {'yes' if written_ok else 'NO'}; "
            f"delivered >= {FLOOR_SHARE:.0%} of the floor: {'yes' if rate_ok else 'NO'}"
        )
    print(f"Load average after: {_load()}")
