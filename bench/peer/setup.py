"""Create the peers' tables and give them Beebeta's benchmark questions, with the same ids.

    DJANGO_SETTINGS_MODULE=bench.settings_dedupe python -m bench.peer.setup SEED.json

Run once with each peer's settings: each peer has tables of its own.

The questions voted on (hot and spread) start with no votes, as on Beebeta; the question page
of the ladder (a thousand votes) gets Beebeta's counts as its counters. Same ids and slugs, so
wrk's files of questions and choices serve all three apps.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import django

    django.setup()
    from django.db import connection

    from bench.peer.models import PREFIX, Choice, Question, Vote

    seeded = json.loads(Path(argv[0]).read_text())
    with connection.schema_editor() as editor:
        for model in (Question, Choice, Vote):
            editor.create_model(model)
    paged = seeded["paged"]
    questions = [paged["hot"], *seeded["spread"], paged["thousand"]]
    ids = [question["id"] for question in questions]
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {PREFIX}_question (id, slug, question_text, pub_date)
                SELECT id, slug, title, published_at FROM polls_question
                WHERE id IN ({marks})""",  # noqa: S608 - placeholders only
            ids,
        )
        cursor.execute(
            f"""INSERT INTO {PREFIX}_choice (id, question_id, choice_text, votes)
                SELECT c.id, c.question_id, c.text, COALESCE(
                    (SELECT SUM(t.votes) FROM polls_choicetally t WHERE t.choice_id = c.id), 0)
                FROM polls_choice c WHERE c.question_id IN ({marks})""",  # noqa: S608
            ids,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
