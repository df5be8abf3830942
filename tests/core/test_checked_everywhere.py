"""The input rules are applied as a class: every form and every serializer of the
product mixes in the checks, so a new one cannot forget them."""

import importlib
import inspect
import pkgutil

import pytest
from django import forms
from rest_framework import serializers

from core.api import StrictSerializerMixin
from core.forms import CheckedFormMixin

PRODUCT_APPS = ("accounts", "audit", "homework", "measures", "outreach", "records")


def product_classes(base: type) -> list[type]:
    found: dict[str, type] = {}
    for app in PRODUCT_APPS:
        package = importlib.import_module(app)
        modules = [package]
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name or ".management" in info.name:
                continue
            modules.append(importlib.import_module(info.name))
        for module in modules:
            for _name, value in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(value, base)
                    and value.__module__.split(".")[0] in PRODUCT_APPS
                    and not issubclass(value, serializers.ListSerializer)
                ):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return sorted(found.values(), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


FORMS = product_classes(forms.BaseForm)
SERIALIZERS = product_classes(serializers.BaseSerializer)


def test_the_walk_finds_the_product_forms_and_serializers():
    names = {cls.__name__ for cls in FORMS + SERIALIZERS}
    assert {"CompletionForm", "AssignmentForm", "CompletionCreateSerializer"} <= names
    assert len(FORMS) > 15 and len(SERIALIZERS) > 30


@pytest.mark.parametrize("form_class", FORMS, ids=lambda cls: cls.__qualname__)
def test_every_form_checks_text_and_dates(form_class):
    assert issubclass(form_class, CheckedFormMixin)


@pytest.mark.parametrize("serializer_class", SERIALIZERS, ids=lambda cls: cls.__qualname__)
def test_every_serializer_refuses_unknown_fields(serializer_class):
    assert issubclass(serializer_class, StrictSerializerMixin)
