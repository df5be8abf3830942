"""The framework floor the benchmarks compare against, served by the app's own server.

Mounted at /bench/floor/ only when settings.BENCH_FLOOR is on (KINDWORK_BENCH_FLOOR=1,
set by bench/run.py); a normal deployment never routes here (tests/test_bench_floor.py).

- plain: a bare Django view, no database: the cost of the stack itself.
- drf:   a DRF view doing one indexed query (a primary-key lookup), no authentication:
         the floor the performance targets are ratios of.
- list:  a DRF list of 50 serialized rows, one query: a reference point for list pages.
"""

import itertools

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from homework.models import Completion

# Different rows on successive requests, so the floor is not one hot cached tuple.
_LOOKUP_SPREAD = 1000
_counter = itertools.count()


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


class OneQueryView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request: Request) -> Response:
        user_id = next(_counter) % _LOOKUP_SPREAD + 1
        row = User.objects.filter(pk=user_id).values("id", "timezone", "role").first()
        return Response({"user": row})


class _CompletionRow(serializers.ModelSerializer):
    class Meta:
        model = Completion
        fields = ["id", "assignment", "local_date", "minutes", "distress_before", "distress_after"]


class ListView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request: Request) -> Response:
        rows = Completion.objects.order_by("-id")[:50]
        return Response(_CompletionRow(rows, many=True).data)


urlpatterns = [
    path("plain/", plain, name="bench-floor-plain"),
    path("drf/", OneQueryView.as_view(), name="bench-floor-drf"),
    path("list/", ListView.as_view(), name="bench-floor-list"),
]
