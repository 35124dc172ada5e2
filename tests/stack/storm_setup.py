"""The cast of the vote storm (tests/stack/test_vote_storm.py), made in the stack's own environment.

    python -m tests.stack.storm_setup --voters 500 --questions 20 --run RUN

run through ``Stack.run_python``, so it writes to the stack's MariaDB and memcached with the app
servers' settings. It creates the voters without password hashes (an unusable password costs
nothing, where 500 real hashes would cost seconds) and gives each one a logged-in session as
``django.contrib.auth.login`` leaves it: the user's id, the backend and the password-derived
hash in a session of the configured engine (cached_db: the row and the cache entry), and the
LoginSession row that lets a ban end it. The questions are published and open; every fourth one
takes up to two choices. It prints one JSON object on its last line of output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import import_module
from typing import Any

import django

# Themes for the questions: a title and four choices; a question uses three or four of them.
THEMES = (
    ("Which snack should the harbour ferry sell", ("Oatcakes", "Fish pie", "Toffee", "Apples")),
    ("Which tree should the square plant", ("Lime", "Rowan", "Birch", "Cherry")),
    ("Which colour should the new trams be", ("Teal", "Ochre", "Crimson", "Slate")),
    ("Which night should the library stay open late", ("Monday", "Wednesday", "Friday", "Sunday")),
    ("Which sport should the school add", ("Fencing", "Rowing", "Climbing", "Archery")),
)


def make_cast(*, voters: int, questions: int, run: str) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts.models import LoginSession
    from polls.models import Choice, Question

    user_model = get_user_model()
    names = [f"storm-{run}-{n:03d}" for n in range(voters)]
    with transaction.atomic():
        user_model.objects.bulk_create(
            user_model(username=name, email=f"{name}@example.com", password=make_password(None))
            for name in names
        )
    people = list(user_model.objects.filter(username__in=names).order_by("username"))

    store = import_module(settings.SESSION_ENGINE).SessionStore
    backend = "django.contrib.auth.backends.ModelBackend"
    sessions = []
    for person in people:
        session = store()
        session[SESSION_KEY] = person._meta.pk.value_to_string(person)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = person.get_session_auth_hash()
        session.create()
        sessions.append(session.session_key)
    LoginSession.objects.bulk_create(
        LoginSession(user=person, session_key=key)
        for person, key in zip(people, sessions, strict=True)
    )

    author = user_model.objects.filter(username="staff").first()
    made = []
    for n in range(questions):
        title, texts = THEMES[n % len(THEMES)]
        multiple = n % 4 == 3
        texts = texts if multiple or n % 2 else texts[:3]
        # One by one through the model, as the admin saves them: the signals fill the search
        # column and drop cached copies.
        question = Question.objects.create(
            title=f"{title} ({run}, no. {n + 1})?",
            author=author,
            status=Question.Status.PUBLISHED,
            max_choices=2 if multiple else 1,
        )
        choices = [
            Choice.objects.create(question=question, text=text, position=position)
            for position, text in enumerate(texts)
        ]
        made.append(
            {
                "id": question.pk,
                "slug": question.slug,
                "max_choices": question.max_choices,
                "choices": [{"id": choice.pk, "text": choice.text} for choice in choices],
            }
        )
    return {
        "voters": [
            {"id": person.pk, "username": person.username, "session": key}
            for person, key in zip(people, sessions, strict=True)
        ],
        "questions": made,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, required=True)
    parser.add_argument("--questions", type=int, required=True)
    parser.add_argument("--run", required=True, help="a short token that keeps names unique")
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beebeta.settings")
    django.setup()
    cast = make_cast(voters=options.voters, questions=options.questions, run=options.run)
    sys.stdout.write(json.dumps(cast) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
