"""Care between sessions at clinic scale: "what helps" from a questionnaire's change, the
pre-session report page and the caseload, for the client with the most practice logs
after a year of weekly PHQ-9 answers; and writing an urgent flag's outbox rows.

    createdb -T kw_bench kw_bench_care   # once: a copy, since this writes
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kw_bench_care \\
        .venv/bin/python bench/care.py [--repeat 5] [--answers 52]

Everything happens inside a transaction that is rolled back, so the copy is unchanged
and the run can be repeated. Reported per step: the median wall time over --repeat runs
and the query count (which must not grow with the history).

1. what_helps_by_questionnaire for that client (its answers and logs between them).
2. GET of the pre-session report page as their clinician (the whole page, audited).
3. GET of the dashboard as their clinician (the caseload with its reasons; one open
   urgent flag among them, dated in the clinician's zone).
4. risk_flags_raise for one more answer past PHQ-9 item 9, with the clinician holding a
   subscribed device: the flag, the email row and the push row.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import require_bench_database  # noqa: E402
from bench.run import apply_environment, load_average, production_environment  # noqa: E402


class Rollback(Exception):
    pass


def run(repeat: int, answers: int) -> list[tuple[str, float, int, str]]:
    from datetime import UTC, datetime, timedelta
    from datetime import time as clock

    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from bench.run import logged_in_client
    from homework.models import Completion
    from homework.schedule import local_date
    from measures.engine import instrument_get
    from measures.insights import what_helps_by_questionnaire
    from measures.models import MeasureResponse, RiskFlag
    from measures.services import risk_flags_raise
    from notifications.models import Notification, PushSubscription

    results: list[tuple[str, float, int, str]] = []

    def measure(label: str, action, note=lambda value: "") -> None:
        times, counted, value = [], 0, None
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                value = action()
                times.append(time.perf_counter() - began)
            counted = len(queries)
        results.append((label, statistics.median(times), counted, note(value)))

    try:
        with transaction.atomic():
            busiest = (
                Completion.objects.values("client_id")
                .annotate(n=Count("id"))
                .order_by("-n")
                .first()
            )
            from accounts.models import User

            client = User.objects.select_related("client_profile__clinician").get(
                pk=busiest["client_id"]
            )
            clinician = client.client_profile.clinician
            today = local_date(timezone.now(), client.zone)
            # A year of weekly PHQ-9 answers, totals wandering between 4 and 16.
            rows = []
            for week in range(answers, 0, -1):
                day = today - timedelta(days=7 * week)
                total = 4 + (week * 7) % 13
                values = {}
                left = total
                for item in range(1, 9):
                    values[str(item)] = min(3, left)
                    left -= values[str(item)]
                values["9"] = 0
                rows.append(
                    MeasureResponse(
                        client=client,
                        instrument="PHQ-9",
                        instrument_version=instrument_get("PHQ-9").version,
                        answers=values,
                        local_date=day,
                        answered_at=datetime.combine(day, clock(12), tzinfo=UTC),
                    )
                )
            MeasureResponse.objects.bulk_create(rows)
            RiskFlag.objects.create(client=client, response=rows[-1], item=9)
            logs = Completion.objects.filter(client=client).count()

            measure(
                f"what_helps_by_questionnaire ({answers} answers, {logs} logs)",
                lambda: what_helps_by_questionnaire(client=client),
                lambda found: f"{len(found)} comparisons",
            )
            browser = logged_in_client(clinician, HTTP_HOST="127.0.0.1")
            report_url = reverse("records:pre-session-report", args=[client.pk])
            measure(
                "GET pre-session report page",
                lambda: browser.get(report_url, secure=True),
                lambda response: f"status {response.status_code}",
            )
            caseload = User.objects.filter(client_profile__clinician=clinician).count()
            measure(
                f"GET dashboard ({caseload} clients, one urgent flag)",
                lambda: browser.get(reverse("homework:dashboard"), secure=True),
                lambda response: f"status {response.status_code}",
            )
            PushSubscription.objects.create(
                user=clinician,
                endpoint="https://fcm.googleapis.com/fcm/send/bench-care",
                p256dh="B" + "A" * 86,
                auth="A" * 22,
            )
            instrument = instrument_get("PHQ-9")
            flagged = []

            def raise_one():
                response = MeasureResponse.objects.create(
                    client=client,
                    instrument="PHQ-9",
                    instrument_version=instrument.version,
                    answers={**{str(n): 1 for n in range(1, 9)}, "9": 1},
                    local_date=today,
                    answered_at=timezone.now(),
                )
                flagged.append(response.pk)
                return risk_flags_raise(response=response, instrument=instrument)

            measure(
                "risk_flags_raise with a subscribed device",
                raise_one,
                lambda _flags: (
                    "rows: "
                    + ", ".join(
                        sorted(
                            Notification.objects.filter(
                                idempotency_key=f"urgent_attention:response:{flagged[-1]}"
                            ).values_list("channel", flat=True)
                        )
                    )
                ),
            )
            raise Rollback
    except Rollback:
        pass
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--answers", type=int, default=52)
    args = parser.parse_args(argv)
    env = production_environment()
    require_bench_database(env["DATABASE_URL"])
    apply_environment(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Production settings serve hashed static names: the pages need the manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"load average before: {load_average()}", flush=True)
    for label, seconds, queries, note in run(args.repeat, args.answers):
        print(f"{label}: median {seconds * 1000:.0f} ms, {queries} queries; {note}", flush=True)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
