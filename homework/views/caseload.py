"""Ending and reopening the work with a client, and handing a client to a colleague.

Each page is the clinician's own (their caseload); a client who is not theirs answers
404 like one that does not exist. The rules live in homework.services.caseload.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import client_for_user_or_404, clinician_required
from accounts.models import Role, User
from core.forms import CheckedForm
from homework.services import caseload as services


def _client_page(client: User) -> str:
    return reverse("homework:client-detail", args=[client.pk])


@clinician_required
@require_http_methods(["GET", "POST"])
def client_discharge(request: HttpRequest, client_id: int) -> HttpResponse:
    """GET asks for confirmation (what discharge does); POST does it."""
    client = client_for_user_or_404(request.user, client_id)
    if request.method == "POST":
        try:
            ended = services.client_discharge(clinician=request.user, client=client)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"{client} is discharged. {ended} plan{'s' if ended != 1 else ''} ended; "
                "their record stays here and they can still read and export it.",
            )
        return redirect(_client_page(client))
    return render(request, "clinician/discharge.html", {"client": client})


@require_POST
@clinician_required
def client_reopen(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    try:
        services.client_reopen(clinician=request.user, client=client)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{client}'s record is open again. You can assign practice.")
    return redirect(_client_page(client))


class HandoverForm(CheckedForm):
    to_clinician = forms.ModelChoiceField(
        label="Hand over to",
        queryset=User.objects.none(),
        empty_label="Choose a colleague",
        error_messages={
            "required": "Choose a colleague in your clinic.",
            "invalid_choice": "Choose a colleague in your clinic.",
        },
    )

    def __init__(self, *args, clinician: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_clinician"].queryset = (
            User.objects.filter(role=Role.CLINICIAN, clinic_id=clinician.clinic_id, is_active=True)
            .exclude(pk=clinician.pk)
            .order_by("full_name", "email")
        )


@clinician_required
@require_http_methods(["GET", "POST"])
def handover_offer(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    form = HandoverForm(request.POST if request.method == "POST" else None, clinician=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.handover_offer(
                    clinician=request.user,
                    client=client,
                    to_clinician=form.cleaned_data["to_clinician"],
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error("to_clinician", message)
            else:
                messages.success(
                    request,
                    f"{client} is offered to {form.cleaned_data['to_clinician']}. They stay on "
                    "your caseload until your colleague accepts.",
                )
                return redirect(_client_page(client))
        return render(
            request, "clinician/handover.html", {"client": client, "form": form}, status=400
        )
    return render(request, "clinician/handover.html", {"client": client, "form": form})


def _handover_action(request: HttpRequest, handover_id: int, action, done: str) -> HttpResponse:
    try:
        action(clinician=request.user, handover_id=handover_id)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect("homework:dashboard")


@require_POST
@clinician_required
def handover_accept(request: HttpRequest, handover_id: int) -> HttpResponse:
    return _handover_action(
        request,
        handover_id,
        services.handover_accept,
        "The client is on your caseload now. They get an email naming you as their clinician.",
    )


@require_POST
@clinician_required
def handover_cancel(request: HttpRequest, handover_id: int) -> HttpResponse:
    return _handover_action(
        request, handover_id, services.handover_cancel, "The handover is withdrawn."
    )
