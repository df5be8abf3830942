"""The base of every form in the product: the same text and date rules as the API.

A form that mixes in CheckedFormMixin gets core.validation's checks on each of its
text fields (except passwords, which are only ever compared and hashed) and its date
fields, and a length limit on text that has none of its own.
"""

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator

from core.validation import DEFAULT_MAX_TEXT_CHARS, validate_date_in_range, validate_text


def check_form_field(field: forms.Field) -> None:
    """Add the product's text and date validators to one form field (in place, once)."""
    if validate_text in field.validators or validate_date_in_range in field.validators:
        return
    if isinstance(field, forms.UUIDField | forms.JSONField):
        # Text fields by inheritance only: their cleaned value is a UUID or parsed JSON.
        return
    if isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
        field.validators.append(validate_text)
        if field.max_length is None:
            field.max_length = DEFAULT_MAX_TEXT_CHARS
            field.validators.append(MaxLengthValidator(DEFAULT_MAX_TEXT_CHARS))
    elif isinstance(field, forms.DateField | forms.DateTimeField):
        field.validators.append(validate_date_in_range)
    elif isinstance(field, forms.MultiValueField):
        for inner in field.fields:
            check_form_field(inner)


class CheckedFormMixin:
    """Mix in before forms.Form / forms.ModelForm (or a form class derived from them)."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # self.fields is this instance's deep copy, so the class's fields stay untouched.
        for field in self.fields.values():
            check_form_field(field)


class CheckedForm(CheckedFormMixin, forms.Form):
    pass


class CheckedModelForm(CheckedFormMixin, forms.ModelForm):
    pass
