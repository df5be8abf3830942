"""Eight weeks of made-up practice for the demo clinic, so a first run shows the product.

Runs after accounts' `setup_demo` (bin/run calls both). Each demo client gets one plan
with a story: most practise steadily, one is fading (and so needs attention), one has
just started. Their logs carry ratings, prompt answers and reflections (some kept
private), their clinician replies to some, and the self-compassion questionnaire is
answered every two weeks with a trend. A client who already has a plan is left alone,
so the command is safe on every start.

Rows are written directly rather than through the services: the services log practice
for today and schedule from today, and a demo needs a past.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_DOMAIN
from accounts.models import Role, User
from homework.models import (
    Assignment,
    AssignmentEvent,
    Completion,
    EventAction,
    Exercise,
    Feedback,
    ScheduleKind,
)
from homework.schedule import local_date
from measures.engine import instrument_get
from measures.models import MeasureAssignment, MeasureResponse

HISTORY_DAYS = 56  # eight weeks


@dataclass(frozen=True)
class Story:
    exercise: str  # a built-in's slug
    # Chance of practice on a planned day, for weeks 1..8 (the last is the current week).
    weekly_rate: tuple[float, ...]
    schedule_kind: str = ScheduleKind.DAILY
    times_per_week: int | None = None
    started_days_ago: int = HISTORY_DAYS - 1
    quiet_last_days: int = 0  # no practice at all in these last days
    # How far the questionnaire answers move over the eight weeks (in scale points).
    questionnaire_change: float = 1.0
    note: str = ""


STEADY = (0.85, 0.9, 0.8, 0.9, 0.85, 0.9, 0.85, 0.9)
STORIES = {
    "client1": Story("self-compassion-break", STEADY, note="Whenever the day feels heavy."),
    # Fading: practised well, then less, and nothing for a week: the dashboard flags her.
    "client2": Story(
        "my-compassionate-phrase",
        (0.9, 0.9, 0.8, 0.75, 0.5, 0.35, 0.2, 0.0),
        quiet_last_days=7,
        questionnaire_change=0.2,
        note="Find one phrase that feels like yours.",
    ),
    "client3": Story(
        "compassionate-breathing",
        STEADY,
        schedule_kind=ScheduleKind.TIMES_PER_WEEK,
        times_per_week=3,
        questionnaire_change=1.4,
    ),
    "client4": Story("kindness-phrases-meditation", (0.5, 0.55, 0.6, 0.6, 0.7, 0.65, 0.7, 0.75)),
    # Just started: a plan from three days ago and two logs.
    "client5": Story("self-compassion-break", (1.0,), started_days_ago=2, questionnaire_change=0),
    "client6": Story("soothing-touch", (0.95, 0.9, 0.95, 0.9, 0.95, 0.9, 0.95, 0.9)),
    "client7": Story(
        "compassionate-reframe",
        STEADY,
        schedule_kind=ScheduleKind.TIMES_PER_WEEK,
        times_per_week=4,
    ),
    "client8": Story("kinder-words-for-hard-moments", (0.4, 0.5, 0.6, 0.6, 0.7, 0.75, 0.8, 0.8)),
    "client9": Story("mindful-self-acceptance-check-in", STEADY, questionnaire_change=0.8),
    "client10": Story(
        "responding-to-a-mistake-with-kindness",
        (0.6, 0.6, 0.65, 0.7, 0.7, 0.75, 0.7, 0.8),
        schedule_kind=ScheduleKind.TIMES_PER_WEEK,
        times_per_week=3,
    ),
}

ANSWERS = {
    "moment": ["A tense meeting at work", "Snapped at my partner", "A long queue and a late bus"],
    "phrase": ["May I be kind to myself", "This is hard, and I'm doing my best"],
    "change": ["My shoulders dropped a little", "Calmer, not fixed, but calmer"],
    "phrases": ["May I be safe, may I be at ease"],
    "noticed": ["Restless at first, then quieter", "A warm feeling in my chest"],
    "where": ["Hand on my heart", "Both hands on my arms"],
    "critical_thought": ["I always get this wrong"],
    "compassionate_response": ["You got most of it right, and you can fix the rest"],
    "next_step": ["Ask for ten more minutes next time"],
    "said_to_yourself": ["It makes sense that this hurts"],
    "allowing": ["I let the worry be there for a minute"],
    "mistake": ["Forgot a friend's birthday"],
    "kind_response": ["Everyone forgets sometimes; I can still call her"],
    "step": ["Call her tonight"],
    "when_used": ["On the way home"],
}
REFLECTIONS = [
    "It felt awkward at first, but I was calmer afterwards.",
    "Harder today. I kept at it for a few minutes anyway.",
    "I noticed I was kinder to myself than yesterday.",
    "Used it just before a difficult phone call.",
    "The phrase is starting to feel like mine.",
]
FEEDBACK = [
    "Thank you for sharing this. Noticing that shift is exactly the skill we're building.",
    "Well done for staying with it on a hard day. A few minutes counts.",
    "Lovely to read. Shall we talk about that phone call on Thursday?",
]


def _evening(day: date, user: User) -> datetime:
    return datetime.combine(day, time(19, 30), tzinfo=user.zone)


def _ratings(exercise: Exercise, rng: random.Random, progress: float) -> dict[str, int]:
    """Before/after ratings that ease a little over the weeks (progress 0..1)."""
    # No noise on these: a random rise would raise the dashboard's "distress rising"
    # flag for a client whose story is steady. Only the fading client is flagged.
    before = round(7.4 - 1.5 * progress)
    values: dict[str, int] = {}
    for key in exercise.ratings:
        if key.endswith("_before"):
            values[key] = before
        elif key == "self_kindness_after":
            values[key] = min(10, round(rng.uniform(5, 6) + 3 * progress))
        else:  # an "after" rating of something that should ease
            values[key] = max(0, before - 3)
    return values


def _planned_days(story: Story, start: date, today: date) -> list[date]:
    days = [start + timedelta(days=n) for n in range((today - start).days + 1)]
    if story.schedule_kind != ScheduleKind.TIMES_PER_WEEK:
        return days
    # N a week: spread them over each week (Mon, Wed, Fri, Sun for four).
    weekdays = {3: (0, 2, 4), 4: (0, 2, 4, 6)}.get(story.times_per_week or 3, (0, 2, 4))
    return [day for day in days if day.weekday() in weekdays]


class Command(BaseCommand):
    help = "Give the demo clients eight weeks of practice, questionnaires and feedback."

    def handle(self, *args, **options) -> None:
        clients = (
            User.objects.filter(
                role=Role.CLIENT, email__endswith=DEMO_DOMAIN, assignments__isnull=True
            )
            .select_related("client_profile__clinician")
            .order_by("id")
        )
        loaded = 0
        for client in clients:
            story = STORIES.get(client.email.removesuffix(DEMO_DOMAIN))
            exercise = (
                Exercise.objects.filter(clinic__isnull=True, slug=story.exercise).first()
                if story
                else None
            )
            if story is None or exercise is None:
                continue
            with transaction.atomic():
                self._history(client, story, exercise)
            loaded += 1
        if loaded:
            self.stdout.write(self.style.SUCCESS(f"Demo history loaded for {loaded} client(s)."))

    def _history(self, client: User, story: Story, exercise: Exercise) -> None:
        # Seeded by the address, so every first run tells the same story.
        rng = random.Random(client.email)  # noqa: S311 (made-up data, not a secret)
        clinician = client.client_profile.clinician
        today = local_date(timezone.now(), client.zone)
        start = today - timedelta(days=story.started_days_ago)
        plan = Assignment.objects.create(
            client=client,
            clinician=clinician,
            exercise=exercise,
            schedule_kind=story.schedule_kind,
            times_per_week=story.times_per_week,
            start_date=start,
            note=story.note,
            created_at=_evening(start, client) - timedelta(hours=10),
        )
        AssignmentEvent.objects.create(
            assignment=plan, actor=clinician, action=EventAction.CREATED, created_at=plan.created_at
        )
        quiet_from = today - timedelta(days=story.quiet_last_days - 1)
        # Up to yesterday: today's practice is still to do when a newcomer looks.
        planned = _planned_days(story, start, today - timedelta(days=1))
        for day in planned:
            if story.quiet_last_days and day >= quiet_from:
                continue
            week = min(
                len(story.weekly_rate) - 1, (day - (today - timedelta(HISTORY_DAYS))).days // 7
            )
            if story.started_days_ago < 7:
                week = 0
            skipped = rng.random() > story.weekly_rate[week]
            # Only the fading story goes quiet: everyone else practised on their last
            # planned day, whatever the day the demo is loaded (two skipped days in a row
            # of a few-times-a-week plan would otherwise look like a week without practice).
            if skipped and (story.quiet_last_days or day != planned[-1]):
                continue
            progress = 1 - (today - day).days / HISTORY_DAYS
            shared = rng.random() < 0.7
            log = Completion.objects.create(
                assignment=plan,
                client=client,
                local_date=day,
                minutes=rng.choice([3, 5, 5, 8, 10]),
                answers={
                    p["key"]: rng.choice(ANSWERS.get(p["key"], ["A quiet moment"]))
                    for p in exercise.prompts
                },
                reflection=rng.choice(REFLECTIONS) if rng.random() < 0.6 else "",
                reflection_shared=shared,
                created_at=_evening(day, client),
                **_ratings(exercise, rng, progress),
            )
            if shared and rng.random() < 0.25:
                Feedback.objects.create(
                    completion=log,
                    clinician=clinician,
                    text=rng.choice(FEEDBACK),
                    created_at=_evening(day, client) + timedelta(hours=14),
                    read_at=(
                        _evening(day, client) + timedelta(days=1)
                        if (today - day).days > 2
                        else None
                    ),
                )
        self._questionnaires(client, story, clinician, start, today)

    def _questionnaires(
        self, client: User, story: Story, clinician: User, start: date, today: date
    ) -> None:
        """The SCS-SF every two weeks from the plan's start, answered with a trend."""
        instrument = instrument_get("SCS-SF")
        measure = MeasureAssignment.objects.create(
            client=client,
            clinician=clinician,
            instrument=instrument.code,
            every_weeks=2,
            start_date=start,
            created_at=_evening(start, client) - timedelta(hours=10),
        )
        rng = random.Random(f"{client.email}:scs-sf")  # noqa: S311 (made-up data)
        due = start
        while due <= today:
            if story.quiet_last_days and due > today - timedelta(days=story.quiet_last_days):
                break  # the fading client has not answered the latest one
            progress = (due - start).days / HISTORY_DAYS
            answers = {}
            for item in instrument.items:
                # Reverse-scored items are the harsh ones: they ease as the others rise.
                shift = story.questionnaire_change * progress * (-1 if item.reverse else 1)
                base = 2.4 if not item.reverse else 3.6
                point = round(base + shift + rng.uniform(-0.4, 0.4))
                answers[str(item.n)] = max(instrument.scale_min, min(instrument.scale_max, point))
            MeasureResponse.objects.create(
                client=client,
                measure_assignment=measure,
                instrument=instrument.code,
                instrument_version=instrument.version,
                answers=answers,
                due_date=due,
                local_date=due,
                answered_at=_evening(due, client),
            )
            due += timedelta(weeks=2)
