"""The Jinja2 fragments (core/jinja.py): escaped like Django templates, the same links
and dates, and a misspelled name caught by the tests rather than printed as nothing."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from django.template import engines
from django.test import RequestFactory
from django.urls import clear_script_prefix, reverse, set_script_prefix
from django.utils.safestring import mark_safe
from jinja2 import UndefinedError

from core import jinja


def render(source: str, request=None, **values) -> str:
    return engines["jinja2"].from_string(source).render(values, request)


def test_values_are_escaped_and_django_safe_strings_are_not():
    html = render(
        "{{ name }} {{ note|linebreaksbr }} {{ safe }}",
        name='<script>alert("x")</script>',
        note="one\n<b>two</b>",
        safe=mark_safe("<em>kept</em>"),
    )
    assert html == (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; "
        "one<br>&lt;b&gt;two&lt;/b&gt; <em>kept</em>"
    )


def test_the_fragment_tag_renders_a_fragment_escaped_into_a_django_page():
    client = SimpleNamespace(pk=7, get_full_name=lambda: "<b>Ana</b> & co")
    row = SimpleNamespace(
        client=client,
        is_active=True,
        discharged=False,
        reasons=["No practice logged for 6 days"],
        active_assignments=2,
        adherence_7=SimpleNamespace(percent=50),
        adherence_28=SimpleNamespace(percent=None),
        last_practice=None,
        days_since_practice=None,
    )
    page = engines["django"].from_string(
        "{% load fragments %}<table>"
        '{% fragment "clinician/_caseload_rows.jinja" rows=rows can_write=True %}</table>'
    )
    html = page.render({"rows": [row]})
    assert f'<a href="{reverse("homework:client-detail", args=[7])}">' in html
    assert "&lt;b&gt;Ana&lt;/b&gt; &amp; co</a>" in html
    assert "<b>" not in html
    assert "Needs attention: no practice logged for 6 days" in html
    assert '<td data-label="Last 28 days"><span class="muted">no plan</span></td>' in html


def test_links_are_the_same_as_reverse_and_follow_the_script_prefix():
    assert jinja.url("homework:client-detail", 7) == reverse("homework:client-detail", args=[7])
    set_script_prefix("/clinic-a/")
    try:
        assert jinja.url("homework:client-detail", 7) == reverse("homework:client-detail", args=[7])
        assert jinja.url("homework:client-detail", 7).startswith("/clinic-a/")
    finally:
        clear_script_prefix()
        set_script_prefix("/")
    assert not jinja.url("homework:client-detail", 7).startswith("/clinic-a/")


def test_dates_and_plurals_read_as_in_django_templates():
    django_html = engines["django"].from_string(
        '{% load tz %}{{ day|date:"l j F Y" }} '
        '{{ moment|timezone:"Asia/Kolkata"|date:"j M, H:i" }} '
        "{{ n }} day{{ n|pluralize }}"
    )
    values = {"day": date(2026, 12, 6), "moment": datetime(2026, 12, 6, 20, 0, tzinfo=UTC), "n": 2}
    jinja_html = render(
        '{{ day|date("l j F Y") }} {{ moment|in_zone("Asia/Kolkata")|date("j M, H:i") }} '
        "{{ n }} day{{ n|pluralize }}",
        **values,
    )
    assert (
        jinja_html
        == django_html.render({"tz": None, **values})
        == ("Sunday 6 December 2026 7 Dec, 01:30 2 days")
    )


def test_a_form_in_a_fragment_carries_the_requests_csrf_token():
    request = RequestFactory().get("/")
    html = render("{{ csrf_input }}", request=request)
    assert html.startswith('<input type="hidden" name="csrfmiddlewaretoken" value="')
    assert len(html) > len('<input type="hidden" name="csrfmiddlewaretoken" value="">')


def test_a_misspelled_name_fails_under_the_tests():
    with pytest.raises(UndefinedError):
        render("{{ row.clent.pk }}", row={"client": 1})
