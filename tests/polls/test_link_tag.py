"""{% link %}: {% url %} for views without arguments, reversed once (polls/templatetags)."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse

# A URL configuration with no views at all, for the last test.
urlpatterns: list = []


def render(source: str) -> str:
    return Template("{% load beebeta %}" + source).render(Context())


def test_it_gives_what_url_gives():
    for name in ("polls:home", "polls:tags", "accounts:login", "admin:index"):
        assert render(f"{{% link '{name}' %}}") == reverse(name)


def test_a_missing_view_is_an_error_unless_optional():
    with pytest.raises(NoReverseMatch):
        render("{% link 'polls:no-such-view' %}")
    assert render("{% link 'polls:no-such-view' optional=True as x %}[{{ x }}]") == "[]"


def test_it_follows_the_url_configuration(settings):
    assert render("{% link 'polls:home' %}") == "/"
    settings.ROOT_URLCONF = __name__
    with pytest.raises(NoReverseMatch):
        render("{% link 'polls:home' %}")
