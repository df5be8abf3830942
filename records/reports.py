"""The pre-session report: one page per client covering the time since the last session.

Read-only: it gathers what the client page spreads over several panels (practice done
as planned, minutes, before/after change, "what helps", questionnaire scores with
their change and bands, the flags raised for the clinician and their acknowledgements,
the reflections the client shared) for one window, and the same charts. The page and
the PDF render the same template; viewing either is an audited view of the client's
record (the views call audit_record_view).
"""

import ctypes.util
import importlib.util
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from statistics import fmean

from django.db.models import Q
from django.utils import timezone

from accounts.models import ClientProfile, User
from homework import charts
from homework.charts import Chart
from homework.models import RATING_PAIRS, Assignment, Completion, Rating
from homework.schedule import Adherence, local_date, plans_adherence
from homework.selectors.practice import (
    reflection_visible_to,
    schedules_for,
    with_status_event_flag,
)
from homework.selectors.progress import client_progress
from measures.charts import measure_trend_charts
from measures.engine import Instrument, Score
from measures.insights import (
    ExerciseInsight,
    PairChange,
    QuestionnaireInsight,
    what_helps_by_questionnaire,
    what_helps_for_client,
)
from measures.models import RiskFlag
from measures.selectors import ScoredResponse, measure_history

# Without a recorded last session, the report looks back this far.
DEFAULT_WINDOW_DAYS = 14
TOP_INSIGHTS = 3
# The shared libraries WeasyPrint opens when it is imported (weasyprint.text.ffi).
PDF_LIBRARIES = ("gobject-2.0", "pango-1.0", "pangoft2-1.0", "harfbuzz", "fontconfig")


@dataclass(frozen=True)
class ScoreChange:
    instrument: Instrument
    latest: ScoredResponse
    previous: ScoredResponse | None

    @property
    def total(self) -> Score:
        return self.latest.scores.total

    @property
    def change(self) -> float | None:
        if self.previous is None:
            return None
        return self.latest.scores.total.value - self.previous.scores.total.value

    @property
    def change_text(self) -> str:
        """Signed, so a fall reads as one; "first answers" when there is nothing before."""
        change = self.change
        return "first answers" if change is None else f"{change:+.2f}"


@dataclass(frozen=True)
class SharedReflection:
    local_date: date
    exercise: str
    text: str


@dataclass(frozen=True)
class PracticeHardFlag:
    """A log the client asked their clinician to look at (it stirred up something hard)."""

    local_date: date
    exercise: str
    told_at: datetime


@dataclass(frozen=True)
class PreSessionReport:
    client: User
    start: date
    end: date
    since_last_session: bool
    next_session_on: date | None
    adherence: Adherence
    practice_days: int
    minutes: int
    rating_changes: list[PairChange]
    helps: list[ExerciseInsight]
    # A questionnaire's change with more or less of a practice, best first (any direction).
    questionnaire_helps: list[QuestionnaireInsight]
    scores: list[ScoreChange]
    # Urgent flags raised or acknowledged in the window, and any still open, oldest first.
    risk_flags: list[RiskFlag]
    practice_hard: list[PracticeHardFlag]
    reflections: list[SharedReflection]
    charts: list[Chart]

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _window(profile: ClientProfile | None, today: date) -> tuple[date, bool]:
    last = profile.last_session_on if profile else None
    if profile and profile.next_session_on and profile.next_session_on < today:
        last = profile.next_session_on  # the recorded next session has since happened
    if last is not None and last < today:
        return last + timedelta(days=1), True
    return today - timedelta(days=DEFAULT_WINDOW_DAYS - 1), False


def pre_session_report(
    *, client: User, reader: User, now: datetime | None = None
) -> PreSessionReport:
    """The report on `client` as `reader` (who may see the client) may read it."""
    now = now or timezone.now()
    today = local_date(now, client.zone)
    profile = ClientProfile.objects.filter(user_id=client.pk).first()
    start, since_last = _window(profile, today)

    assignments = list(
        with_status_event_flag(Assignment.objects.filter(client_id=client.pk)).select_related(
            "exercise"
        )
    )
    schedules = schedules_for(assignments, zone_of={client.pk: client.zone})
    logs = list(
        Completion.objects.filter(client_id=client.pk, local_date__gte=start, local_date__lte=today)
        .select_related("assignment__exercise")
        .order_by("local_date", "id")
    )
    done: dict[int, set[date]] = defaultdict(set)
    for log in logs:
        done[log.assignment_id].add(log.local_date)
    adherence = plans_adherence(
        [(schedules[a.pk], done.get(a.pk, set())) for a in assignments], start, today, today=today
    )

    rating_changes = []
    for key, before, after in RATING_PAIRS:
        pairs = [
            (getattr(log, before), getattr(log, after))
            for log in logs
            if getattr(log, before) is not None and getattr(log, after) is not None
        ]
        if pairs:
            label = Rating(before).label.removesuffix(" before")
            rating_changes.append(
                PairChange(
                    key=key,
                    label=label,
                    logs=len(pairs),
                    mean_before=fmean(b for b, _ in pairs),
                    mean_after=fmean(a for _, a in pairs),
                )
            )

    history = measure_history(client=client)
    by_instrument: dict[str, list[ScoredResponse]] = defaultdict(list)
    for item in history:  # newest first
        by_instrument[item.instrument.code].append(item)
    scores = [
        ScoreChange(items[0].instrument, items[0], items[1] if len(items) > 1 else None)
        for items in by_instrument.values()
    ]

    # Raised in the window by the client's day, acknowledged since its start (in the
    # client's zone), or still open however old: one query.
    window_began = datetime.combine(start, datetime.min.time(), tzinfo=client.zone)
    risk_flags = list(
        RiskFlag.objects.filter(client_id=client.pk)
        .filter(
            Q(acknowledged_at__isnull=True)
            | Q(response__local_date__gte=start)
            | Q(acknowledged_at__gte=window_began)
        )
        .select_related("response", "acknowledged_by")
        .order_by("created_at", "id")
    )
    practice_hard = [
        PracticeHardFlag(log.local_date, log.assignment.exercise.title, log.clinician_told_at)
        for log in logs
        if log.clinician_told_at is not None
    ]

    reflections = [
        SharedReflection(log.local_date, log.assignment.exercise.title, log.reflection)
        for log in logs
        if log.reflection and reflection_visible_to(reader, log, record_visible=True)
    ]

    progress = client_progress(client=client, now=now)
    report_charts = [
        charts.adherence_chart(progress.weeks, chart_id="report-adherence"),
        *[
            charts.ratings_chart(series, chart_id=f"report-ratings-{index}")
            for index, series in enumerate(progress.rating_series)
        ],
        *measure_trend_charts(client=client, history=history),
    ]
    return PreSessionReport(
        client=client,
        start=start,
        end=today,
        since_last_session=since_last,
        next_session_on=profile.next_session_on if profile else None,
        adherence=adherence,
        practice_days=len({log.local_date for log in logs}),
        minutes=sum(log.minutes for log in logs),
        rating_changes=rating_changes,
        helps=[i for i in what_helps_for_client(client=client) if i.seems_to_help][:TOP_INSIGHTS],
        questionnaire_helps=what_helps_by_questionnaire(client=client, history=history)[
            :TOP_INSIGHTS
        ],
        scores=scores,
        risk_flags=risk_flags,
        practice_hard=practice_hard,
        reflections=reflections,
        charts=report_charts,
    )


class PdfLibrariesMissing(Exception):
    """WeasyPrint or the libraries it needs are missing."""


@cache
def pdf_available() -> bool:
    """Whether WeasyPrint and the Pango it needs are installed (checked once per process).

    Checked without importing WeasyPrint: the import takes 0.6 s of CPU (fonts, CSS,
    cffi), which every worker paid on its first report page though only a download
    needs it (docs/benchmarks.md). The download still copes with an import that fails.
    """
    if "weasyprint" in sys.modules:
        return True
    if importlib.util.find_spec("weasyprint") is None:
        return False
    return all(ctypes.util.find_library(name) for name in PDF_LIBRARIES)


def pre_session_report_pdf(*, html: str, base_url: str) -> bytes:
    """The report's HTML (rendered by the view) as a PDF.

    Raises PdfLibrariesMissing when WeasyPrint cannot be loaded after all.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as error:
        raise PdfLibrariesMissing from error

    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
