from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode, urlsplit

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import emails, throttles
from accounts import services as account_services
from accounts.forms import EmailVoteForm
from beebeta import analytics, links, replica, time_zones
from beebeta.edge import edge_cacheable
from beebeta.request_types import AuthenticatedHttpRequest
from beebeta.views import too_many_requests, too_many_requests_on, wait_words
from polls import (
    cards,
    fragments,
    groups,
    open_data,
    page_frames,
    picks,
    ratelimit,
    reads,
    search,
    services,
    share_card,
    sharing,
)
from polls.forms import AskForm, ReportForm, RequestUploads, VoteForm
from polls.insights.charts import HEAT_LEGEND, HeatmapChart
from polls.insights.counting import count_view
from polls.models import QUESTION_TITLE_LENGTH, Question, Tag
from polls.paging import DEFAULT_ORDER, ORDERS


def _render_list(request: HttpRequest, template: str, *, tag: Tag | None = None) -> HttpResponse:
    order = ORDERS.get(request.GET.get("order", ""), ORDERS[DEFAULT_ORDER])
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    # One canonical address per list and order: its first page. Later pages (a cursor) are
    # followed by search engines but not indexed.
    canonical_path = request.path
    if order.key != DEFAULT_ORDER:
        canonical_path += "?" + urlencode({"order": order.key})
    rows = fragments.question_rows(tag=tag, order=order, after=after, before=before)
    if rows is None:
        # A cursor we did not make (edited or truncated link): start over, in the same order.
        return redirect(canonical_path)
    # The rows are shared by everyone; a member's "you voted" is filled in here.
    rows = cards.mark_voted(rows, _voted(request))
    context: dict[str, object] = {
        "orders": ORDERS.values(),
        "current_order": order.key,
        "rows": rows,
        "tag": tag,
    }
    context["canonical_path"] = canonical_path
    context["noindex"] = bool(after or before)
    # The first page in each order comes from its frame (polls/page_frames.py).
    if page_frames.list_framed(request, {"", *ORDERS}):
        return HttpResponse(page_frames.render_list(request, template, context))
    return render(request, template, context)


def _voted(request: HttpRequest) -> frozenset[int]:
    """The questions the visitor voted on: none for an anonymous visitor, at no cost."""
    if not request.user.is_authenticated:
        return frozenset()
    return reads.voted_question_ids(request.user.pk)


@require_GET
@replica.lag_tolerant
def home(request: HttpRequest) -> HttpResponse:
    return _render_list(request, "polls/home.html")


@require_GET
@replica.lag_tolerant
def tag_list(request: HttpRequest) -> HttpResponse:
    return render(request, "polls/tag_list.html", {"tags": reads.tag_cloud()})


@edge_cacheable
@require_GET
@replica.lag_tolerant
def tag_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_list(request, "polls/tag_detail.html", tag=_get_tag(slug))


@require_GET
@replica.lag_tolerant
def search_view(request: HttpRequest) -> HttpResponse:
    outcome = search.search(request.GET.get("q", ""))
    context = {
        "outcome": outcome,
        "search_query": outcome.query,
        "tags": reads.tag_cloud() if not outcome.searched else [],
        "voted": _voted(request) if outcome.questions else frozenset(),
        # Results of a search are for the person searching, not for search engines.
        "noindex": outcome.searched,
    }
    return render(request, "polls/search.html", context)


@require_GET
@replica.lag_tolerant
def question_activity(request: HttpRequest, slug: str) -> HttpResponse:
    question = _get_public_question(request, slug).question
    return _render_activity(request, question=question)


@require_GET
@replica.lag_tolerant
def tag_activity(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_activity(request, tag=_get_tag(slug))


def _render_activity(
    request: HttpRequest, *, question: Question | None = None, tag: Tag | None = None
) -> HttpResponse:
    """The weekday x hour activity of a question or a tag, by group, in the reader's time zone
    (the ``tz`` cookie)."""
    heatmap = reads.public_heatmap(timezone.get_current_timezone(), question=question, tag=tag)
    context = {
        "question": question,
        "tag": tag,
        "heatmap": heatmap,
        "charts": [HeatmapChart.of(grid) for grid in heatmap.grids],
        "heat_legend": HEAT_LEGEND,
        "zone": heatmap.zone,
        "hour_labels": [f"{hour:02d}" for hour in range(24)],
        "minimum": groups.minimum(),
    }
    return render(request, "polls/activity.html", context)


def _get_tag(slug: str) -> Tag:
    """The tag at ``slug``, or 404."""
    tag = reads.tag(slug)
    if tag is None:
        raise Http404("No such tag.")
    return tag


def _get_public_question(
    request: HttpRequest, slug: str, *, results: bool = False
) -> reads.QuestionPage:
    """The public question at ``slug``, or 404; with ``results``, its counts and the visitor's
    ballot too (reads.question_page)."""
    user_id = request.user.pk if request.user.is_authenticated else None
    page = reads.question_page(slug, user_id, results=results)
    if page is None:
        raise Http404("No such question.")
    return page


@edge_cacheable
@require_GET
def question_detail(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        page = _get_public_question(request, slug, results=True)
    except Http404:
        return _private_question(request, slug)
    # One memcached increment, no SQL; `manage.py flush_view_counts` writes the counts.
    count_view(question_id=page.question.pk, user=request.user)
    analytics.track_question(request, "Question Viewed", page.question)
    asked, error = _as_of(request, page)
    extra = {"as_of_error": error, "share_card": share_card.card_for(page, request)}
    response = _render_question(
        request,
        page,
        _refused_vote(request, page),
        extra=extra,
        asked=asked,
        without_new=request.GET.get("without") == "new",
    )
    if error:
        response.status_code = 400
    return response


def _as_of(request: HttpRequest, page: reads.QuestionPage) -> tuple[fragments.AsOf | None, str]:
    """?as_of=YYYY-MM-DD: the results as they stood at the end of that day (UTC), or why not."""
    text = request.GET.get("as_of", "").strip()
    if not text:
        return None, ""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return (
            None,
            f"“{text[:20]}” is not a day: give one as YYYY-MM-DD. Here are the results now.",
        )
    return fragments.as_of(page, day), ""


def _private_question(request: HttpRequest, slug: str) -> HttpResponse:
    """A question the public cannot see (pending, hidden, draft): a 404 for everyone but staff,
    who see it marked as not public, on a page no cache keeps."""
    page = reads.private_question_page(slug, request.user.pk) if request.user.is_staff else None
    if page is None:
        raise Http404("No such question.")
    admin_url = reverse("admin:polls_question_change", args=[page.question.pk])
    response = _render_question(request, page, extra={"admin_url": admin_url})
    add_never_cache_headers(response)
    return response


def _render_question(
    request: HttpRequest,
    page: reads.QuestionPage,
    form: VoteForm | None = None,
    *,
    extra: dict | None = None,
    asked: fragments.AsOf | None = None,
    without_new: bool = False,
) -> HttpResponse:
    context = fragments.question_parts(page, form=form, asked=asked, without_new=without_new)
    # Where no form is shown (the question has closed), why the vote was refused.
    context["vote_errors"] = form.errors.get("choice", []) if form and context["closed"] else []
    context.update(extra or {})
    # The plain page of a public question comes from its frame (polls/page_frames.py).
    context["frame_key"] = page.stamp if form is None else None
    if page_frames.framed(request, context):
        return HttpResponse(page_frames.render(request, context))
    return render(request, page_frames.TEMPLATE, context)


# A refused vote is shown on the question's own page: the POST stores what was ticked and why it
# was refused in the session and redirects there, so a reload never posts it again.
_REFUSED_VOTE = "refused_vote"


def _remember_refused_vote(request: HttpRequest, question: Question, form: VoteForm) -> None:
    request.session[_REFUSED_VOTE] = {
        "question": question.pk,
        "ticked": request.POST.getlist("choice"),
        "errors": list(form.errors.get("choice", [])),
    }


def _refused_vote(request: HttpRequest, page: reads.QuestionPage) -> VoteForm | None:
    """The vote form as it was refused a moment ago on this question, once, or None."""
    if not request.user.is_authenticated or _REFUSED_VOTE not in request.session:
        return None
    refused = request.session.pop(_REFUSED_VOTE)
    if refused.get("question") != page.question.pk:
        return None
    data = QueryDict(mutable=True)
    data.setlist("choice", refused["ticked"])
    form = VoteForm(data, question=page.question, choices=page.choices)
    if form.is_valid():
        # Refused by the vote itself (the question closed meanwhile, say), not by the form.
        for error in refused["errors"]:
            form.add_error("choice", error)
    return form


@require_POST
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    # The question alone: the counts and the ballot change with every vote, so reading them here
    # would cost MySQL queries on each one. They are read only to show the form again.
    question = _get_public_question(request, slug).question
    if not request.user.is_authenticated:
        # Anonymous vote forms go to "Almost there" by GET; this is for members only.
        return redirect_to_login(question.get_absolute_url())
    if not ratelimit.allow_vote(user_id=request.user.pk):
        return too_many_requests(retry_after=settings.VOTE_RATE_WINDOW_SECONDS)
    form = VoteForm(request.POST, question=question, choices=list(question.choices.all()))
    outcome = _cast_vote(request, request.user, question, form)
    if outcome is not None:
        messages.success(request, picks.VOTE_MESSAGES[(outcome.first, outcome.changed)])
        return redirect(question)
    _remember_refused_vote(request, question, form)
    # 303 See Other, where a counted vote answers 302: clients and load tests tell them apart.
    return HttpResponseRedirect(f"{question.get_absolute_url()}#vote", status=303)


def _cast_vote(
    request: HttpRequest, user: User, question: Question, form: VoteForm
) -> services.VoteOutcome | None:
    """``user``'s vote on the form, cast; None when refused, with the reason on the form."""
    if not form.is_valid():
        return None
    try:
        outcome = services.cast_vote(
            user=user, question=question, choice_ids=form.cleaned_data["choice"]
        )
    except services.VoteRejected as exc:
        form.add_error("choice", str(exc))
        return None
    picks.track(request, question, outcome)
    return outcome


@never_cache
@require_http_methods(["GET", "POST"])
def almost_there(request: HttpRequest, slug: str) -> HttpResponse:
    """An anonymous visitor's pick, held (not counted) until they log in, sign up or give an
    email address; each way casts it through the vote service and lands on the question.

    GET (the question page's vote form) shows the pick; POST is the email form.
    """
    page = _get_public_question(request, slug)
    question, choices = page.question, page.choices
    if request.method == "POST":
        return _vote_by_email(request, question)
    form = VoteForm(request.GET, question=question, choices=choices)
    closed = question.is_closed()
    if closed or not form.is_valid():
        # Pick again here: the question page keeps nothing per visitor to show an error on.
        context = {"question": question, "closed": closed, "form": form}
        context["options"] = list(zip(form["choice"], choices, strict=True))
        return render(request, "polls/almost_there.html", context, status=200 if closed else 400)
    pick = picks.Pick(question=question, choice_ids=tuple(form.cleaned_data["choice"]))
    return _render_almost_there(request, pick, EmailVoteForm(initial={"vote": pick.token}))


def _render_almost_there(
    request: HttpRequest, pick: picks.Pick, email_form: EmailVoteForm, *, status: int = 200
) -> HttpResponse:
    context = {
        "question": pick.question,
        "pick": pick,
        "email_form": email_form,
        "onward": urlencode({"next": pick.question.get_absolute_url(), "vote": pick.token}),
    }
    return render(request, "polls/almost_there.html", context, status=status)


def _vote_by_email(request: HttpRequest, question: Question) -> HttpResponse:
    form = EmailVoteForm(request.POST)
    pick = picks.from_token(request.POST.get("vote"))
    if pick is None or pick.question.pk != question.pk:
        messages.error(request, picks.PICK_LOST)
        return redirect(question)
    if not form.is_valid():
        return _render_almost_there(request, pick, form, status=400)
    email = form.cleaned_data["email"]
    refused = throttles.refuse(request, action=throttles.EMAIL_VOTE, email=email)
    if refused:
        return refused
    try:
        account_services.vote_by_email(email=email, pick=pick, site=emails.site_of(request))
    except IntegrityError:
        # Another request made an account for this address at this very moment.
        form.add_error(None, account_services.RACE_MESSAGE)
        return _render_almost_there(request, pick, form, status=409)
    return redirect("accounts:check_email")


@require_POST
@login_required
def withdraw(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    question = _get_public_question(request, slug).question
    if not ratelimit.allow_vote(user_id=request.user.pk):
        return too_many_requests(retry_after=settings.VOTE_RATE_WINDOW_SECONDS)
    try:
        withdrawn = services.withdraw_vote(user=request.user, question=question)
    except services.VoteRejected as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(question.get_absolute_url(), status=303)
    if withdrawn:
        analytics.track_question(request, "Vote Withdrawn", question)
        messages.success(request, "Your vote is withdrawn: it no longer counts.")
    else:
        messages.info(request, "You have no vote on this question to withdraw.")
    return redirect(question)


# --- Asking ---------------------------------------------------------------------------------


def _active_user(request: AuthenticatedHttpRequest) -> User:
    if not request.user.is_active:
        raise PermissionDenied("This account is not active.")
    return request.user


@login_required
@require_http_methods(["GET", "POST"])
def ask(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = _active_user(request)
    if request.method == "GET":
        return _render_ask(request, AskForm(user=user, initial=_searched_title(request)))
    uploads = RequestUploads(request)
    form = AskForm(request.POST, request.FILES, user=user, uploads=uploads)
    rearranged = _rearranged(request, form)
    if rearranged is not None:
        return _render_ask(request, rearranged, uploads=uploads)
    if not form.is_valid():
        return _render_ask(request, form, status=400, uploads=uploads)
    title = form.cleaned_data["title"]
    similar = [] if request.POST.get("confirm") else search.similar_questions(title)
    if similar:
        return _render_ask(request, form, similar=similar)
    slow_down = _question_refusal(request)
    if slow_down is not None:
        return _render_ask(request, form, slow_down=slow_down)
    try:
        question = services.ask_question(author=user, **form.question_fields())
    except services.TooManyWaiting as exc:
        # Only a moderator's decision frees a place: no time to retry after.
        waiting = (
            f"You have {exc.waiting} questions waiting for a moderator, the most one account "
            "may have. Everything you typed is still here: send it again once they have been "
            "looked at (your profile shows where they stand)."
        )
        return _render_ask(request, form, slow_down=(waiting, None))
    return _asked(request, question)


def _question_refusal(request: HttpRequest) -> tuple[str, int] | None:
    """Count a question about to be posted; when a limit refuses it, why and the seconds to
    wait. Counted only now: a typo or a look at similar questions costs nothing, and forty
    posts at once still count one by one (ratelimit.allow)."""
    retry_after = ratelimit.question_refusal(request)
    if retry_after is None:
        return None
    reason = (
        "Too many questions came from your account or your address in a short time, so this "
        "one was not posted. Everything you typed is still here: send it again in "
        f"{wait_words(retry_after)}."
    )
    return reason, retry_after


def _searched_title(request: HttpRequest) -> dict[str, str]:
    """A search that found nothing offers to ask it: its words arrive as the title."""
    title = " ".join(request.GET.get("title", "").split())
    return {"title": title[:QUESTION_TITLE_LENGTH]}


def _rearranged(request: HttpRequest, form: AskForm) -> AskForm | None:
    """The form with a choice row more or fewer, for the buttons "Add another choice" and
    "Remove": they work without JavaScript by submitting the whole form, which comes back with
    everything typed and no errors. None for any other submit."""
    if "add_choice" in request.POST:
        return form.rearranged(add=True)
    if "remove_choice" in request.POST:
        return form.rearranged(remove=_row(request.POST["remove_choice"]))
    return None


def _asked(request: HttpRequest, question: Question) -> HttpResponse:
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
    request: HttpRequest,
    form: AskForm,
    *,
    similar: list[Question] | None = None,
    status: int = 200,
    uploads: RequestUploads | None = None,
    slow_down: tuple[str, int | None] | None = None,
) -> HttpResponse:
    """The ask page; a 429 with the reason on top when a limit refused the question
    (``slow_down``: the reason and the seconds to wait, if known) or one of its pictures."""
    if slow_down is None and uploads is not None and uploads.retry_after is not None:
        slow_down = (
            "Too many pictures came from your account or your address in a short time, so "
            "the ones marked below were not read. Everything else is kept: choose them again "
            f"in {wait_words(uploads.retry_after)}.",
            uploads.retry_after,
        )
    context = {"form": form, "choices": form.choices, "similar": similar or []}
    context["slow_down"] = slow_down[0] if slow_down else ""
    response = render(request, "polls/ask.html", context, status=status)
    if slow_down:
        return too_many_requests_on(response, retry_after=slow_down[1])
    return response


@login_required
@require_GET
def ask_pending(request: AuthenticatedHttpRequest) -> HttpResponse:
    waiting = Question.objects.filter(author=request.user, status=Question.Status.PENDING)
    return render(request, "polls/ask_pending.html", {"waiting": waiting.order_by("-created_at")})


# --- Reporting ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def report(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    question = _get_public_question(request, slug).question
    user = _active_user(request)
    if question.author_id == user.pk:
        messages.error(request, "You cannot report your own question.")
        return redirect(question)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        retry_after = ratelimit.report_refusal(request)
        if retry_after is None:
            return _file_report(request, question, user, form)
        slow_down = (
            "Too many reports came from your account or your address in a short time, so "
            "this one was not sent. What you wrote is still here: send it again in "
            f"{wait_words(retry_after)}."
        )
        context = {"question": question, "form": form, "already": False, "slow_down": slow_down}
        response = render(request, "polls/report.html", context)
        return too_many_requests_on(response, retry_after=retry_after)
    already = question.reports.filter(reporter=user).exists()
    context = {"question": question, "form": form, "already": already}
    return render(request, "polls/report.html", context, status=400 if form.is_bound else 200)


def _file_report(
    request: HttpRequest, question: Question, user: User, form: ReportForm
) -> HttpResponse:
    try:
        outcome = services.report_question(question=question, reporter=user, **form.cleaned_data)
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


@require_POST
def link_copied(request: HttpRequest, slug: str) -> HttpResponse:
    """The "Copy link" button's beacon (static/js/share.js): counted, nothing else."""
    question = _get_public_question(request, slug).question
    analytics.track_question(request, "Share Link Copied", question)
    return HttpResponse(status=204)


# --- Embeds ----------------------------------------------------------------------------------
# Caches and browsers may keep an embed or an oEmbed answer this long (the question page's
# counts may lag COUNTS_CACHE_SECONDS too).
EMBED_CACHE_SECONDS = 60


@require_GET
@xframe_options_exempt
# django-csp's stubs type its decorators for views that take the request alone.
@csp_replace({"frame-ancestors": ["*"]})  # type: ignore[arg-type]
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    """The question and its result, read-only, for other sites' <iframe>s: the one page any
    site may frame. It is the same for everyone and reads nothing of the visitor (no session,
    user, CSRF token or analytics id), so it sets no cookie. Its data is the question page's:
    one memcached round trip when warm, and the same rendered results."""
    page = reads.question_page(slug, None, results=True)
    if page is None:
        raise Http404("No such question.")
    question = page.question
    context = fragments.question_parts(page)
    context |= {
        "question_url": links.absolute(question.get_absolute_url(), request),
        "canonical_path": question.get_absolute_url(),
        "share_card": share_card.card_for(page, request),
    }
    response = render(request, "polls/embed.html", context)
    patch_cache_control(response, public=True, max_age=EMBED_CACHE_SECONDS)
    return response


@require_GET
def oembed(request: HttpRequest) -> HttpResponse:
    """oEmbed (https://oembed.com): how platforms that speak it embed a question from its plain
    address. JSON only (XML is 501, as the specification asks)."""
    if request.GET.get("format", "json") != "json":
        return JsonResponse({"error": "Only format=json is offered."}, status=501)
    slug = _question_slug(request, request.GET.get("url", ""))
    if slug is None:
        return JsonResponse(
            {"error": "url= must be the address of a Beebeta question."}, status=400
        )
    page = reads.question_page(slug, None, results=True)
    if page is None:
        raise Http404("No such question.")
    question = page.question
    width = _bounded(request.GET.get("maxwidth"), sharing.EMBED_WIDTH)
    height = _bounded(request.GET.get("maxheight"), sharing.EMBED_HEIGHT)
    embed_url = links.absolute(reverse("polls:embed", args=[slug]), request)
    card = share_card.card_for(page, request)
    answer = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "Beebeta",
        "provider_url": links.absolute("/", request),
        "title": question.title,
        "html": sharing.embed_snippet(embed_url, question.title, width=width, height=height),
        "width": width,
        "height": height,
        "thumbnail_url": card.url,
        "thumbnail_width": card.width,
        "thumbnail_height": card.height,
    }
    response = JsonResponse(answer)
    patch_cache_control(response, public=True, max_age=EMBED_CACHE_SECONDS)
    # Consumers are other sites: their pages may ask from the browser too.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _question_slug(request: HttpRequest, url: str) -> str | None:
    """The slug of the question (or embed) page at ``url`` on this site, or None."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or parts.netloc != urlsplit(links.origin(request)).netloc
    ):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    if match.view_name not in ("polls:question", "polls:embed"):
        return None
    return match.kwargs["slug"]


def _bounded(text: str | None, largest: int) -> int:
    """A consumer's maxwidth or maxheight, within what an embed is offered at."""
    try:
        return max(200, min(int(text or largest), largest))
    except ValueError:
        return largest


@require_GET
@cache_control(public=True, max_age=24 * 3600)
def generic_share_card(request: HttpRequest) -> HttpResponse:
    """Beebeta's own share card: the og:image of every page without a card of its own."""
    return HttpResponse(share_card.generic_png(), content_type="image/png")


# --- The reader's time zone -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def time_zone(request: HttpRequest) -> HttpResponse:
    """Choose the time zone pages show times in (a cookie: beebeta/time_zones.py)."""
    back = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/"
    current = timezone.get_current_timezone_name()
    error = ""
    if request.method == "POST":
        chosen = request.POST.get("zone", "")
        if time_zones.zone_named(chosen) is not None:
            response = redirect(back)
            time_zones.remember_zone(response, chosen)
            return response
        error = "Pick a time zone from the list."
        current = chosen[:64]
    context = {"zones": time_zones.known_zones(), "current": current, "next": back, "error": error}
    return render(request, "polls/time_zone.html", context, status=400 if error else 200)


# --- Open data ------------------------------------------------------------------------------


def _open_record(slug: str) -> dict:
    data = open_data.question_record(slug)
    if data is None:
        raise Http404("No such question.")
    return data


def _shared_data(response: HttpResponse) -> HttpResponse:
    # Open data may be read by a page on any site; it carries no cookie and no one's data.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@replica.lag_tolerant
def question_json(request: HttpRequest, slug: str) -> HttpResponse:
    data = _open_record(slug)
    document = {
        "licence": open_data.LICENCE,
        "licence_url": open_data.LICENCE_URL,
        "url": links.absolute(data["path"], request),
        "question": data,
    }
    return _shared_data(JsonResponse(document, json_dumps_params={"ensure_ascii": False}))


@require_GET
@replica.lag_tolerant
def question_csv(request: HttpRequest, slug: str) -> HttpResponse:
    data = _open_record(slug)
    response = HttpResponse(open_data.question_csv(data), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{data["slug"]}.csv"'
    return _shared_data(response)


@require_GET
@replica.lag_tolerant
def data_page(request: HttpRequest) -> HttpResponse:
    dump = open_data.latest_dump()
    context = {
        "dump": dump,
        "dump_time": datetime.fromisoformat(dump["generated_at"]) if dump else None,
        "licence": open_data.LICENCE,
        "licence_url": open_data.LICENCE_URL,
        "columns": open_data.CSV_COLUMNS,
        "keep": open_data.KEEP_DUMPS,
    }
    return render(request, "polls/data.html", context)
