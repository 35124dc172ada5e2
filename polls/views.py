from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from beebeta import analytics
from beebeta.views import too_many_requests
from polls import cache_keys, fragments, ratelimit, reads, search, services
from polls.forms import AskForm, ReportForm, VoteForm
from polls.insights.counting import count_view
from polls.models import CARD_PREFETCH, PUBLIC_STATUSES, Question, Tag
from polls.paging import DEFAULT_ORDER, ORDERS, BadCursor, paginate
from polls.results import choice_results
from polls.templatetags.beebeta import ago


def _list_body(request: HttpRequest, *, scope: str, tag: Tag | None) -> tuple[str, str] | None:
    """The rendered rows and pager of one list page, cached for everyone alike."""
    order = ORDERS.get(request.GET.get("order", ""), ORDERS[DEFAULT_ORDER])
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    key = cache_keys.list_page(scope, order.key, after, before)
    body = cache.get(key)
    if body is None:
        queryset = Question.objects.rows_for_cards()
        if tag is not None:
            queryset = queryset.filter(tags=tag)
        # Public questions, one status at a time: each is read straight from its sort index.
        public = [Q(status=status) for status in PUBLIC_STATUSES]
        try:
            page = paginate(
                queryset, order, after=after, before=before, parts=public, prefetch=CARD_PREFETCH
            )
        except BadCursor:
            return None
        body = render_to_string("polls/_question_rows.html", {"page": page, "order": order})
        cache.set(key, body, settings.LIST_CACHE_SECONDS)
    return order.key, body


def _render_list(
    request: HttpRequest, template: str, *, scope: str, tag: Tag | None = None, **context
):
    listed = _list_body(request, scope=scope, tag=tag)
    if listed is None:
        # A cursor we did not make (edited or truncated link): start over.
        return redirect(request.path)
    order_key, body = listed
    context.update(
        {"orders": ORDERS.values(), "current_order": order_key, "rows": mark_safe(body), "tag": tag}  # noqa: S308  (rendered with autoescape above)
    )
    return render(request, template, context)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return _render_list(request, "polls/home.html", scope="home")


@require_GET
def tag_list(request: HttpRequest) -> HttpResponse:
    return render(request, "polls/tag_list.html", {"tags": reads.tag_cloud()})


@require_GET
def tag_detail(request: HttpRequest, slug: str) -> HttpResponse:
    tag = reads.tag(slug)
    if tag is None:
        raise Http404("No such tag.")
    return _render_list(request, "polls/tag_detail.html", scope=f"tag:{tag.pk}", tag=tag)


@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    outcome = search.search(request.GET.get("q", ""))
    context = {
        "outcome": outcome,
        "search_query": outcome.query,
        "tags": reads.tag_cloud() if not outcome.searched else [],
    }
    return render(request, "polls/search.html", context)


def _user_id(request: HttpRequest) -> int | None:
    return request.user.pk if request.user.is_authenticated else None


@require_GET
def question_detail(request: HttpRequest, slug: str) -> HttpResponse:
    page = reads.question_page(slug, _user_id(request))
    if page is None:
        raise Http404("No such question.")
    # One memcached increment, no SQL; `manage.py flush_view_counts` writes the counts.
    count_view(question_id=page.question.pk, user=request.user)
    analytics.track_question(request, "Question Viewed", page.question)
    return _render_question(request, page)


def _render_question(
    request: HttpRequest, page: reads.QuestionPage, form: VoteForm | None = None, status: int = 200
) -> HttpResponse:
    question, now = page.question, timezone.now()
    choices, mine = page.choices, page.mine
    has_voted = bool(mine)
    closed = question.is_closed(now)
    visible = question.results_visible_to(has_voted=has_voted, now=now)
    # The head, the choices and the results come from polls/fragments.py: rendered once per
    # cached question and counts (their stamps), the visitor's choices and what time changes.
    # Data cached before the stamps existed, and a form with errors, are rendered every time.
    stamp = getattr(question, "render_stamp", None)
    counts_stamp = getattr(page.counts, "stamp", None)

    def part(
        key: tuple, template: str, context: Callable[[], dict], *, reuse: bool = True
    ) -> SafeString:
        if stamp is None or not reuse:
            return mark_safe(render_to_string(template, context()))  # noqa: S308  (autoescaped)
        return fragments.render((template, stamp, *key), template, context)

    def options() -> dict:
        chosen = form or VoteForm(
            initial={"choice": list(mine)}, question=question, choices=choices
        )
        # Each radio button or checkbox with its choice, for the choice's picture.
        return {"form": chosen, "options": list(zip(chosen["choice"], choices, strict=True))}

    head = part(
        (closed, ago(question.published_at)),
        "polls/_question_head.html",
        lambda: {"question": question, "closed": closed},
    )
    context = {
        "question": question,
        "head": head,
        "options": None
        if closed
        else part((mine,), "polls/_vote_options.html", options, reuse=form is None),
        "closed": closed,
        "has_voted": has_voted,
        "results": None,
    }
    if visible:
        context["results"] = part(
            (counts_stamp, mine, closed),
            "polls/_results.html",
            lambda: {
                "question": question,
                "closed": closed,
                "results": choice_results(choices, page.counts, set(mine)),
                "voters": page.counts.voters,
            },
            reuse=counts_stamp is not None,
        )
    return render(request, "polls/question_detail.html", context, status=status)


_VOTE_MESSAGES = {
    (True, True): "Thank you: your vote is counted.",
    (False, True): "Your vote is changed. Only your new choice counts.",
    (False, False): "Your vote is unchanged.",
}


@require_POST
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    # The question alone: the counts and the ballot change with every vote, so reading them here
    # would cost MySQL queries on each one. They are read only to show the form again.
    question = reads.public_question(slug)
    if question is None:
        raise Http404("No such question.")
    if not request.user.is_authenticated:
        # Back to the question, not to this POST-only address.
        return redirect_to_login(question.get_absolute_url())
    if not ratelimit.allow(
        scope="vote",
        key=str(request.user.pk),
        limit=settings.VOTE_RATE_LIMIT,
        window=settings.VOTE_RATE_WINDOW_SECONDS,
    ):
        return too_many_requests(retry_after=settings.VOTE_RATE_WINDOW_SECONDS)
    form = VoteForm(request.POST, question=question, choices=list(question.choices.all()))
    if form.is_valid():
        try:
            outcome = services.cast_vote(
                user=request.user, question=question, choice_ids=form.cleaned_data["choice"]
            )
        except services.VoteRejected as exc:
            form.add_error("choice", str(exc))
        else:
            if outcome.changed:
                event = "Vote Cast" if outcome.first else "Vote Changed"
                analytics.track_question(
                    request,
                    event,
                    question,
                    choice_ids=outcome.choice_ids,
                    previous_choice_ids=list(outcome.previous_ids),
                )
            messages.success(request, _VOTE_MESSAGES[(outcome.first, outcome.changed)])
            return redirect(question)
    page = reads.question_page(slug, request.user.pk)
    if page is None:  # hidden or deleted a moment ago
        raise Http404("No such question.")
    return _render_question(request, page, form, status=400)


# --- Asking ---------------------------------------------------------------------------------


def _active_user(request: HttpRequest) -> AbstractBaseUser:
    if not request.user.is_active:
        raise PermissionDenied("This account is not active.")
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    user = _active_user(request)
    if request.method == "GET":
        return _render_ask(request, AskForm(user=user))
    form = AskForm(request.POST, request.FILES, user=user)
    # "Add another choice" and "Remove" work without JavaScript: they submit
    # the whole form, which comes back with everything typed and no errors.
    if "add_choice" in request.POST:
        return _render_ask(request, form.rearranged(add=True))
    if "remove_choice" in request.POST:
        return _render_ask(request, form.rearranged(remove=_row(request.POST["remove_choice"])))
    if not form.is_valid():
        return _render_ask(request, form, status=400)
    if not request.POST.get("confirm"):
        similar = search.similar_questions(form.cleaned_data["title"])
        if similar:
            return _render_ask(request, form, similar=similar)
    question = services.ask_question(author=user, **form.question_fields())
    analytics.track_question(
        request,
        "Question Asked",
        question,
        choice_ids=question.choices.values_list("pk", flat=True),
        status=question.status,
    )
    if question.status == Question.Status.PUBLISHED:
        messages.success(
            request, "Your question is published. Share it and watch the votes come in."
        )
        return redirect(question)
    return redirect("polls:ask_pending")


def _row(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def _render_ask(
    request: HttpRequest, form: AskForm, *, similar: list[Question] | None = None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "choices": form.choices, "similar": similar or []}
    return render(request, "polls/ask.html", context, status=status)


@login_required
@require_GET
def ask_pending(request: HttpRequest) -> HttpResponse:
    waiting = Question.objects.filter(author=request.user, status=Question.Status.PENDING)
    return render(request, "polls/ask_pending.html", {"waiting": waiting.order_by("-created_at")})


# --- Reporting ------------------------------------------------------------------------------


def _get_reportable_question(slug: str) -> Question:
    question = Question.objects.public().filter(slug=slug).first()
    # MySQL compares slugs without regard to case; a question has one address.
    if question is None or question.slug != slug:
        raise Http404("No such question.")
    return question


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, slug: str) -> HttpResponse:
    question = _get_reportable_question(slug)
    user = _active_user(request)
    if question.author_id == user.pk:
        messages.error(request, "You cannot report your own question.")
        return redirect(question)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            outcome = services.report_question(
                question=question, reporter=user, **form.cleaned_data
            )
        except services.ReportRejected as exc:
            messages.error(request, str(exc))
            return redirect(question)
        if outcome.created:
            messages.success(request, "Thank you for the report: a moderator will look at it.")
            analytics.track_question(
                request, "Question Reported", question, reason=form.cleaned_data["reason"]
            )
        else:
            messages.info(request, "You have already reported this question.")
        # A question the reports took down has no page any more.
        return redirect("polls:home" if outcome.hidden else question.get_absolute_url())
    context = {
        "question": question,
        "form": form,
        "already": question.reports.filter(reporter=user).exists(),
    }
    return render(request, "polls/report.html", context, status=400 if form.is_bound else 200)


@require_POST
def link_copied(request: HttpRequest, slug: str) -> HttpResponse:
    """The "Copy link" button's beacon (static/js/share.js): counted, nothing else."""
    page = reads.question_page(slug, None)
    if page is None:
        raise Http404("No such question.")
    analytics.track_question(request, "Share Link Copied", page.question)
    return HttpResponse(status=204)
