"""The {% url %} tag, remembering what it reversed (installed as a template builtin).

Reversing a URL walks the resolver and reads thread-locals on every call; a page
with a form per practice log reverses the same handful of URLs dozens of times per
request. The URLconf never changes while a process runs, so the result for the same
view name, arguments, app, URLconf and script prefix is the same every time; it is
remembered (a bounded LRU). Everything else is Django's own tag: the syntax, `as var`,
NoReverseMatch and escaping.
"""

from functools import lru_cache

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

register = template.Library()


@lru_cache(maxsize=4096)
def _reverse(view_name, args: tuple, kwargs: tuple, current_app, urlconf, prefix: str) -> str:
    return reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)


class CachedURLNode(defaulttags.URLNode):
    def render(self, context: template.Context) -> str:
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple(sorted((k, v.resolve(context)) for k, v in self.kwargs.items()))
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = _reverse(view_name, args, kwargs, current_app, get_urlconf(), get_script_prefix())
        except TypeError:  # an argument that cannot be a cache key: reverse it every time
            url = reverse(view_name, args=args, kwargs=dict(kwargs), current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return template.defaultfilters.conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser: template.base.Parser, token: template.base.Token) -> CachedURLNode:
    node = defaulttags.url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
