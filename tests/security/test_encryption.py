"""Encryption at rest: reflections, prompt answers and feedback are ciphertext in the
database, readable through the models, rotatable with old rows still readable."""

import io
from datetime import date

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from core import encryption
from homework.models import Completion, Feedback
from tests.factories import make_assignment, make_completion

CANARY = "canary-at-rest-91d2 I keep thinking I am a failure"
ANSWER = "canary-answer-4e7a the meeting with my boss"
REPLY = "canary-feedback-0c3f that sounds really hard"


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture
def completion(world) -> Completion:
    made = make_completion(
        make_assignment(world.client),
        date(2026, 1, 6),
        reflection=CANARY,
        answers={"moment": ANSWER},
    )
    Feedback.objects.create(completion=made, clinician=world.clinician, text=REPLY)
    return made


def test_it_stores_only_ciphertext(completion):
    reflection, answers = raw(
        "SELECT reflection, answers FROM homework_completion WHERE id = %s", [completion.pk]
    )[0]
    (text,) = raw("SELECT text FROM homework_feedback WHERE completion_id = %s", [completion.pk])[0]
    everything = " ".join(
        str(value) for row in raw("SELECT * FROM homework_completion") for value in row
    )
    everything += " ".join(
        str(value) for row in raw("SELECT * FROM homework_feedback") for value in row
    )
    for secret in (CANARY, ANSWER, REPLY, "failure", "boss", "moment"):
        assert secret not in everything
    for stored in (reflection, answers, text):
        assert stored.startswith(encryption.FERNET_PREFIX)


def test_it_reads_the_text_back_through_the_models(completion):
    fresh = Completion.objects.get(pk=completion.pk)
    assert fresh.reflection == CANARY
    assert fresh.answers == {"moment": ANSWER}
    assert Feedback.objects.get(completion=completion).text == REPLY
    assert list(Completion.objects.values_list("reflection", flat=True)) == [CANARY]


def test_it_encrypts_the_same_text_differently_every_time(world):
    assignment = make_assignment(world.client)
    first = make_completion(assignment, date(2026, 1, 6), reflection="same")
    second = make_completion(assignment, date(2026, 1, 7), reflection="same")
    stored = raw(
        "SELECT reflection FROM homework_completion WHERE id IN (%s, %s)", [first.pk, second.pk]
    )
    assert stored[0][0] != stored[1][0]


def test_it_encrypts_an_empty_reflection_too(world):
    blank = make_completion(make_assignment(world.client), date(2026, 1, 6))
    (stored,) = raw("SELECT reflection FROM homework_completion WHERE id = %s", [blank.pk])[0]
    assert stored.startswith(encryption.FERNET_PREFIX)
    assert Completion.objects.get(pk=blank.pk).reflection == ""


def test_it_refuses_to_search_encrypted_text(completion):
    with pytest.raises(FieldError):
        list(Completion.objects.filter(reflection=CANARY))
    with pytest.raises(FieldError):
        list(Completion.objects.filter(answers__moment=ANSWER))
    with pytest.raises(FieldError):
        list(Feedback.objects.filter(text__icontains="hard"))
    assert Completion.objects.filter(reflection__isnull=False).count() == 1


def test_it_keeps_old_rows_readable_after_a_new_key_and_moves_them_with_the_command(
    completion, settings
):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert Completion.objects.get(pk=completion.pk).reflection == CANARY  # old key still reads

    call_command("reencrypt_fields", stdout=io.StringIO())
    (stored,) = raw("SELECT reflection FROM homework_completion WHERE id = %s", [completion.pk])[0]
    assert Fernet(new_key.encode()).decrypt(stored.encode()).decode() == CANARY

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is retired
    fresh = Completion.objects.get(pk=completion.pk)
    assert (fresh.reflection, fresh.answers) == (CANARY, {"moment": ANSWER})
    assert Feedback.objects.get(completion=completion).text == REPLY


def test_it_refuses_to_show_rows_it_cannot_decrypt(completion, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="could not be decrypted"):
        Completion.objects.get(pk=completion.pk)


def test_it_encrypts_plain_text_left_from_before_encryption(completion):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE homework_completion SET reflection = %s WHERE id = %s",
            ["written before encryption", completion.pk],
        )
    assert Completion.objects.get(pk=completion.pk).reflection == "written before encryption"
    call_command("reencrypt_fields", stdout=io.StringIO())
    (stored,) = raw("SELECT reflection FROM homework_completion WHERE id = %s", [completion.pk])[0]
    assert stored.startswith(encryption.FERNET_PREFIX)
    assert Completion.objects.get(pk=completion.pk).reflection == "written before encryption"
