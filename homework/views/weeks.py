"""One week in detail: the pages the weekly summary emails link to.

/portal/weeks/<monday>/ shows a client their own week; /clinician/weeks/<monday>/
shows a clinician their caseload's week. Each reader sees only their own data,
so there is no object in the address to refuse; any date is taken to mean the
week that contains it.
"""

from datetime import date, timedelta

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.access import client_required, clinician_required
from homework import schedule as plan
from homework.summaries import caseload_week, client_week

# Bars of the minutes chart are drawn in a box this many units high.
CHART_HEIGHT = 100


def _monday_or_404(value: str, today: date) -> date:
    """The Monday of the week named in the address; a future week does not exist yet."""
    try:
        day = date.fromisoformat(value)
    except ValueError as error:
        raise Http404("No such week.") from error
    monday = plan.week_start(day)
    if monday > plan.week_start(today):
        raise Http404("That week has not begun.")
    return monday


def _neighbours(monday: date, today: date) -> dict:
    following = monday + timedelta(days=7)
    return {
        "previous_monday": monday - timedelta(days=7),
        "next_monday": following if following <= plan.week_start(today) else None,
    }


@client_required
def client_week_page(request: HttpRequest, monday: str) -> HttpResponse:
    client = request.user
    now = timezone.now()
    today = plan.local_date(now, client.zone)
    week_monday = _monday_or_404(monday, today)
    if week_monday.isoformat() != monday:
        return redirect("homework:client-week", week_monday)
    week = client_week(client=client, monday=week_monday, now=now)
    most = max((minutes for _, minutes in week.minutes_by_day), default=0)
    bars = []
    for index, (day, minutes) in enumerate(week.minutes_by_day):
        height = round(CHART_HEIGHT * minutes / most) if most else 0
        bars.append(
            {
                "day": day,
                "minutes": minutes,
                "height": height,
                "x": index * 40 + 6,
                "y": CHART_HEIGHT + 4 - height,
            }
        )
    return render(
        request,
        "portal/week.html",
        {
            "week": week,
            "bars": bars,
            "chart_height": CHART_HEIGHT,
            **_neighbours(week_monday, today),
        },
    )


@clinician_required
def clinician_week_page(request: HttpRequest, monday: str) -> HttpResponse:
    clinician = request.user
    now = timezone.now()
    today = plan.local_date(now, clinician.zone)
    week_monday = _monday_or_404(monday, today)
    if week_monday.isoformat() != monday:
        return redirect("homework:clinician-week", week_monday)
    week = caseload_week(clinician=clinician, monday=week_monday, now=now)
    return render(request, "clinician/week.html", {"week": week, **_neighbours(week_monday, today)})
