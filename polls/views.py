from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from polls import cache_keys, reads, search, services
from polls.forms import VoteForm
from polls.models import Question, Tag
from polls.paging import DEFAULT_ORDER, ORDERS, BadCursor, paginate
from polls.results import choice_results


def _list_body(request: HttpRequest, *, scope: str, tag: Tag | None) -> tuple[str, str] | None:
    """The rendered rows and pager of one list page, cached for everyone alike."""
    order = ORDERS.get(request.GET.get("order", ""), ORDERS[DEFAULT_ORDER])
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    key = cache_keys.list_page(scope, order.key, after, before)
    body = cache.get(key)
    if body is None:
        queryset = Question.objects.public().for_cards()
        if tag is not None:
            queryset = queryset.filter(tags=tag)
        try:
            page = paginate(queryset, order, after=after, before=before)
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
    tag = get_object_or_404(Tag, slug=slug)
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
    return _render_question(request, page)


def _render_question(
    request: HttpRequest, page: reads.QuestionPage, form: VoteForm | None = None, status: int = 200
) -> HttpResponse:
    question, now = page.question, timezone.now()
    choices = page.choices
    if form is None:
        form = VoteForm(initial={"choice": list(page.mine)}, question=question, choices=choices)
    has_voted = bool(page.mine)
    visible = question.results_visible_to(has_voted=has_voted, now=now)
    context = {
        "question": question,
        "choices": choices,
        "form": form,
        "closed": question.is_closed(now),
        "has_voted": has_voted,
        "results_visible": visible,
        "results": choice_results(choices, page.counts, set(page.mine)) if visible else None,
        "voters": page.counts.voters,
    }
    return render(request, "polls/question_detail.html", context, status=status)


_VOTE_MESSAGES = {
    (True, True): "Thank you: your vote is counted.",
    (False, True): "Your vote is changed. Only your new choice counts.",
    (False, False): "Your vote is unchanged.",
}


@require_POST
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    page = reads.question_page(slug, _user_id(request))
    if page is None:
        raise Http404("No such question.")
    question = page.question
    if not request.user.is_authenticated:
        # Back to the question, not to this POST-only address.
        return redirect_to_login(question.get_absolute_url())
    form = VoteForm(request.POST, question=question, choices=page.choices)
    if form.is_valid():
        try:
            outcome = services.cast_vote(
                user=request.user, question=question, choice_ids=form.cleaned_data["choice"]
            )
        except services.VoteRejected as exc:
            form.add_error("choice", str(exc))
        else:
            messages.success(request, _VOTE_MESSAGES[(outcome.first, outcome.changed)])
            return redirect(question)
    return _render_question(request, page, form, status=400)
