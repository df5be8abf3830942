"""Audio guides: served only to people who may see the exercise, with byte ranges so a
phone can seek; attached and removed by the clinic's clinicians.

There is never a public URL: every request goes through `exercises_visible_to` (a client
sees only the exercises of their own plans; a clinician their clinic's), and any other
exercise, or one without a recording, is simply not found.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import clinician_required
from accounts.offline import offline_cacheable
from homework.audio import RangeNotSatisfiable, byte_range
from homework.models import Exercise
from homework.selectors.exercises import exercise_for_user_or_404
from homework.services import exercises as services
from homework.views.exercises import _editable_exercise, audio_max_mb

CHUNK = 64 * 1024


def audio_response(request: HttpRequest, exercise: Exercise) -> HttpResponse:
    """The exercise's recording, whole (200) or the one range asked for (206)."""
    if not exercise.audio:
        raise Http404("This practice has no recording.")
    storage = exercise.audio.storage
    try:
        size = storage.size(exercise.audio.name)
    except OSError as error:
        raise Http404("This practice has no recording.") from error
    try:
        wanted = byte_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, length = (0, size) if wanted is None else (wanted.start, wanted.length)

    def chunks():
        with storage.open(exercise.audio.name, "rb") as source:
            source.seek(start)
            left = length
            while left > 0:
                block = source.read(min(CHUNK, left))
                if not block:
                    break
                left -= len(block)
                yield block

    response = StreamingHttpResponse(
        chunks(),
        status=200 if wanted is None else 206,
        content_type=exercise.audio_content_type or "application/octet-stream",
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if wanted is not None:
        response["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    response["Content-Disposition"] = "inline"
    # A recording of a clinician's voice: kept by this browser only, never by a proxy.
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_GET
@offline_cacheable  # the installed app keeps the recordings of a client's current plans
def exercise_audio(request: HttpRequest, exercise_id: int) -> HttpResponse:
    return audio_response(request, exercise_for_user_or_404(request.user, exercise_id))


@require_POST
@clinician_required
def exercise_audio_attach(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _editable_exercise(request, exercise_id)
    upload = request.FILES.get("audio")
    try:
        if upload is None:
            raise ValidationError({"audio": "Choose a recording to attach."})
        services.exercise_audio_attach(exercise=exercise, upload=upload)
    except ValidationError as error:
        return render(
            request,
            "clinician/exercises/audio_refused.html",
            {"exercise": exercise, "errors": error.messages, "audio_max_mb": audio_max_mb()},
            status=400,
        )
    messages.success(request, "The recording is attached. Clients see the steps as its transcript.")
    return redirect("homework:exercise-detail", exercise_id=exercise.pk)


@require_POST
@clinician_required
def exercise_audio_remove(request: HttpRequest, exercise_id: int) -> HttpResponse:
    exercise = _editable_exercise(request, exercise_id)
    if services.exercise_audio_remove(exercise=exercise):
        messages.success(request, "The recording is removed.")
    return redirect("homework:exercise-detail", exercise_id=exercise.pk)
