from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import clinician_required


@clinician_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "clinician/dashboard.html", {})
