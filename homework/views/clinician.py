"""The clinician's caseload, one client's practice, and feedback on a log.

Whether a log's reflection and answers are shown is decided by
homework.selectors.practice.reflection_visible_to, the same rule as the API and
the exports; the clinician always sees that the practice happened, its minutes
and its ratings.
"""

from functools import cache

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from accounts.access import (
    caseload_reader_required,
    client_for_user_or_404,
    clinician_required,
    may_write_caseload,
)
from accounts.models import User
from audit.services import audit_record_view, audit_record_views
from homework import charts
from homework.forms.caseload import CaseloadQueryForm
from homework.forms.clients import NextSessionForm, NoteForm
from homework.forms.completions import FeedbackForm
from homework.models import Completion, Feedback
from homework.page_cache import Rendered, cached_client_page, cached_page
from homework.panels import panels_render
from homework.schedule import local_date
from homework.selectors.caseload import handovers_open_for
from homework.selectors.practice import (
    completion_for_user_or_404,
    inbox_for_clinician,
    inbox_unread_count,
    log_details,
    notes_for_client,
    reflection_visible_to,
)
from homework.selectors.progress import (
    caseload_clients,
    caseload_for_clinician,
    caseload_query,
    client_progress,
)
from homework.services.clients import next_session_set, note_create
from homework.services.feedback import client_replies_mark_read, feedback_create

TIMELINE_PAGE_SIZE = 20
NOTES_SHOWN = 50
INBOX_PAGE_SIZE = 50
CASELOAD_PAGE_SIZE = 50
_PK_MARK = "0000PK0000"


def _reply_fields_auto_id(completion_id: int | str) -> str:
    return f"feedback-{completion_id}-%s"


@cache
def _blank_reply_fields() -> str:
    """The empty reply form's fields, rendered once per process.

    Every log on the page carries the same empty form but for its ids; rendering a
    Django form through its templates twenty times was a third of the page's time
    (docs/benchmarks.md). A form with errors is still rendered in full.
    """
    form = FeedbackForm(auto_id=_reply_fields_auto_id(_PK_MARK))
    return render_to_string("form_fields.html", {"form": form})


@cache
def _unsearched_query_fields(status: str, sort: str) -> str:
    """The caseload's search form without a search (every dashboard view), once per
    filter and order per process: its three fields through Django's form templates
    cost 1.6 ms a view (docs/benchmarks.md)."""
    form = CaseloadQueryForm({"q": "", "status": status, "sort": sort})
    form.is_valid()
    return render_to_string("form_fields.html", {"form": form})


# Stands for the typed search in the searched form's cached fields: letters and digits
# only, so the form's templates print it unchanged.
_SEARCH_MARK = "0000Q0000"


@cache
def _searched_query_fields(status: str, sort: str) -> str | None:
    """The search form's fields for a valid search, with `_SEARCH_MARK` where the search
    goes, once per filter and order per process (each search otherwise renders the three
    fields through Django's form templates, 1.2 ms of a 9 ms page: docs/benchmarks.md).
    None if the mark is not printed exactly once, and the form is rendered in full."""
    form = CaseloadQueryForm({"q": _SEARCH_MARK, "status": status, "sort": sort})
    if not form.is_valid():
        return None
    fields = render_to_string("form_fields.html", {"form": form})
    return fields if fields.count(_SEARCH_MARK) == 1 else None


def _query_fields(query: CaseloadQueryForm) -> str:
    """The search form's fields: as typed, with their messages when it is not valid."""
    if query.is_valid():
        status, sort = query.cleaned_data["status"], query.cleaned_data["sort"]
        typed = query.data.get("q", "")
        if not typed:
            return _unsearched_query_fields(status, sort)
        fields = _searched_query_fields(status, sort)
        if fields is not None:
            # Escaped as the input's template escapes its value (the form was valid, so
            # the mark's field took the same path).
            return mark_safe(fields.replace(_SEARCH_MARK, escape(typed)))
    return render_to_string("form_fields.html", {"form": query})


def _reply_fields(completion_id: int) -> SafeString:
    # Safe: the template escaped the form; the id is an integer.
    return mark_safe(_blank_reply_fields().replace(_PK_MARK, str(int(completion_id))))


@caseload_reader_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The caseload: searched, filtered, sorted and paged over rows computed together; from
    the page cache (homework.page_cache) until any client on it, or their day, changes."""
    now = timezone.now()
    reader = request.user
    clients = caseload_clients(reader)
    if reader.is_supervisor:
        # A clinician's own list is their work; a supervisor reading someone else's
        # caseload is a look at each client on it, and the clients can see it.
        audit_record_views(request=request, target=User, client_ids=[c.pk for c in clients])
    offered_to_me, offered_by_me = handovers_open_for(clinician=reader)
    inbox_count = inbox_unread_count(clinician=reader)

    def page() -> Rendered:
        # Read again, after the versions: what a row shows is never older than its key.
        rows = caseload_for_clinician(clinician=reader, now=now)
        query = CaseloadQueryForm(request.GET)
        status = 200
        shown = rows
        if query.is_valid():
            shown = caseload_query(
                rows,
                search=query.cleaned_data["q"],
                status=query.cleaned_data["status"],
                sort=query.cleaned_data["sort"],
            )
        else:
            status = 400
        page = Paginator(shown, CASELOAD_PAGE_SIZE).get_page(request.GET.get("page"))
        # The page links keep the search, filter and order.
        kept = request.GET.copy()
        kept.pop("page", None)
        response = render(
            request,
            "clinician/dashboard.html",
            {
                "rows": page.object_list,
                "page": page,
                "page_query": kept.urlencode(),
                "query": query,
                "query_fields": _query_fields(query),  # rendered (escaped) by form templates
                "total": len(rows),
                "matching": len(shown),
                "attention_count": sum(1 for row in rows if row.needs_attention),
                "offered_to_me": offered_to_me,
                "offered_by_me": offered_by_me,
                "inbox_count": inbox_count,
                "can_write": may_write_caseload(reader),
            },
            status=status,
        )
        return Rendered(response, until=min((r.until for r in rows if r.until), default=None))

    # Each client's figures are as of their own day; the handovers and the inbox's count
    # are read above, whoever's records they come from.
    days = sorted({(client.timezone, local_date(now, client.zone)) for client in clients})
    handovers = [
        (h.pk, h.client_id, h.from_clinician_id, h.to_clinician_id)
        for h in (*offered_to_me, *offered_by_me)
    ]
    return cached_page(
        request,
        page="dashboard",
        client_ids=[client.pk for client in clients],
        depends_on=[*days, *handovers, ("inbox", inbox_count)],
        render=page,
    )


def _client_page(
    request: HttpRequest,
    client: User,
    *,
    failed_feedback: tuple[Completion, FeedbackForm] | None = None,
    note_form: NoteForm | None = None,
    next_session_form: NextSessionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The client page: from the page cache (homework.page_cache) unless a form on it has
    errors to show."""

    def page() -> Rendered:
        html, keep = _client_page_body(
            request,
            client,
            failed_feedback=failed_feedback,
            note_form=note_form,
            next_session_form=next_session_form,
        )
        response = render(
            request,
            "clinician/client_detail.html",
            # Safe: rendered from the body's template, where every value was escaped.
            {"client": client, "body": mark_safe(html)},
            status=status,
        )
        return Rendered(response, keep=keep)

    if failed_feedback or note_form or next_session_form:
        return page().response
    return cached_client_page(request, page="client_detail", client=client, render=page)


def _client_page_body(
    request: HttpRequest,
    client: User,
    *,
    failed_feedback: tuple[Completion, FeedbackForm] | None,
    note_form: NoteForm | None,
    next_session_form: NextSessionForm | None,
) -> tuple[str, bool]:
    """The page's body, and whether it may be kept: not when it showed replies as new
    (showing them marks them read, so the next view shows them otherwise)."""
    figures = client_progress(client=client)
    completions = (
        Completion.objects.filter(client_id=client.pk)
        .select_related("assignment__exercise")
        .prefetch_related(
            Prefetch("feedback", queryset=Feedback.objects.select_related("clinician"))
        )
        .order_by("-local_date", "-id")
    )
    page = Paginator(completions, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    timeline = [
        (
            log_details(
                completion,
                today=figures.local_date,
                # The logs are those of a client the caller was allowed to open.
                reflection_visible=reflection_visible_to(
                    request.user, completion, record_visible=True
                ),
            ),
            _reply_fields(completion.pk),
        )
        for completion in page.object_list
    ]
    # The replies on this page are shown now, so they leave the inbox; the "new" marks
    # above were taken before this update.
    # (Only when the page shows one: the feedback was prefetched with the logs, so most
    # views of a client write nothing here.)
    with_unread = [
        entry.completion.pk
        for entry, _ in timeline
        if any(f.from_client and f.read_at is None for f in entry.completion.feedback.all())
    ]
    if with_unread:
        client_replies_mark_read(clinician=request.user, completion_ids=with_unread)
    # Every client on a caseload has a profile; an admin's view of one without stays up.
    profile = getattr(client, "client_profile", None)
    html = render_to_string(
        "clinician/_client_detail_body.html",
        {
            "client": client,
            "progress": figures,
            "adherence_chart": charts.adherence_chart(figures.weeks),
            "rating_charts": [charts.ratings_chart(series) for series in figures.rating_series],
            "page": page,
            "timeline": timeline,
            "failed_feedback": failed_feedback,
            "panels": panels_render(page="client_detail", request=request, client=client),
            # A clinician's private notes are theirs: a supervisor reading the caseload
            # does not see them (nor, as with reflections, anything the client kept private).
            "notes": (
                list(notes_for_client(client=client)[:NOTES_SHOWN])
                if may_write_caseload(request.user)
                else []
            ),
            "note_form": note_form or NoteForm(),
            "next_session_form": next_session_form
            or NextSessionForm(
                initial={"next_session_on": profile.next_session_on if profile else None}
            ),
            "profile": profile,
            "can_write": may_write_caseload(request.user),
        },
        request=request,
    )
    return html, not with_unread


@caseload_reader_required
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    # The page shows the client's logs, reflections and ratings: a view of their record.
    audit_record_view(request=request, target=client, client=client)
    return _client_page(request, client)


@clinician_required
@require_http_methods(["POST"])
def feedback_create_view(request: HttpRequest, completion_id: int) -> HttpResponse:
    completion = completion_for_user_or_404(request.user, completion_id)
    form = FeedbackForm(request.POST, auto_id=_reply_fields_auto_id(completion.pk))
    if form.is_valid():
        try:
            feedback_create(
                clinician=request.user, completion=completion, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            form.add_error("text", error.messages)
        else:
            messages.success(
                request, "Your feedback is sent. Your client will see it in their history."
            )
            url = reverse("homework:client-detail", args=[completion.client_id])
            return redirect(f"{url}#log-{completion.pk}")
    # Show the client's page again with this reply and its message at the top, text kept.
    return _client_page(request, completion.client, failed_feedback=(completion, form), status=400)


@clinician_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Clients' replies not yet read, across the caseload; opening the client page reads them."""
    page = Paginator(inbox_for_clinician(clinician=request.user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "clinician/inbox.html", {"page": page})


@clinician_required
@require_http_methods(["POST"])
def note_create_view(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_create(clinician=request.user, client=client, text=form.cleaned_data["text"])
        except ValidationError as error:
            form.add_error("text", error.messages)
        else:
            messages.success(request, "Your note is saved. Only you and your clinic can see it.")
            return redirect(reverse("homework:client-detail", args=[client.pk]) + "#notes")
    return _client_page(request, client, note_form=form, status=400)


@clinician_required
@require_http_methods(["POST"])
def next_session_view(request: HttpRequest, client_id: int) -> HttpResponse:
    client = client_for_user_or_404(request.user, client_id)
    form = NextSessionForm(request.POST)
    if form.is_valid():
        try:
            next_session_set(
                clinician=request.user, client=client, on=form.cleaned_data["next_session_on"]
            )
        except ValidationError as error:
            form.add_error("next_session_on", error.message_dict["next_session_on"])
        else:
            messages.success(request, "The next session date is saved.")
            return redirect(reverse("homework:client-detail", args=[client.pk]) + "#sessions")
    return _client_page(request, client, next_session_form=form, status=400)
