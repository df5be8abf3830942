"""The clinician's forms about one client: a private note and the next session date."""

from django import forms

from core.forms import CheckedForm
from homework.services.clients import MAX_NOTE_CHARS


class NoteForm(CheckedForm):
    text = forms.CharField(
        label="New private note",
        max_length=MAX_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Never shown to your client.",
        error_messages={
            "required": "Write a few words before saving.",
            "max_length": f"A note can be at most {MAX_NOTE_CHARS:,} characters.",
        },
    )


class NextSessionForm(CheckedForm):
    next_session_on = forms.DateField(
        label="Next session",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty when no session is booked. Your client sees the day on Today.",
        error_messages={"invalid": "Enter a date such as 2026-12-10."},
    )
