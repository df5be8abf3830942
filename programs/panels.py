"""Course panels on homework's pages: "Week 3 of 8" on Today, the course week by week on
Progress, and the course with its actions on the clinician's client page (registered
with homework.panels when the app is ready). Each adds a fixed number of queries."""

from django.http import HttpRequest

from accounts.models import User
from homework.panels import panel_register
from programs.selectors import course_for_client


@panel_register(page="today", template="portal/course_today_panel.html")
def course_today_panel(request: HttpRequest, client: User) -> dict:
    return {"course": course_for_client(client=client)}


@panel_register(page="progress", template="portal/course_progress_panel.html")
def course_progress_panel(request: HttpRequest, client: User) -> dict:
    return {"course": course_for_client(client=client)}


@panel_register(page="client_detail", template="clinician/course_client_panel.html")
def course_client_panel(request: HttpRequest, client: User) -> dict:
    return {"course": course_for_client(client=client), "client": client}
