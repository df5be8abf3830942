"""core.bulk.insert_rows: the one bulk writer behind program weeks and reminders."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, NotSupportedError, connection
from django.utils import timezone

from core.bulk import insert_rows
from core.encryption import FERNET_PREFIX
from homework.models import Assignment, Completion, Exercise, Rating
from notifications.models import Notification
from tests.factories import make_assignment

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def reminder_columns(world, keys: list[str], to_email: str = "alex@client.test") -> dict:
    return {
        "channel": [Notification.Channel.EMAIL] * len(keys),
        "recipient": [world.client.pk] * len(keys),
        "to_email": [to_email] * len(keys),
        "idempotency_key": keys,
        "context": [{"key": key, "local_date": TODAY.isoformat()} for key in keys],
    }


REMINDER_CONSTANTS = {
    "kind": Notification.Kind.REMINDER,
    "status": Notification.Status.PENDING,
    "attempts": 0,
    "last_error": "",
    "created_at": NOW,
    "next_attempt_at": NOW,
    "claimed_at": None,
    "sent_at": None,
}


class TestInsertRows:
    def test_it_writes_the_rows_in_order(self, world) -> None:
        breathing = Exercise.objects.get(clinic__isnull=True, slug="compassionate-breathing")
        now = timezone.now()
        ids = insert_rows(
            Assignment,
            {
                "client": [world.client.pk, world.other_client.pk],
                "clinician": [world.clinician.pk, world.clinician.pk],
                "exercise": [breathing.pk, breathing.pk],
                "note": ["", "a note"],
                "schedule_kind": ["daily", "times_per_week"],
                "weekdays": [0, 0],
                "times_per_week": [None, 3],
                "start_date": [TODAY, TODAY + timedelta(days=1)],
                "end_date": [None, TODAY + timedelta(days=7)],
            },
            constants={
                "reminder_time": None,
                "status": "active",
                "created_at": now,
                "updated_at": now,
            },
        )
        rows = [Assignment.objects.get(pk=pk) for pk in ids]
        assert [(r.client_id, r.note, r.times_per_week, r.end_date) for r in rows] == [
            (world.client.pk, "", None, None),
            (world.other_client.pk, "a note", 3, TODAY + timedelta(days=7)),
        ]

    def test_it_refuses_columns_of_different_lengths(self, world) -> None:
        with pytest.raises(ValueError):
            insert_rows(
                Assignment, {"client": [world.client.pk, world.other_client.pk], "note": ["x"]}
            )
        assert not Assignment.objects.exists()

    @pytest.mark.parametrize("ignore_conflicts", [False, True])
    def test_no_rows_return_no_ids_without_a_query(
        self, world, django_assert_num_queries, ignore_conflicts
    ) -> None:
        with django_assert_num_queries(0):
            ids = insert_rows(
                Notification,
                reminder_columns(world, []),
                REMINDER_CONSTANTS,
                ignore_conflicts=ignore_conflicts,
            )
        assert ids == []

    def test_values_are_prepared_by_their_fields(self, world) -> None:
        """Encrypted text and JSON, a UUID, a date and an enum member are stored as a
        save would store them, and read back as written."""
        plan = make_assignment(world.client)
        first, second = uuid.uuid4(), uuid.uuid4()
        ids = insert_rows(
            Completion,
            {
                "assignment": [plan.pk, plan.pk],
                "client_id": [world.client.pk, world.client.pk],
                "local_date": [TODAY, TODAY + timedelta(days=1)],
                "client_uuid": [first, second],
                "answers": [{"kind_words": "I am here"}, {}],
                "reflection": ["Calmer than I expected", ""],
            },
            constants={
                "logged_later": False,
                "repeatable": False,
                "minutes": 5,
                **dict.fromkeys(Rating.values),
                "reflection_shared": True,
                "stirred_up": False,
                "clinician_told_at": None,
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
        logs = [Completion.objects.get(pk=pk) for pk in ids]
        assert [(c.local_date, c.client_uuid, c.answers, c.reflection) for c in logs] == [
            (TODAY, first, {"kind_words": "I am here"}, "Calmer than I expected"),
            (TODAY + timedelta(days=1), second, {}, ""),
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT answers, reflection FROM homework_completion WHERE id = %s", [ids[0]]
            )
            stored = cursor.fetchone()
        assert all(value.startswith(FERNET_PREFIX) for value in stored)

        (reminder_id,) = insert_rows(
            Notification, reminder_columns(world, ["reminder:1"]), REMINDER_CONSTANTS
        )
        reminder = Notification.objects.get(pk=reminder_id)
        assert (reminder.kind, reminder.context, reminder.created_at) == (
            "reminder",
            {"key": "reminder:1", "local_date": "2026-03-02"},
            NOW,
        )

    def test_ignore_conflicts_inserts_only_new_rows_and_returns_their_ids(self, world) -> None:
        if connection.vendor != "postgresql":
            pytest.skip("ON CONFLICT DO NOTHING through unnest needs PostgreSQL")
        (already,) = insert_rows(
            Notification, reminder_columns(world, ["reminder:2"]), REMINDER_CONSTANTS
        )
        ids = insert_rows(
            Notification,
            reminder_columns(world, ["reminder:1", "reminder:2", "reminder:3"], "new@client.test"),
            REMINDER_CONSTANTS,
            ignore_conflicts=True,
        )
        assert already not in ids
        assert sorted(
            Notification.objects.filter(pk__in=ids).values_list("idempotency_key", flat=True)
        ) == ["reminder:1", "reminder:3"]
        assert Notification.objects.get(pk=already).to_email == "alex@client.test"
        assert Notification.objects.count() == 3
        # Written twice, inserted once: the second run learns of no row.
        assert (
            insert_rows(
                Notification,
                reminder_columns(world, ["reminder:1", "reminder:3"]),
                REMINDER_CONSTANTS,
                ignore_conflicts=True,
            )
            == []
        )

    def test_without_ignore_conflicts_a_duplicate_fails(self, world) -> None:
        insert_rows(Notification, reminder_columns(world, ["reminder:1"]), REMINDER_CONSTANTS)
        with pytest.raises(IntegrityError):
            insert_rows(Notification, reminder_columns(world, ["reminder:1"]), REMINDER_CONSTANTS)

    def test_ignore_conflicts_is_refused_off_postgresql(self, world) -> None:
        if connection.vendor == "postgresql":
            pytest.skip("PostgreSQL ignores conflicts")
        with pytest.raises(NotSupportedError):
            insert_rows(
                Notification,
                reminder_columns(world, ["reminder:1"]),
                REMINDER_CONSTANTS,
                ignore_conflicts=True,
            )
        assert not Notification.objects.exists()
