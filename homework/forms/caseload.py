"""What a clinician asks of their caseload: search, filter, sort. Shared by the
dashboard and the API, so both accept and refuse the same values."""

from django import forms

from core.forms import CheckedForm
from homework.selectors.progress import CASELOAD_FILTERS, CASELOAD_SORTS

MAX_SEARCH_LENGTH = 100


class CaseloadQueryForm(CheckedForm):
    q = forms.CharField(
        label="Search by name or email",
        required=False,
        max_length=MAX_SEARCH_LENGTH,
        error_messages={"max_length": f"Search with at most {MAX_SEARCH_LENGTH} characters."},
    )
    status = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[
            ("", "All clients"),
            *[(key, label) for key, (label, _) in CASELOAD_FILTERS.items()],
        ],
        error_messages={"invalid_choice": "Choose one of the listed filters."},
    )
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[
            ("", "Needing attention first"),
            *[(key, label) for key, (label, _) in CASELOAD_SORTS.items()],
        ],
        error_messages={"invalid_choice": "Choose one of the listed orders."},
    )
