"""The exercise library for clinicians: browse, preview, copy, write, edit, archive."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import clients_visible_to, clinician_required
from homework.forms.exercises import ExerciseForm, LibraryFilterForm, apply_validation_error
from homework.models import Category, Exercise, Rating
from homework.selectors.exercises import (
    exercise_assignment_count,
    exercise_copies_for,
    exercise_for_user_or_404,
    exercise_library_for,
)
from homework.services import exercises as services


def audio_max_mb() -> int:
    return max(settings.AUDIO_MAX_BYTES // (1024 * 1024), 1)


def _editable_exercise(request: HttpRequest, exercise_id: int) -> Exercise:
    """The caller's clinic exercise; a built-in is visible but read-only (403)."""
    exercise = exercise_for_user_or_404(request.user, exercise_id)
    if exercise.is_builtin:
        raise PermissionDenied("Built-in exercises cannot be changed; copy one to adapt it.")
    return exercise


@clinician_required
def exercise_list(request: HttpRequest) -> HttpResponse:
    filters = LibraryFilterForm(request.GET or None)
    category, archived = "", False
    if filters.is_valid():
        category = filters.cleaned_data["category"]
        archived = filters.cleaned_data["archived"]
    exercises = list(exercise_library_for(request.user, category=category, archived=archived))
    return render(
        request,
        "clinician/exercises/list.html",
        {
            "filters": filters,
            "exercises": exercises,
            "archived": archived,
            "category_labels": dict(Category.choices),
        },
    )


@clinician_required
def exercise_detail(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = exercise_for_user_or_404(request.user, exercise_id)
    clinic_id = request.user.clinic_id
    copied_from = exercise.copied_from
    if copied_from is not None and copied_from.clinic_id not in (None, clinic_id):
        copied_from = None
    return render(
        request,
        "clinician/exercises/detail.html",
        {
            "exercise": exercise,
            "copied_from": copied_from,
            "rating_labels": [
                Rating(key).label for key in exercise.ratings if key in Rating.values
            ],
            "category_label": dict(Category.choices).get(exercise.category, exercise.category),
            "assignment_count": exercise_assignment_count(exercise=exercise, clinic_id=clinic_id),
            "copies": list(exercise_copies_for(exercise=exercise, clinic_id=clinic_id)),
            "clients": list(clients_visible_to(request.user).order_by("full_name", "email")),
            "audio_max_mb": audio_max_mb(),
        },
    )


@clinician_required
def exercise_create(request: HttpRequest) -> HttpResponse:
    form = ExerciseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exercise = services.exercise_create(
                clinic=request.user.clinic, created_by=request.user, **form.service_arguments()
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"“{exercise.title}” was added to your clinic's library.")
            return redirect("homework:exercise-detail", exercise_id=exercise.pk)
    return render(request, "clinician/exercises/form.html", {"form": form, "exercise": None})


@clinician_required
def exercise_edit(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _editable_exercise(request, exercise_id)
    form = ExerciseForm(request.POST or None, exercise=exercise)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.exercise_update(exercise=exercise, **form.service_arguments())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            if changed:
                messages.success(request, "Your changes were saved.")
            else:
                messages.info(request, "Nothing had changed.")
            return redirect("homework:exercise-detail", exercise_id=exercise.pk)
    return render(request, "clinician/exercises/form.html", {"form": form, "exercise": exercise})


@require_POST
@clinician_required
def exercise_copy(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = exercise_for_user_or_404(request.user, exercise_id)
    copy = services.exercise_copy(
        exercise=exercise, clinic=request.user.clinic, created_by=request.user
    )
    messages.success(
        request, f"A copy of “{exercise.title}” is now in your clinic's library. Adapt it here."
    )
    return redirect("homework:exercise-edit", exercise_id=copy.pk)


@require_POST
@clinician_required
def exercise_archive(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _editable_exercise(request, exercise_id)
    if services.exercise_archive(exercise=exercise):
        messages.success(
            request,
            f"“{exercise.title}” was archived. Current assignments carry on; it can no "
            "longer be assigned anew.",
        )
    else:
        messages.info(request, "That exercise was already archived.")
    return redirect("homework:exercise-detail", exercise_id=exercise.pk)


@require_POST
@clinician_required
def exercise_restore(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _editable_exercise(request, exercise_id)
    if services.exercise_restore(exercise=exercise):
        messages.success(request, f"“{exercise.title}” is back in your library.")
    else:
        messages.info(request, "That exercise was not archived.")
    return redirect("homework:exercise-detail", exercise_id=exercise.pk)
