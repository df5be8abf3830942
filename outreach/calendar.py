"""A client's private iCalendar feed of their practice times.

The feed lives at a secret URL (/calendar/<token>.ics) that a calendar app polls
without logging in, so the token is the key: 32 random bytes, of which only a
SHA-256 hash is stored. The address is shown once, when it is made; the client
can revoke it (the URL answers 404 from then on) or make a new one (which
revokes the old). Nothing clinical is in the feed: every event is titled
"Practice time", with a link to the portal and no exercise names or notes.

What the feed holds, and why:
- One recurring event per running plan (active, not past its end date), at the
  time its reminders come (outreach.reminders.effective_reminder_time), in the
  client's time zone: DTSTART carries a TZID and the calendar a VTIMEZONE, so
  "18:00" stays 18:00 on the wall clock across daylight-saving changes.
- Recurrence rules rather than a window of expanded events, so the calendar
  shows the plan however far ahead one looks: "every day" is FREQ=DAILY;
  "chosen weekdays" is FREQ=WEEKLY with those days; "N times a week" (any days)
  is FREQ=WEEKLY on SUGGESTED_DAYS[N], spread through the week. An end date
  becomes UNTIL (in UTC, as RFC 5545 asks when DTSTART has a time zone).
- Paused plans are left out while paused; calendar apps re-read the feed every
  few hours (REFRESH-INTERVAL asks for 6), so changes show up by themselves.
"""

import hashlib
import secrets
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vRecur

from accounts.models import Role, User
from core.validation import FIRST_DATE, LAST_DATE
from homework.models import Assignment, AssignmentStatus, ScheduleKind
from homework.schedule import local_date, weekdays_from_mask
from outreach.models import CalendarFeed
from outreach.reminders import effective_reminder_time

EVENT_TITLE = "Practice time"
DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# Days suggested for "N times a week" plans, spread through the week (Monday = 0).
SUGGESTED_DAYS = {
    1: [0],
    2: [0, 3],
    3: [0, 2, 4],
    4: [0, 1, 3, 5],
    5: [0, 1, 2, 3, 4],
    6: [0, 1, 2, 3, 4, 5],
    7: [0, 1, 2, 3, 4, 5, 6],
}
# A calendar app reading the feed marks it used; writing that on every poll is waste.
LAST_USED_RESOLUTION = timedelta(hours=1)
TIMEZONE_YEARS = 10


# --- The secret address ---


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def calendar_feed_url(token: str) -> str:
    return settings.SITE_URL + reverse("outreach:calendar-feed", args=[token])


def calendar_feed_live(*, client: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(client_id=client.pk, revoked_at__isnull=True).first()


@transaction.atomic
def calendar_feed_create(*, client: User, now: datetime | None = None) -> tuple[CalendarFeed, str]:
    """A new secret address; any earlier one stops working. Returns the feed and its token."""
    if not client.is_client:
        raise ValueError("Only clients have a practice calendar.")
    now = now or timezone.now()
    CalendarFeed.objects.filter(client_id=client.pk, revoked_at__isnull=True).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(client=client, token_hash=_hash(token), created_at=now)
    return feed, token


def calendar_feed_revoke(*, client: User, now: datetime | None = None) -> int:
    return CalendarFeed.objects.filter(client_id=client.pk, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def calendar_feed_for_token(token: str, *, now: datetime | None = None) -> CalendarFeed | None:
    """The live feed for a token, or None (unknown, revoked, or the account is closed)."""
    if not token or len(token) > 128:
        return None
    feed = (
        CalendarFeed.objects.select_related("client__client_profile")
        .filter(
            token_hash=_hash(token),
            revoked_at__isnull=True,
            client__is_active=True,
            client__role=Role.CLIENT,
        )
        .first()
    )
    if feed is not None:
        now = now or timezone.now()
        if feed.last_used_at is None or now - feed.last_used_at > LAST_USED_RESOLUTION:
            CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    return feed


# --- The calendar ---


def _first_day(days: list[int], start: date) -> date:
    """The first of the given weekdays on or after start (DTSTART should be an occurrence)."""
    for offset in range(7):
        day = start + timedelta(days=offset)
        if day.weekday() in days:
            return day
    return start


def _recurrence(assignment: Assignment) -> tuple[list[int] | None, str]:
    """(weekdays or None for every day, how the event's description names the rhythm)."""
    if assignment.schedule_kind == ScheduleKind.WEEKDAYS:
        return weekdays_from_mask(assignment.weekdays), "On your chosen days."
    if assignment.schedule_kind == ScheduleKind.TIMES_PER_WEEK:
        times = max(1, min(7, assignment.times_per_week or 1))
        return SUGGESTED_DAYS[times], (
            f"{times} time{'s' if times != 1 else ''} a week, on any days you like; "
            "these are suggested days."
        )
    return None, "Every day."


def practice_event(
    assignment: Assignment, *, at: time, client: User, now: datetime
) -> Event | None:
    """One recurring "Practice time" event for a running plan, or None if it has ended."""
    zone = client.zone
    days, rhythm = _recurrence(assignment)
    first = assignment.start_date if days is None else _first_day(days, assignment.start_date)
    if assignment.end_date is not None and first > assignment.end_date:
        return None
    start = datetime.combine(first, at, tzinfo=zone)
    rule: dict = (
        {"FREQ": "DAILY"}
        if days is None
        else {
            "FREQ": "WEEKLY",
            "BYDAY": [DAY_CODES[d] for d in days],
        }
    )
    if assignment.end_date is not None:
        # Clamped, so a far end (from before the date range was enforced) cannot overflow.
        last = datetime.combine(min(assignment.end_date, LAST_DATE), at, tzinfo=zone)
        rule["UNTIL"] = last.astimezone(UTC)
    portal = settings.SITE_URL + reverse("homework:today")
    event = Event()
    event.add("uid", f"practice-{assignment.pk}@{urlsplit(settings.SITE_URL).hostname}")
    event.add("summary", EVENT_TITLE)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start)
    event.add("duration", timedelta(minutes=max(5, assignment.exercise.typical_minutes)))
    event.add("rrule", vRecur(rule))
    event.add("last-modified", assignment.updated_at.astimezone(UTC))
    event.add("description", f"{rhythm} Open {settings.SITE_NAME} when you're ready: {portal}")
    event.add("url", portal)
    event.add("transp", "TRANSPARENT")
    return event


def practice_calendar(*, client: User, now: datetime | None = None) -> bytes:
    """The client's practice times as an iCalendar file; two queries."""
    now = now or timezone.now()
    today = local_date(now, client.zone)
    profile = getattr(client, "client_profile", None)
    preferred_time = profile.reminder_time if profile else None
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//Practice calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{settings.SITE_NAME}: {EVENT_TITLE}")
    calendar.add("x-wr-timezone", client.timezone)
    calendar.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT6H")
    running = (
        Assignment.objects.filter(client_id=client.pk, status=AssignmentStatus.ACTIVE)
        .exclude(end_date__lt=today)
        # Only plans inside the product's dates (core.validation): anything else can only be
        # data from before the range was enforced, and the feed's arithmetic must not overflow.
        .filter(start_date__gte=FIRST_DATE, start_date__lte=LAST_DATE)
        .select_related("exercise")
        .order_by("start_date", "id")
    )
    first = today
    for assignment in running:
        # The time the plan's reminders come, so the calendar and the emails agree.
        at = effective_reminder_time(
            assignment_time=assignment.reminder_time, preferred_time=preferred_time
        )
        event = practice_event(assignment, at=at, client=client, now=now)
        if event is not None:
            calendar.add_component(event)
            first = min(first, assignment.start_date)
    # The VTIMEZONE spells out the zone's changes from the first event to
    # TIMEZONE_YEARS ahead; apps that know the IANA name (most) use their own rules.
    calendar.add_missing_timezones(
        first_date=first - timedelta(days=366),
        last_date=today + timedelta(days=366 * TIMEZONE_YEARS),
    )
    return calendar.to_ical()
