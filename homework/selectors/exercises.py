"""Reads for exercises: who may see which exercise, and the library page's list.

A clinic sees the built-in library plus its own exercises, never another
clinic's. Objects that are not the caller's answer 404, like missing ones.
"""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.models import Role, User
from homework.models import AssignmentStatus, Exercise


def exercises_visible_to(user: User) -> QuerySet[Exercise]:
    """Built-ins and the user's clinic's own exercises, archived ones included.

    A client sees only the exercises assigned to them; an operator admin
    without a clinic sees everything.
    """
    if user.role == Role.CLIENT:
        return Exercise.objects.filter(pk__in=user.assignments.values("exercise_id"))
    if user.role == Role.ADMIN and user.is_superuser and user.clinic_id is None:
        return Exercise.objects.all()
    return Exercise.objects.visible_to_clinic(user.clinic_id)


def exercise_for_user_or_404(user: User, exercise_id: int) -> Exercise:
    exercise = (
        exercises_visible_to(user).select_related("copied_from").filter(pk=exercise_id).first()
    )
    if exercise is None:
        raise Http404("No such exercise.")
    return exercise


def exercise_library_for(
    user: User, *, category: str = "", archived: bool = False
) -> QuerySet[Exercise]:
    """The library page: ordered by category and title, with this clinic's use of each.

    `in_use` counts the clinic's active and paused assignments of the exercise,
    in the same query, so the page costs the same however big the library is.
    """
    exercises = exercises_visible_to(user)
    exercises = (
        exercises.filter(archived_at__isnull=False)
        if archived
        else exercises.filter(archived_at__isnull=True)
    )
    if category:
        exercises = exercises.filter(category=category)
    return exercises.annotate(
        in_use=Count(
            "assignments",
            filter=Q(
                assignments__clinician__clinic_id=user.clinic_id,
                assignments__status__in=[AssignmentStatus.ACTIVE, AssignmentStatus.PAUSED],
            ),
        )
    ).order_by("category", "title", "id")


def exercise_assignment_count(*, exercise: Exercise, clinic_id: int | None) -> int:
    """How many of the clinic's assignments (of any status) use the exercise."""
    return exercise.assignments.filter(clinician__clinic_id=clinic_id).count()


def exercise_copies_for(*, exercise: Exercise, clinic_id: int | None) -> QuerySet[Exercise]:
    """The clinic's own copies of an exercise, to point at them from the original."""
    return Exercise.objects.filter(copied_from=exercise, clinic_id=clinic_id).order_by(
        "title", "id"
    )
