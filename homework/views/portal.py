from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import client_required


@client_required
def today(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/today.html", {})
