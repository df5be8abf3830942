"""Reminder preferences: the portal page, and the signed page linked from every email.

Both use one form and one service (client_preferences_update). The signed page
needs no login and grants exactly this: it shows the preference form and
nothing else, never any clinical data.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.access import client_required
from accounts.models import User
from homework.forms.preferences import ClinicianSummaryPreferencesForm, ReminderPreferencesForm
from homework.services.preferences import (
    PreferencesLinkError,
    client_preferences_update,
    client_reminders_are_paused,
    clinician_weekly_summary_set,
    clinician_weekly_summary_wanted,
    preferences_one_click_unsubscribe,
    preferences_token_read,
)

SAVED = "Your reminder settings are saved."


def _client_form_submit(request: HttpRequest, user: User) -> tuple[ReminderPreferencesForm, bool]:
    """Bind, validate and save the client's form. Returns (form, saved)."""
    profile = user.client_profile
    now = timezone.now()
    form = ReminderPreferencesForm(
        request.POST if request.method == "POST" else None, profile=profile, now=now
    )
    if request.method != "POST" or not form.is_valid():
        return form, False
    try:
        client_preferences_update(profile=profile, now=now, **form.service_arguments())
    except ValidationError as error:
        form.add_error(None, error)
        return form, False
    return form, True


def _status(user: User) -> dict:
    profile = user.client_profile
    paused = client_reminders_are_paused(profile=profile)
    return {
        "profile": profile,
        "paused_until": profile.reminders_paused_until if paused else None,
        "zone_name": user.timezone.replace("_", " "),
    }


@client_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    form, saved = _client_form_submit(request, request.user)
    if saved:
        messages.success(request, SAVED)
        return redirect("homework:reminder-preferences")
    return render(
        request,
        "portal/reminders.html",
        {"form": form, **_status(request.user)},
        status=400 if request.method == "POST" else 200,
    )


# The token in the path is the credential: a forged cross-site POST would need it,
# and mail providers' RFC 8058 one-click POSTs carry no CSRF cookie. Hence exempt.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def preferences_signed(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = preferences_token_read(token=token)
    except PreferencesLinkError as error:
        return render(
            request,
            "portal/reminders_link_invalid.html",
            {"reason": str(error), "expired": error.expired},
            status=400 if error.expired else 404,
        )
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        try:
            done = preferences_one_click_unsubscribe(link=link)
        except PreferencesLinkError as error:
            return HttpResponse(str(error), status=404, content_type="text/plain")
        return HttpResponse(done, content_type="text/plain; charset=utf-8")

    user = link.user
    if user.is_clinician:
        return _clinician_signed(request, user)
    form, saved = _client_form_submit(request, user)
    if saved:
        messages.success(request, SAVED)
        return redirect(request.path)
    return render(
        request,
        "portal/reminders_signed.html",
        {"form": form, **_status(user)},
        status=400 if request.method == "POST" else 200,
    )


def _clinician_signed(request: HttpRequest, user: User) -> HttpResponse:
    form = ClinicianSummaryPreferencesForm(
        request.POST if request.method == "POST" else None,
        initial={"weekly_summary": clinician_weekly_summary_wanted(user=user)},
    )
    if request.method == "POST" and form.is_valid():
        clinician_weekly_summary_set(user=user, enabled=form.cleaned_data["weekly_summary"])
        messages.success(request, "Your summary setting is saved.")
        return redirect(request.path)
    return render(request, "portal/reminders_signed.html", {"form": form, "clinician": True})
