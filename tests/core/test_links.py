"""`{% url %}` through the per-process cache (core/links.py, a template builtin) writes
what Django's own tag writes, whatever the arguments, prefix or namespace."""

import pytest
from django.template import Context, Engine, engines
from django.test import RequestFactory
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from core.links import reverse_cached
from core.templatetags.links import CachedURLNode

SOURCES = [
    "{% url 'homework:dashboard' %}",
    "{% url 'homework:client-detail' pk %}",
    "{% url 'homework:client-detail' client_id=pk %}",
    "{% url name pk %}",
    "{% url 'homework:client-detail' pk as link %}[{{ link }}]",
    "{% url 'no-such-page' as link %}[{{ link }}]",
    "{% url 'admin:index' %}",
]


def both(source: str, **values) -> tuple[str, str]:
    """The project's engine (cached tag) and a plain Django engine (Django's tag)."""
    ours = engines["django"].from_string(source)
    assert any(isinstance(node, CachedURLNode) for node in ours.template.nodelist)
    plain = Engine().from_string(source)
    return ours.render(values), plain.render(Context(values))


@pytest.mark.parametrize("source", SOURCES)
def test_the_cached_tag_writes_what_djangos_tag_writes(source):
    for pk in (1, 7, 7, "12"):
        ours, django = both(source, pk=pk, name="homework:client-detail")
        assert ours == django
    assert both(SOURCES[1], pk=7)[0] == reverse("homework:client-detail", args=[7])


def test_a_name_that_does_not_reverse_raises_every_time():
    for _ in range(2):
        with pytest.raises(NoReverseMatch):
            engines["django"].from_string("{% url 'no-such-page' %}").render({})


def test_the_script_prefix_is_part_of_the_key():
    template = engines["django"].from_string("{% url 'homework:dashboard' %}")
    plain = template.render({})
    set_script_prefix("/clinic-b/")
    try:
        prefixed = template.render({})
    finally:
        clear_script_prefix()
        set_script_prefix("/")
    assert prefixed == "/clinic-b" + plain
    assert template.render({}) == plain


def test_the_requests_namespace_is_part_of_the_key():
    request = RequestFactory().get("/")
    request.current_app = "admin"
    html = engines["django"].from_string("{% url 'admin:index' %}").render({}, request)
    assert html == reverse("admin:index", current_app="admin")


def test_an_argument_that_cannot_be_a_key_is_reversed_each_time():
    class Unhashable(str):
        __hash__ = None

    assert reverse_cached("homework:client-detail", (Unhashable("5"),)) == reverse(
        "homework:client-detail", args=["5"]
    )
