"""{% link %}: {% url %}, reversed once per view and arguments (polls/templatetags); and
{% capture %}, which renders a part once to place it twice."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse

# A URL configuration with no views at all, for the last test.
urlpatterns: list = []


def render(source: str, **context: object) -> str:
    return Template("{% load beebeta %}" + source).render(Context(context))


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


def test_with_arguments_it_gives_what_url_gives():
    for slug in ("best-ramen", "ünïcode-slug", "a" * 200):
        for name in ("polls:question", "polls:vote", "polls:question_json"):
            html = render(f"{{% link '{name}' slug %}}", slug=slug)
            assert html == reverse(name, args=[slug])
    with pytest.raises(NoReverseMatch):
        render("{% link 'polls:vote' %}")


def test_capture_renders_once_and_places_it_where_asked():
    calls = []

    class Counted:
        def __str__(self) -> str:
            calls.append(1)
            return "<b>x</b>"

    html = render(
        "{% capture part %}[{{ item }}]{% endcapture %}{{ part }}|{{ part }}", item=Counted()
    )
    assert html == "[&lt;b&gt;x&lt;/b&gt;]|[&lt;b&gt;x&lt;/b&gt;]"
    assert len(calls) == 1
