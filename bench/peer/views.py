from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from bench.peer.models import Choice, Question, Vote


def detail(request: HttpRequest, slug: str) -> HttpResponse:
    question = get_object_or_404(Question, slug=slug)
    return render(request, "peer/detail.html", {"question": question})


def vote(request: HttpRequest, slug: str) -> HttpResponse:
    question = get_object_or_404(Question, slug=slug)
    try:
        selected_choice = question.choice_set.get(pk=request.POST["choice"])
    except (KeyError, ValueError, Choice.DoesNotExist):
        context = {"question": question, "error_message": "You didn't select a choice."}
        return render(request, "peer/detail.html", context, status=400)
    if not settings.PEER_ONE_VOTE_PER_USER:
        selected_choice.votes = F("votes") + 1
        selected_choice.save()
        return HttpResponseRedirect(reverse("detail", args=(question.slug,)))
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("detail", args=(question.slug,)))
    try:
        with transaction.atomic():
            Vote.objects.create(user=request.user, question=question, choice=selected_choice)
            selected_choice.votes = F("votes") + 1
            selected_choice.save()
    except IntegrityError:
        context = {"question": question, "error_message": "You have already voted."}
        return render(request, "peer/detail.html", context, status=409)
    return HttpResponseRedirect(reverse("detail", args=(question.slug,)))
