"""The clinic overview for its admins: how the clinic is doing, never how one client is.

Counts only. Adherence is shown as a distribution (how many clients fall in each band
of "done as planned" over the last 28 days), so no figure on the page belongs to an
identifiable person. A fixed handful of queries whatever the clinic's size.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.models import Clinic, Invitation, Role, User
from homework import charts
from homework.models import Assignment, Completion
from homework.schedule import local_date, plans_adherence
from homework.selectors.practice import schedules_for, with_status_event_flag
from measures.models import RiskFlag
from notifications.models import Notification

ADHERENCE_DAYS = 28
# (lowest percent, label); each band runs up to the next one's lowest.
ADHERENCE_BANDS = [(0, "0 to 24%"), (25, "25 to 49%"), (50, "50 to 74%"), (75, "75 to 100%")]
UNDELIVERED = [Notification.Status.PENDING, Notification.Status.SENDING]


@dataclass(frozen=True)
class DeliveryHealth:
    pending: int  # queued or being sent
    failed: int  # gave up after its retries
    oldest_pending_age: timedelta | None

    @property
    def oldest_pending_text(self) -> str:
        if self.oldest_pending_age is None:
            return "none waiting"
        minutes = int(self.oldest_pending_age.total_seconds() // 60)
        if minutes < 60:
            return f"{minutes} minute{'s' if minutes != 1 else ''}"
        hours = minutes // 60
        if hours < 48:
            return f"{hours} hour{'s' if hours != 1 else ''}"
        return f"{hours // 24} days"


@dataclass(frozen=True)
class ClinicOverview:
    clinic: Clinic
    active_clients: int
    active_clinicians: int
    active_supervisors: int
    invitations_pending: int
    band_counts: list[tuple[str, int]]  # (label, clients) for clients with a plan
    without_plan: int  # active clients with nothing planned in the window
    email: DeliveryHealth
    push: DeliveryHealth
    open_urgent_flags: int  # not yet acknowledged by a clinician

    @property
    def with_plan(self) -> int:
        return sum(count for _label, count in self.band_counts)

    def adherence_chart(self) -> charts.Chart:
        total = self.with_plan
        shares = [round(100 * count / total) if total else 0 for _label, count in self.band_counts]
        rows = [
            [label, str(count), f"{share}%"]
            for (label, count), share in zip(self.band_counts, shares, strict=True)
        ]
        if total:
            biggest = max(self.band_counts, key=lambda band: band[1])
            summary = (
                f"Of {total} client{'s' if total != 1 else ''} with a plan in the last "
                f"{ADHERENCE_DAYS} days, the most ({biggest[1]}) did {biggest[0]} of what "
                f"was planned."
            )
        else:
            summary = f"No client had a plan in the last {ADHERENCE_DAYS} days."
        return charts.bar_chart(
            chart_id="clinic-adherence",
            title=f"Clients by practice done as planned, last {ADHERENCE_DAYS} days",
            summary=summary,
            labels=[label for label, _count in self.band_counts],
            values=[float(share) for share in shares],
            columns=["Done as planned", "Clients", "Share of clients"],
            rows=rows,
        )


def _band_of(ratio: float) -> int:
    percent = ratio * 100
    index = 0
    for position, (lowest, _label) in enumerate(ADHERENCE_BANDS):
        if percent >= lowest:
            index = position
    return index


def _adherence_bands(clients: list[User], now: datetime) -> tuple[list[int], int]:
    """How many clients fall in each band, and how many had nothing planned; 3 queries."""
    zones = {client.pk: client.zone for client in clients}
    todays: dict[int, date] = {pk: local_date(now, zone) for pk, zone in zones.items()}
    counts = [0] * len(ADHERENCE_BANDS)
    if not clients:
        return counts, 0
    earliest = min(todays.values()) - timedelta(days=ADHERENCE_DAYS)
    assignments = list(
        with_status_event_flag(
            Assignment.objects.filter(client_id__in=list(zones)).exclude(end_date__lt=earliest)
        )
    )
    schedules = schedules_for(assignments, zone_of=zones)
    done: dict[int, set[date]] = defaultdict(set)
    for assignment_id, day in (
        Completion.objects.filter(assignment__in=assignments, local_date__gte=earliest)
        .order_by()
        .values_list("assignment_id", "local_date")
    ):
        done[assignment_id].add(day)
    plans: dict[int, list] = defaultdict(list)
    for assignment in assignments:
        plans[assignment.client_id].append(
            (schedules[assignment.pk], done.get(assignment.pk, set()))
        )
    without_plan = 0
    for pk, today in todays.items():
        ratio = plans_adherence(
            plans.get(pk, []), today - timedelta(days=ADHERENCE_DAYS - 1), today, today=today
        ).ratio
        if ratio is None:
            without_plan += 1
        else:
            counts[_band_of(ratio)] += 1
    return counts, without_plan


def _delivery_health(clinic: Clinic, now: datetime) -> dict[str, DeliveryHealth]:
    """Email and push side by side, in one query: a channel is only healthy on its own."""
    # An invitation's email has no recipient account yet: it belongs to the clinic
    # through the invitation sent to that address.
    invited = Invitation.objects.filter(clinic=clinic).values("email")
    ours = Q(recipient__clinic=clinic) | Q(
        recipient__isnull=True, kind=Notification.Kind.INVITATION, to_email__in=invited
    )
    figures = {}
    for channel in (Notification.Channel.EMAIL, Notification.Channel.PUSH):
        on_channel = Q(channel=channel)
        figures |= {
            f"{channel}_pending": Count("pk", filter=on_channel & Q(status__in=UNDELIVERED)),
            f"{channel}_failed": Count(
                "pk", filter=on_channel & Q(status=Notification.Status.FAILED)
            ),
            f"{channel}_oldest": Min("created_at", filter=on_channel & Q(status__in=UNDELIVERED)),
        }
    counted = Notification.objects.filter(ours).aggregate(**figures)
    health = {}
    for channel in (Notification.Channel.EMAIL, Notification.Channel.PUSH):
        oldest = counted[f"{channel}_oldest"]
        health[channel] = DeliveryHealth(
            pending=counted[f"{channel}_pending"],
            failed=counted[f"{channel}_failed"],
            oldest_pending_age=None if oldest is None else max(timedelta(0), now - oldest),
        )
    return health


def clinic_overview(*, clinic: Clinic, now: datetime | None = None) -> ClinicOverview:
    now = now or timezone.now()
    people = User.objects.filter(clinic=clinic, is_active=True).aggregate(
        clients=Count("pk", filter=Q(role=Role.CLIENT)),
        clinicians=Count("pk", filter=Q(role=Role.CLINICIAN)),
        supervisors=Count("pk", filter=Q(role=Role.SUPERVISOR)),
    )
    clients = list(
        User.objects.filter(clinic=clinic, is_active=True, role=Role.CLIENT).only("id", "timezone")
    )
    counts, without_plan = _adherence_bands(clients, now)
    delivery = _delivery_health(clinic, now)
    return ClinicOverview(
        clinic=clinic,
        active_clients=people["clients"],
        active_clinicians=people["clinicians"],
        active_supervisors=people["supervisors"],
        invitations_pending=Invitation.objects.filter(
            clinic=clinic, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).count(),
        band_counts=[
            (label, count) for (_lowest, label), count in zip(ADHERENCE_BANDS, counts, strict=True)
        ],
        without_plan=without_plan,
        email=delivery[Notification.Channel.EMAIL],
        push=delivery[Notification.Channel.PUSH],
        # Any client of the clinic, active or not: a flag stays open until a clinician
        # has looked, whatever became of the account since.
        open_urgent_flags=RiskFlag.objects.filter(
            client__clinic=clinic, acknowledged_at__isnull=True
        ).count(),
    )
