"""Questionnaire and "what helps" panels on homework's pages: Today, Progress and the
clinician's client page (registered with homework.panels when the app is ready).

Each panel adds a fixed number of queries to its page.
"""

from django.http import HttpRequest

from accounts.access import may_write_caseload
from accounts.models import User
from homework.panels import panel_register
from measures.charts import measure_trend_chart, measure_trend_charts, trend_chart_id
from measures.insights import MIN_PRACTICES, SMALL_SAMPLE, what_helps_for_client
from measures.selectors import (
    measure_history,
    measure_statuses,
    measure_trends,
    measures_due,
    risk_flags_for_client,
)

TOP_INSIGHTS = 3


# First on the client page: an urgent flag must not sit below the questionnaires.
@panel_register(page="client_detail", template="clinician/risk_flag_panel.html")
def risk_flags_panel(request: HttpRequest, client: User) -> dict:
    """Open urgent flags with their acknowledge button, then recently acknowledged ones."""
    flags = risk_flags_for_client(client=client)
    return {"client": client, "flags": flags, "open_count": sum(f.is_open for f in flags)}


@panel_register(page="today", template="portal/measure_due_panel.html")
def measures_due_panel(request: HttpRequest, client: User) -> dict:
    """Questionnaires due today."""
    return {"due": measures_due(client=client)}


@panel_register(page="progress", template="portal/measure_progress_panel.html")
def measures_progress_panel(request: HttpRequest, client: User) -> dict:
    """The questionnaire trend and what seems to help."""
    helps = [i for i in what_helps_for_client(client=client) if i.seems_to_help]
    trends = measure_trends(client=client)
    return {
        "trend_charts": [measure_trend_chart(t, chart_id=trend_chart_id(t)) for t in trends],
        "cited": [t.instrument for t in trends],
        "helps": helps[:TOP_INSIGHTS],
        "min_practices": MIN_PRACTICES,
        "small_sample": SMALL_SAMPLE,
    }


@panel_register(page="client_detail", template="clinician/measure_client_panel.html")
def measures_client_panel(request: HttpRequest, client: User) -> dict:
    """Questionnaires, trend, what helps and exports, for the clinician."""
    history = measure_history(client=client)
    return {
        "client": client,
        "can_write": may_write_caseload(request.user),
        "statuses": [s for s in measure_statuses(client=client) if s.measure.status == "active"],
        "latest": history[0] if history else None,
        "trend_charts": measure_trend_charts(client=client, history=history),
        "helps": what_helps_for_client(client=client)[:TOP_INSIGHTS],
        "min_practices": MIN_PRACTICES,
        "small_sample": SMALL_SAMPLE,
    }
