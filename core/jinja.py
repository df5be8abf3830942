"""Jinja2 for the pages' per-row markup: the loops a busy page repeats fifty times.

Django's template language renders a caseload row, a practice log or a plan card at
several times Jinja2's cost (docs/benchmarks.md measured the dashboard's fifty rows),
and those loops were most of the clinician pages' time. So the layouts stay in the
Django templates (base.html, forms, messages, panels) and each hot loop lives in a
`.jinja` file beside its page, included with `{% fragment %}` (core/templatetags/
fragments.py).

The environment escapes everything (`environment()` turns autoescape on;
`tests/core/test_jinja.py` proves it), understands Django's safe strings (they carry
`__html__`), and offers the few Django helpers the fragments use, as the same
functions the Django templates call, so a date reads the same in either engine. A
form in a fragment writes `{{ csrf_input }}` (Django's backend adds it with the request).
"""

import os
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.template import defaultfilters
from django.templatetags.tz import do_timezone
from jinja2 import Environment, StrictUndefined, Undefined

from core.links import reverse_cached


def url(name: str, *args: Any) -> str:
    """`{{ url("homework:client-detail", row.client.pk) }}`, like Django's `{% url %}`."""
    return reverse_cached(name, args)


FILTERS: dict[str, Callable[..., Any]] = {
    "date": defaultfilters.date,
    "time": defaultfilters.time,
    "in_zone": do_timezone,
    "pluralize": defaultfilters.pluralize,
    "linebreaksbr": lambda value: defaultfilters.linebreaksbr(value, autoescape=True),
    "truncatechars": defaultfilters.truncatechars,
    "floatformat": defaultfilters.floatformat,
}


def environment(**options: Any) -> Environment:
    """The Jinja2 backend's environment (settings.TEMPLATES).

    A name a fragment misspells raises in development and in the tests (StrictUndefined;
    tests/conftest.py sets KINDWORK_STRICT_TEMPLATES) instead of printing nothing; in
    production it prints nothing, as a Django template would, rather than fail a page.
    """
    strict = settings.DEBUG or os.environ.get("KINDWORK_STRICT_TEMPLATES") == "1"
    options["undefined"] = StrictUndefined if strict else Undefined
    # Django's backend turns it on already; stated here, as nothing may print unescaped.
    options.pop("autoescape", None)
    env = Environment(autoescape=True, **options)
    env.globals.update(url=url)
    env.filters.update(FILTERS)
    return env
