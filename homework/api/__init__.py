"""The homework part of the REST API (/api/v1/); URLs in clinic/api_urls.py."""

from homework.api.assignments import AssignmentViewSet
from homework.api.clients import ClientViewSet, OwnProgressView
from homework.api.exercises import ExerciseViewSet
from homework.api.practice import CompletionViewSet, InboxView, PhrasesView, TodayView

__all__ = [
    "AssignmentViewSet",
    "ClientViewSet",
    "CompletionViewSet",
    "ExerciseViewSet",
    "InboxView",
    "OwnProgressView",
    "PhrasesView",
    "TodayView",
]
