"""Pages of outreach: reminder preferences, the calendar subscription, and the week pages
the weekly summary emails link to.

Reminder preferences: the portal page and the signed page linked from every email use
one form and one service (client_preferences_update). The signed page needs no login
and grants exactly this: it shows the preference form and nothing else, never any
clinical data.

Week pages: /portal/weeks/<monday>/ shows a client their own week; /clinician/weeks/<monday>/
shows a clinician their caseload's week. Each reader sees only their own data, so there
is no object in the address to refuse; any date is taken to mean the week that contains it.
"""

from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import caseload_reader_required, client_required, clinician_required
from accounts.models import User
from audit.services import audit_record_views
from core.validation import parse_url_date
from homework.schedule import local_date, week_start
from outreach.calendar import (
    calendar_feed_create,
    calendar_feed_for_token,
    calendar_feed_live,
    calendar_feed_revoke,
    calendar_feed_url,
    practice_calendar,
)
from outreach.forms import (
    ClinicianDeviceForm,
    ClinicianSummaryPreferencesForm,
    ReminderChannelForm,
    ReminderPreferencesForm,
)
from outreach.services import (
    CHANNEL_BOTH,
    CHANNEL_EMAIL,
    CHANNEL_PUSH,
    PreferencesLinkError,
    client_preferences_update,
    client_reminders_are_paused,
    clinician_device_set,
    clinician_weekly_summary_set,
    clinician_weekly_summary_wanted,
    preferences_one_click_unsubscribe,
    preferences_token_read,
    push_subscriptions_delete,
    reminder_channels_set,
)
from outreach.summaries import caseload_week, client_week

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


def _channels(user: User, form: ReminderChannelForm | None = None) -> dict:
    """The "how we remind you" part of the Reminders page: the form and the devices."""
    devices = list(user.push_subscriptions.order_by("created_at", "id"))
    profile = user.client_profile
    initial = CHANNEL_EMAIL
    if devices:
        initial = CHANNEL_BOTH if profile.email_reminders else CHANNEL_PUSH
    return {
        "channel_form": form or ReminderChannelForm(initial={"channel": initial}),
        "devices": devices,
        "vapid_public_key": settings.VAPID_PUBLIC_KEY,
    }


@client_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    form, saved = _client_form_submit(request, request.user)
    if saved:
        messages.success(request, SAVED)
        return redirect("outreach:reminder-preferences")
    return render(
        request,
        "portal/reminders.html",
        {"form": form, **_status(request.user), **_channels(request.user)},
        status=400 if request.method == "POST" else 200,
    )


@client_required
@require_POST
def channels(request: HttpRequest) -> HttpResponse:
    """Save how this device reminds the client; the page's script adds the subscription."""
    form = ReminderChannelForm(request.POST)
    profile = request.user.client_profile
    if form.is_valid():
        try:
            reminder_channels_set(profile=profile, **form.service_arguments())
        except ValidationError as error:
            # The subscription's fields are hidden (the script fills them): what is wrong
            # with them is said where the person chose, next to the choice.
            for errors in error.message_dict.values():
                form.add_error("channel", errors)
        else:
            messages.success(request, "How we remind you is saved.")
            return redirect("outreach:reminder-preferences")
    return render(
        request,
        "portal/reminders.html",
        {
            "form": ReminderPreferencesForm(profile=profile, now=timezone.now()),
            **_status(request.user),
            **_channels(request.user, form),
        },
        status=400,
    )


@client_required
@require_POST
def device_remove(request: HttpRequest, device_id: int) -> HttpResponse:
    """Stop notifications on one of the client's own devices; anyone else's is not found."""
    if not push_subscriptions_delete(user=request.user, subscription_id=device_id):
        raise Http404
    messages.success(request, "That device will get no more notifications.")
    return redirect("outreach:reminder-preferences")


# --- A clinician's notices on a device ---


def _clinician_devices_page(
    request: HttpRequest, form: ClinicianDeviceForm | None = None, *, status: int = 200
) -> HttpResponse:
    devices = list(request.user.push_subscriptions.order_by("created_at", "id"))
    initial = CHANNEL_BOTH if devices else CHANNEL_EMAIL
    return render(
        request,
        "clinician/notifications.html",
        {
            "channel_form": form or ClinicianDeviceForm(initial={"channel": initial}),
            "devices": devices,
            "vapid_public_key": settings.VAPID_PUBLIC_KEY,
        },
        status=status,
    )


@clinician_required
@require_http_methods(["GET", "HEAD", "POST"])
def clinician_notifications(request: HttpRequest) -> HttpResponse:
    """Whether this browser shows the clinician's notices as well as the email: the page's
    script subscribes it (static/js/push.js) and fills the form's hidden fields. No page of
    a clinician is ever kept offline: the script registers only the push handler."""
    if request.method != "POST":
        return _clinician_devices_page(request)
    form = ClinicianDeviceForm(request.POST)
    if form.is_valid():
        try:
            clinician_device_set(user=request.user, **form.service_arguments())
        except ValidationError as error:
            for errors in error.message_dict.values():
                form.add_error("channel", errors)
        else:
            messages.success(request, "Notifications on this device are saved.")
            return redirect("outreach:clinician-notifications")
    return _clinician_devices_page(request, form, status=400)


@clinician_required
@require_POST
def clinician_device_remove(request: HttpRequest, device_id: int) -> HttpResponse:
    """Stop notices on one of the clinician's own devices; anyone else's is not found."""
    if not push_subscriptions_delete(user=request.user, subscription_id=device_id):
        raise Http404
    messages.success(request, "That device will get no more notifications.")
    return redirect("outreach:clinician-notifications")


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


# --- Calendar subscription ---


@client_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    return render(
        request, "portal/calendar.html", {"feed": calendar_feed_live(client=request.user)}
    )


@client_required
@require_http_methods(["POST"])
def calendar_create(request: HttpRequest) -> HttpResponse:
    """Make a new address (revoking any old one) and show it this once."""
    feed, token = calendar_feed_create(client=request.user)
    url = calendar_feed_url(token)
    return render(
        request,
        "portal/calendar.html",
        {
            "feed": feed,
            "new_url": url,
            "webcal_url": "webcal://" + url.split("://", 1)[-1],
        },
    )


@client_required
@require_http_methods(["POST"])
def calendar_revoke(request: HttpRequest) -> HttpResponse:
    if calendar_feed_revoke(client=request.user):
        messages.success(request, "Your calendar address no longer works.")
    return redirect("outreach:calendar")


@require_http_methods(["GET", "HEAD"])
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed; the token is the only key, so anything wrong is a plain 404."""
    feed = calendar_feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    response = HttpResponse(
        practice_calendar(client=feed.client), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="practice.ics"'
    response["Cache-Control"] = "private, max-age=900"
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- Week pages ---

# Bars of the minutes chart are drawn in a box this many units high.
CHART_HEIGHT = 100


def _monday_or_404(value: str, today: date) -> date:
    """The Monday of the week named in the address; a future week does not exist yet."""
    day = parse_url_date(value)
    if day is None:
        raise Http404("No such week.")
    monday = week_start(day)
    if monday > week_start(today):
        raise Http404("That week has not begun.")
    return monday


def _neighbours(monday: date, today: date) -> dict:
    following = monday + timedelta(days=7)
    return {
        "previous_monday": monday - timedelta(days=7),
        "next_monday": following if following <= week_start(today) else None,
    }


@client_required
def client_week_page(request: HttpRequest, monday: str) -> HttpResponse:
    client = request.user
    now = timezone.now()
    today = local_date(now, client.zone)
    week_monday = _monday_or_404(monday, today)
    if week_monday.isoformat() != monday:
        return redirect("outreach:client-week", week_monday)
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


@caseload_reader_required
def clinician_week_page(request: HttpRequest, monday: str) -> HttpResponse:
    clinician = request.user
    now = timezone.now()
    today = local_date(now, clinician.zone)
    week_monday = _monday_or_404(monday, today)
    if week_monday.isoformat() != monday:
        return redirect("outreach:clinician-week", week_monday)
    week = caseload_week(clinician=clinician, monday=week_monday, now=now)
    if clinician.is_supervisor:
        # As on the dashboard: a supervisor's look at each client is on their record.
        audit_record_views(
            request=request, target=User, client_ids=[row.client.pk for row in week.rows]
        )
    return render(request, "clinician/week.html", {"week": week, **_neighbours(week_monday, today)})
