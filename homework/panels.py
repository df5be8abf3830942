"""Panels other apps add to homework's pages, without homework importing those apps.

An app registers a function for a page (from its AppConfig.ready()); the page's view
calls panels_render(), which runs each function (so the panel's reads happen in the
view, never in a template tag) and renders its template. The page shows them in the
order the apps were registered.
"""

from collections.abc import Callable
from typing import Literal

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from accounts.models import User

Page = Literal["today", "progress", "client_detail"]
PanelContext = Callable[[HttpRequest, User], dict]

_panels: dict[str, list[tuple[str, PanelContext]]] = {
    "today": [],
    "progress": [],
    "client_detail": [],
}


def panel_register(*, page: Page, template: str) -> Callable[[PanelContext], PanelContext]:
    """Decorate a function (request, client) -> context that fills `template` on `page`."""

    def register(context: PanelContext) -> PanelContext:
        entry = (template, context)
        if entry not in _panels[page]:
            _panels[page].append(entry)
        return context

    return register


def panels_render(*, page: Page, request: HttpRequest, client: User) -> list[SafeString]:
    """Each registered panel of `page`, rendered for `client` as seen by `request.user`."""
    return [
        SafeString(render_to_string(template, context(request, client), request=request))
        for template, context in _panels[page]
    ]
