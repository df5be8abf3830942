"""Measures, the export log and calendar feeds move to their own apps; their tables stay."""

from django.db import migrations

MOVED = {
    "measureassignment": "measures",
    "measureresponse": "measures",
    "calendarfeed": "outreach",
    "exportrecord": "records",
}


def _move(apps, schema_editor, *, forward: bool) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model, app in MOVED.items():
        old, new = ("homework", app) if forward else (app, "homework")
        if not content_type.objects.using(db).filter(app_label=new, model=model).exists():
            content_type.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


def content_types_move(apps, schema_editor) -> None:
    _move(apps, schema_editor, forward=True)


def content_types_move_back(apps, schema_editor) -> None:
    _move(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0001_initial"),
        ("outreach", "0001_initial"),
        ("records", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("homework", "0004_completion_redundant_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table already exists under its homework name: state only.
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="calendarfeed",
                    name="calendar_feed_one_live_per_client",
                ),
                migrations.RemoveField(
                    model_name="exportrecord",
                    name="actor",
                ),
                migrations.RemoveField(
                    model_name="exportrecord",
                    name="clinic",
                ),
                migrations.RemoveField(
                    model_name="exportrecord",
                    name="subject",
                ),
                migrations.RemoveIndex(
                    model_name="measureassignment",
                    name="measure_assignment_client",
                ),
                migrations.RemoveConstraint(
                    model_name="measureassignment",
                    name="measure_assignment_every_weeks_range",
                ),
                migrations.RemoveIndex(
                    model_name="measureresponse",
                    name="measure_response_client",
                ),
                migrations.RemoveConstraint(
                    model_name="measureresponse",
                    name="measure_response_one_per_due",
                ),
                migrations.RemoveField(
                    model_name="calendarfeed",
                    name="client",
                ),
                migrations.DeleteModel(
                    name="ExportRecord",
                ),
                migrations.RemoveField(
                    model_name="measureassignment",
                    name="client",
                ),
                migrations.RemoveField(
                    model_name="measureassignment",
                    name="clinician",
                ),
                migrations.RemoveField(
                    model_name="measureresponse",
                    name="client",
                ),
                migrations.RemoveField(
                    model_name="measureresponse",
                    name="measure_assignment",
                ),
                migrations.DeleteModel(
                    name="CalendarFeed",
                ),
                migrations.DeleteModel(
                    name="MeasureAssignment",
                ),
                migrations.DeleteModel(
                    name="MeasureResponse",
                ),
            ],
            database_operations=[],
        ),
        # Content types (and the permissions and admin log entries that point at them)
        # follow the models to their new apps.
        migrations.RunPython(content_types_move, content_types_move_back),
    ]
