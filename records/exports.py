"""Exports: a client's own data, one client's record for their clinician, a whole clinic.

What each holds:
- A client's own export: everything they logged, including private reflections
  and answers, their plans, feedback, questionnaire answers with scores, the flags
  raised for their clinician and their acknowledgements, and their reminder
  preferences. JSON (data.json) and CSV files in one zip, or the JSON alone.
- A clinician's export of one client: the same tables as CSV in a zip, but a
  reflection and the prompt answers appear only where the client shared them
  (homework.selectors.practice.reflection_visible_to, as on every surface); and
  the questionnaire answers as a FHIR R4 Bundle of QuestionnaireResponses, with the
  urgent risk flags as Flag resources (records.fhir).
- An admin's clinic export: people, the clinic's own exercises, plans, logs,
  feedback and questionnaires of every client of the clinic, as CSV in a zip.
  Private reflections and answers stay private here too.

Files are built into a SpooledTemporaryFile: in memory while small, on disk
beyond SPOOL_LIMIT, so a large clinic neither fills memory nor holds a request
open on a half-written stream. Rows are read with iterator() in chunks; the
number of queries does not grow with the data. Every export writes an
ExportRecord and an audit event (action "export") before the
file is handed over.
"""

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from tempfile import SpooledTemporaryFile
from typing import IO

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Clinic, Role, User
from audit.models import AuditAction
from audit.services import audit_record
from homework.models import Assignment, Completion, Exercise, Feedback, Rating
from homework.schedule import Schedule, describe
from homework.selectors.practice import reflection_visible_to
from measures.models import MeasureAssignment, MeasureResponse, RiskFlag
from measures.selectors import ScoredResponse, describe_frequency, scored
from records.fhir import measure_bundle
from records.models import ExportKind, ExportRecord

SPOOL_LIMIT = 16 * 1024 * 1024
CHUNK = 2000
FORMAT_VERSION = 1


# --- Tables: a name, columns, and rows produced lazily ---


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: Iterable[list]


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value is None:
        return ""
    return value


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _assignment_rows(assignments: Iterable[Assignment]) -> Iterator[list]:
    for a in assignments:
        yield [
            a.pk,
            a.client_id,
            a.exercise_id,
            a.exercise.title,
            describe(Schedule.of(a)),
            a.schedule_kind,
            a.start_date,
            a.end_date,
            a.reminder_time,
            a.status,
            a.note,
            a.created_at,
        ]


ASSIGNMENT_COLUMNS = [
    "assignment_id",
    "client_id",
    "exercise_id",
    "exercise",
    "schedule",
    "schedule_kind",
    "start_date",
    "end_date",
    "reminder_time",
    "status",
    "clinician_note",
    "created_at",
]
COMPLETION_COLUMNS = [
    "completion_id",
    "client_id",
    "assignment_id",
    "exercise",
    "local_date",
    "minutes",
    *Rating.values,
    "reflection_shared",
    "answers",
    "reflection",
    "created_at",
]
# One row per message of a log's conversation; "from" says who wrote it. The clinician's
# private notes (homework.ClientNote) are in no export: see the README.
FEEDBACK_COLUMNS = [
    "feedback_id",
    "completion_id",
    "clinician",
    "from",
    "text",
    "created_at",
    "read_at",
]
MEASURE_ASSIGNMENT_COLUMNS = [
    "measure_assignment_id",
    "client_id",
    "instrument",
    "frequency",
    "every_weeks",
    "start_date",
    "status",
    "created_at",
]
MEASURE_ANSWER_COLUMNS = [
    "response_id",
    "client_id",
    "instrument",
    "instrument_version",
    "item",
    "answer",
]
# Flags raised for the clinician: an urgent risk flag (a questionnaire's risk item above
# its threshold), acknowledged by a clinician; or the client asking their clinician to look
# at a practice log that stirred up something hard ("practice_hard"), which has no
# acknowledgement step (it leaves the caseload after homework's BACKDRAFT_SHOWN_DAYS).
FLAG_COLUMNS = [
    "flag",
    "flag_id",
    "client_id",
    "raised_at",
    "local_date",
    "instrument",
    "item",
    "response_id",
    "completion_id",
    "acknowledged_at",
    "acknowledged_by",
]
FLAG_URGENT = "urgent_risk"
FLAG_PRACTICE_HARD = "practice_hard"

MEASURE_SCORE_COLUMNS = [
    "response_id",
    "client_id",
    "instrument",
    "answered_at",
    "local_date",
    "score",
    "label",
    "value",
    "band",
    "less_reliable",
]


def _completion_rows(completions: Iterable[Completion], *, reader: User) -> Iterator[list]:
    """Rows of logs the reader may see (each export checks that first); the words only
    where reflection_visible_to allows them."""
    for c in completions:
        shown = reflection_visible_to(reader, c, record_visible=True)
        yield [
            c.pk,
            c.client_id,
            c.assignment_id,
            c.assignment.exercise.title,
            c.local_date,
            c.minutes,
            *[getattr(c, rating) for rating in Rating.values],
            c.reflection_shared,
            (c.answers or {}) if shown else "",
            c.reflection if shown else "",
            c.created_at,
        ]


def _feedback_rows(feedback: Iterable[Feedback]) -> Iterator[list]:
    for f in feedback:
        yield [
            f.pk,
            f.completion_id,
            f.clinician.get_full_name(),
            "client" if f.from_client else "clinician",
            f.text,
            f.created_at,
            f.read_at,
        ]


def _measure_assignment_rows(measures: Iterable[MeasureAssignment]) -> Iterator[list]:
    for m in measures:
        yield [
            m.pk,
            m.client_id,
            m.instrument,
            describe_frequency(m),
            m.every_weeks,
            m.start_date,
            m.status,
            m.created_at,
        ]


def _scored(
    responses: Iterable[MeasureResponse],
) -> Iterator[tuple[MeasureResponse, ScoredResponse | None]]:
    for response in responses:
        yield response, scored(response)


def _answer_rows(responses: Iterable[MeasureResponse]) -> Iterator[list]:
    for r in responses:
        for item, value in sorted(r.answers.items(), key=lambda kv: int(kv[0])):
            yield [r.pk, r.client_id, r.instrument, r.instrument_version, int(item), value]


def _score_rows(responses: Iterable[MeasureResponse]) -> Iterator[list]:
    for r, item in _scored(responses):
        if item is None:
            continue
        s = item.scores
        for score in [*([s.total] if s.total else []), *s.composites, *s.subscales]:
            yield [
                r.pk,
                r.client_id,
                r.instrument,
                r.answered_at,
                r.local_date,
                score.key,
                score.label,
                round(score.value, 4),
                score.band,
                score.less_reliable,
            ]


def _flag_rows(flags: Iterable[RiskFlag], told: Iterable[Completion]) -> Iterator[list]:
    for flag in flags:
        yield [
            FLAG_URGENT,
            flag.pk,
            flag.client_id,
            flag.created_at,
            flag.response.local_date,
            flag.response.instrument,
            flag.item,
            flag.response_id,
            None,
            flag.acknowledged_at,
            flag.acknowledged_by.get_full_name() if flag.acknowledged_by else None,
        ]
    for log in told:
        yield [
            FLAG_PRACTICE_HARD,
            log.pk,
            log.client_id,
            log.clinician_told_at,
            log.local_date,
            None,
            None,
            None,
            log.pk,
            None,
            None,
        ]


def _flag_sources(client_filter: Q) -> tuple[QuerySet, QuerySet]:
    """The urgent flags and the logs the client asked about: one query each, whatever
    the number."""
    flags = (
        RiskFlag.objects.filter(client_filter)
        .select_related("response", "acknowledged_by")
        .order_by("created_at", "id")
    )
    told = (
        Completion.objects.filter(client_filter, clinician_told_at__isnull=False)
        .only("id", "client_id", "local_date", "clinician_told_at")
        .order_by("clinician_told_at", "id")
    )
    return flags, told


def _client_tables(client: User, *, reader: User) -> list[Table]:
    """One client's tables; querysets are evaluated lazily while the file is written."""
    assignments = Assignment.objects.filter(client_id=client.pk).select_related("exercise")
    completions = Completion.objects.filter(client_id=client.pk).select_related(
        "assignment__exercise"
    )
    feedback = Feedback.objects.filter(completion__client_id=client.pk).select_related("clinician")
    measures = MeasureAssignment.objects.filter(client_id=client.pk)
    responses = MeasureResponse.objects.filter(client_id=client.pk)
    return [
        Table("assignments", ASSIGNMENT_COLUMNS, _assignment_rows(_chunked(assignments))),
        Table(
            "completions",
            COMPLETION_COLUMNS,
            _completion_rows(_chunked(completions), reader=reader),
        ),
        Table("feedback", FEEDBACK_COLUMNS, _feedback_rows(_chunked(feedback))),
        Table(
            "measure_assignments", MEASURE_ASSIGNMENT_COLUMNS, _measure_assignment_rows(measures)
        ),
        Table("measure_answers", MEASURE_ANSWER_COLUMNS, _answer_rows(_chunked(responses))),
        Table("measure_scores", MEASURE_SCORE_COLUMNS, _score_rows(_chunked(responses))),
        Table("flags", FLAG_COLUMNS, _flag_rows(*_flag_sources(Q(client_id=client.pk)))),
    ]


def _chunked(queryset: QuerySet) -> Iterator:
    """Rows in id order, read CHUNK at a time so memory stays flat on big exports."""
    return queryset.order_by("pk").iterator(chunk_size=CHUNK)


def _profile(client: User) -> dict:
    profile = getattr(client, "client_profile", None)
    return {
        "id": client.pk,
        "email": client.email,
        "full_name": client.full_name,
        "timezone": client.timezone,
        "clinic": client.clinic.name if client.clinic else None,
        "clinician": profile.clinician.get_full_name() if profile else None,
        "reminder_time": profile.reminder_time.isoformat() if profile else None,
        "quiet_hours_start": _iso_time(profile.quiet_hours_start) if profile else None,
        "quiet_hours_end": _iso_time(profile.quiet_hours_end) if profile else None,
        "reminders_paused_until": _iso(profile.reminders_paused_until) if profile else None,
        "weekly_summary": profile.weekly_summary if profile else None,
        "date_joined": _iso(client.date_joined),
    }


def _iso_time(value: time | None) -> str | None:
    return value.isoformat() if value else None


# --- Writing files ---


def _csv_bytes(table: Table) -> Iterator[bytes]:
    """A table as UTF-8 CSV (with a BOM so spreadsheet programs read accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_safe_csv(_cell(value)) for value in row])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _safe_csv(value: object) -> object:
    """Text a spreadsheet would run as a formula is prefixed with a quote (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write_zip(target: IO[bytes], *, tables: list[Table], extra: dict[str, bytes]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in extra.items():
            archive.writestr(name, content)
        for table in tables:
            with archive.open(f"{table.name}.csv", "w") as member:
                for chunk in _csv_bytes(table):
                    member.write(chunk)


def _spooled() -> IO[bytes]:
    return SpooledTemporaryFile(max_size=SPOOL_LIMIT, mode="w+b")


def _readme(title: str, tables: list[Table], notes: list[str]) -> bytes:
    notes = [
        *notes,
        "In the CSV files, text that starts with = + - or @ is prefixed with ' so a "
        "spreadsheet shows it rather than running it as a formula; data.json keeps it as is.",
    ]
    lines = [title, "", *notes, "", "Files:"]
    lines += [f"- {t.name}.csv: {', '.join(t.columns)}" for t in tables]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _json_bytes(data: dict) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


# --- The exports ---


@dataclass(frozen=True)
class ExportFile:
    file: IO[bytes]
    filename: str
    content_type: str
    record: ExportRecord


def _record(
    *, actor: User, kind: str, fmt: str, subject: User | None, clinic: Clinic | None
) -> ExportRecord:
    record = ExportRecord.objects.create(
        actor=actor, subject=subject, clinic=clinic, kind=kind, format=fmt
    )
    audit_record(actor=actor, action=AuditAction.EXPORT, target=record, client=subject)
    return record


def client_data(*, client: User) -> dict:
    """Everything of the client's own, as one JSON-ready dict (private text included)."""
    responses = list(
        MeasureResponse.objects.filter(client_id=client.pk).order_by("answered_at", "id")
    )
    tables = {t.name: t for t in _client_tables(client, reader=client)}

    def records(name: str) -> list[dict]:
        table = tables[name]
        return [
            {column: _json_value(value) for column, value in zip(table.columns, row, strict=True)}
            for row in table.rows
        ]

    return {
        "format": "kindwork-client-export",
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "client": _profile(client),
        "assignments": records("assignments"),
        "completions": records("completions"),
        "feedback": records("feedback"),
        "measure_assignments": records("measure_assignments"),
        "measure_responses": [
            item.as_dict() | {"citation": item.instrument.citation}
            for item in (scored(r) for r in responses)
            if item is not None
        ],
        "flags": records("flags"),
    }


def _json_value(value: object) -> object:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def export_client_own(*, client: User, fmt: str) -> ExportFile:
    """A client's download of all their own data: "zip" (JSON and CSV) or "json"."""
    if fmt not in ("zip", "json"):
        raise ValueError(f"Unknown export format {fmt!r}.")
    stamp = timezone.now().strftime("%Y%m%d")
    data = client_data(client=client)
    target = _spooled()
    if fmt == "json":
        target.write(_json_bytes(data))
        content_type, filename = "application/json", f"kindwork-my-data-{stamp}.json"
    else:
        tables = _client_tables(client, reader=client)
        readme = _readme(
            "Your Kindwork data",
            tables,
            [
                "data.json holds everything in one file; the CSV files hold the same "
                "records as tables for a spreadsheet.",
                "Dates are your local dates; times ending in +00:00 are UTC.",
            ],
        )
        _write_zip(
            target,
            tables=tables,
            extra={"README.txt": readme, "data.json": _json_bytes(data)},
        )
        content_type, filename = "application/zip", f"kindwork-my-data-{stamp}.zip"
    record = _record(
        actor=client, kind=ExportKind.CLIENT_OWN, fmt=fmt, subject=client, clinic=client.clinic
    )
    target.seek(0)
    return ExportFile(target, filename, content_type, record)


def export_client_record(*, clinician: User, client: User, fmt: str) -> ExportFile:
    """A clinician's export of one client on their caseload: "zip" (CSV) or "fhir".

    The caller has checked access (accounts.access); reflections and answers the
    client kept private stay out (reflection_visible_to).
    """
    stamp = timezone.now().strftime("%Y%m%d")
    target = _spooled()
    if fmt == "zip":
        tables = [
            Table(
                "client",
                ["client_id", "full_name", "email", "timezone"],
                [[client.pk, client.full_name, client.email, client.timezone]],
            ),
            *_client_tables(client, reader=clinician),
        ]
        readme = _readme(
            f"Kindwork record of client {client.pk}",
            tables,
            [
                "Reflections and prompt answers the client kept private are left out.",
                "Private notes are not exported; they stay on the client's page.",
            ],
        )
        _write_zip(target, tables=tables, extra={"README.txt": readme})
        kind, content_type = ExportKind.CLIENT_RECORD, "application/zip"
        filename = f"kindwork-client-{client.pk}-{stamp}.zip"
    elif fmt == "fhir":
        responses = [
            item
            for item in map(
                scored,
                MeasureResponse.objects.filter(client_id=client.pk).order_by("answered_at", "id"),
            )
            if item is not None
        ]
        flags, _told = _flag_sources(Q(client_id=client.pk))
        bundle = measure_bundle(
            client=client,
            responses=responses,
            timestamp=timezone.now().isoformat(),
            flags=list(flags),
        )
        target.write(_json_bytes(bundle))
        kind, content_type = ExportKind.CLIENT_FHIR, "application/fhir+json"
        filename = f"kindwork-client-{client.pk}-measures-{stamp}.fhir.json"
    else:
        raise ValueError(f"Unknown export format {fmt!r}.")
    record = _record(actor=clinician, kind=kind, fmt=fmt, subject=client, clinic=client.clinic)
    target.seek(0)
    return ExportFile(target, filename, content_type, record)


def export_clinic(*, admin: User, clinic: Clinic) -> ExportFile:
    """Everything of one clinic as CSV in a zip. The caller has checked the admin's scope."""
    people = User.objects.filter(clinic_id=clinic.pk).select_related("client_profile")
    clients = Q(client__clinic_id=clinic.pk)
    assignments = Assignment.objects.filter(clients).select_related("exercise")
    completions = Completion.objects.filter(clients).select_related("assignment__exercise")
    feedback = Feedback.objects.filter(completion__client__clinic_id=clinic.pk).select_related(
        "clinician"
    )
    measures = MeasureAssignment.objects.filter(clients)
    responses = MeasureResponse.objects.filter(clients)
    exercises = Exercise.objects.filter(clinic_id=clinic.pk)

    def people_rows() -> Iterator[list]:
        for person in _chunked(people):
            profile = (
                getattr(person, "client_profile", None) if person.role == Role.CLIENT else None
            )
            yield [
                person.pk,
                person.role,
                person.full_name,
                person.email,
                person.timezone,
                person.is_active,
                profile.clinician_id if profile else "",
                person.date_joined,
            ]

    def exercise_rows() -> Iterator[list]:
        for e in _chunked(exercises):
            yield [
                e.pk,
                e.title,
                e.category,
                e.summary,
                e.steps,
                e.prompts,
                e.ratings,
                e.typical_minutes,
                e.archived_at,
            ]

    tables = [
        Table(
            "clinic",
            ["clinic_id", "name", "timezone", "created_at"],
            [[clinic.pk, clinic.name, clinic.timezone, clinic.created_at]],
        ),
        Table(
            "people",
            [
                "user_id",
                "role",
                "full_name",
                "email",
                "timezone",
                "is_active",
                "clinician_id",
                "date_joined",
            ],
            people_rows(),
        ),
        Table(
            "exercises",
            [
                "exercise_id",
                "title",
                "category",
                "summary",
                "steps",
                "prompts",
                "ratings",
                "typical_minutes",
                "archived_at",
            ],
            exercise_rows(),
        ),
        Table("assignments", ASSIGNMENT_COLUMNS, _assignment_rows(_chunked(assignments))),
        Table(
            "completions",
            COMPLETION_COLUMNS,
            _completion_rows(_chunked(completions), reader=admin),
        ),
        Table("feedback", FEEDBACK_COLUMNS, _feedback_rows(_chunked(feedback))),
        Table(
            "measure_assignments",
            MEASURE_ASSIGNMENT_COLUMNS,
            _measure_assignment_rows(_chunked(measures)),
        ),
        Table("measure_answers", MEASURE_ANSWER_COLUMNS, _answer_rows(_chunked(responses))),
        Table("measure_scores", MEASURE_SCORE_COLUMNS, _score_rows(_chunked(responses))),
    ]
    readme = _readme(
        f"Kindwork export of {clinic.name}",
        tables,
        [
            "Built-in exercises are not included; assignments name them by title.",
            "Reflections and prompt answers a client kept private are left out.",
        ],
    )
    target = _spooled()
    _write_zip(target, tables=tables, extra={"README.txt": readme})
    record = _record(actor=admin, kind=ExportKind.CLINIC, fmt="zip", subject=None, clinic=clinic)
    target.seek(0)
    stamp = timezone.now().strftime("%Y%m%d")
    return ExportFile(target, f"kindwork-clinic-{clinic.pk}-{stamp}.zip", "application/zip", record)
