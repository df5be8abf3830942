"""Panels for pages other helpers own: Today, Progress and the clinician's client page.

Each is one tag that reads its own figures, so those pages and their views need only
a one-line include and stay as they are. Each panel adds a fixed number of queries.
"""

from django import template
from django.http import HttpRequest

from accounts.models import User
from homework.insights import MIN_PRACTICES, SMALL_SAMPLE, what_helps_for_client
from homework.measures.charts import measure_trend_chart, measure_trend_charts, trend_chart_id
from homework.measures.selectors import (
    measure_history,
    measure_statuses,
    measure_trends,
    measures_due,
)

register = template.Library()

TOP_INSIGHTS = 3


@register.inclusion_tag("portal/measure_due_panel.html")
def measures_due_panel(client: User) -> dict:
    """Questionnaires due today, for the portal's Today page."""
    return {"due": measures_due(client=client)}


@register.inclusion_tag("portal/measure_progress_panel.html")
def measures_progress_panel(client: User) -> dict:
    """The questionnaire trend and what seems to help, for the portal's Progress page."""
    helps = [i for i in what_helps_for_client(client=client) if i.seems_to_help]
    trends = measure_trends(client=client)
    return {
        "trend_charts": [measure_trend_chart(t, chart_id=trend_chart_id(t)) for t in trends],
        "cited": [t.instrument for t in trends],
        "helps": helps[:TOP_INSIGHTS],
        "min_practices": MIN_PRACTICES,
        "small_sample": SMALL_SAMPLE,
    }


@register.inclusion_tag("clinician/measure_client_panel.html", takes_context=True)
def measures_client_panel(context: template.Context, client: User) -> dict:
    """Questionnaires, trend, what helps and exports, for the clinician's client page."""
    request: HttpRequest = context["request"]
    history = measure_history(client=client)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "client": client,
        "statuses": [s for s in measure_statuses(client=client) if s.measure.status == "active"],
        "latest": history[0] if history else None,
        "trend_charts": measure_trend_charts(client=client, history=history),
        "helps": what_helps_for_client(client=client)[:TOP_INSIGHTS],
        "min_practices": MIN_PRACTICES,
        "small_sample": SMALL_SAMPLE,
    }
