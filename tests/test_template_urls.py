"""The {% url %} builtin that remembers what it reversed (clinic/template_urls.py)."""

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse

from clinic import template_urls


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_it_is_the_url_tag_every_template_gets():
    node = Template("{% url 'homework:today' %}").nodelist[0]
    assert isinstance(node, template_urls.CachedURLNode)


def test_it_reverses_as_django_does_with_arguments_from_the_context():
    for pk in (1, 2, 1):  # the repeat comes from the cache and must not be the last one's
        assert render("{% url 'homework:practice' pk %}", pk=pk) == reverse(
            "homework:practice", args=[pk]
        )
    assert render("{% url 'homework:practice' assignment_id=7 %}") == reverse(
        "homework:practice", kwargs={"assignment_id": 7}
    )


def test_it_keeps_the_as_variable_form_and_its_silence_on_no_match():
    assert render("{% url 'homework:today' as link %}[{{ link }}]") == (
        f"[{reverse('homework:today')}]"
    )
    assert render("{% url 'no-such-view' as link %}[{{ link }}]") == "[]"


def test_it_raises_for_an_unknown_view_without_as():
    with pytest.raises(NoReverseMatch):
        render("{% url 'no-such-view' %}")


def test_it_reverses_unhashable_arguments_without_the_cache():
    class Unhashable(int):
        __hash__ = None

    assert render("{% url 'homework:practice' pk %}", pk=Unhashable(5)) == reverse(
        "homework:practice", args=[5]
    )
