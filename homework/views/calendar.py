"""The client's calendar subscription: the settings page and the secret feed itself."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import client_required
from homework.calendar import (
    calendar_feed_create,
    calendar_feed_for_token,
    calendar_feed_live,
    calendar_feed_revoke,
    calendar_feed_url,
    practice_calendar,
)


@client_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    return render(
        request, "portal/calendar.html", {"feed": calendar_feed_live(client=request.user)}
    )


@client_required
@require_http_methods(["POST"])
def calendar_create(request: HttpRequest) -> HttpResponse:
    """Make a new address (revoking any old one) and show it this once."""
    feed, token = calendar_feed_create(client=request.user)
    url = calendar_feed_url(token)
    return render(
        request,
        "portal/calendar.html",
        {
            "feed": feed,
            "new_url": url,
            "webcal_url": "webcal://" + url.split("://", 1)[-1],
        },
    )


@client_required
@require_http_methods(["POST"])
def calendar_revoke(request: HttpRequest) -> HttpResponse:
    if calendar_feed_revoke(client=request.user):
        messages.success(request, "Your calendar address no longer works.")
    return redirect("homework:calendar")


@require_http_methods(["GET", "HEAD"])
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed; the token is the only key, so anything wrong is a plain 404."""
    feed = calendar_feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    response = HttpResponse(
        practice_calendar(client=feed.client), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="practice.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
