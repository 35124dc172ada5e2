"""Tag names sort without regard to case on the embedded default (SQLite) too.

MariaDB's collation already ignores case, so the suite's database cannot show the difference:
this test runs Beebeta on an in-memory SQLite database in a process of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = """
import json
from django.core.management import call_command
call_command("migrate", verbosity=0)
from polls import reads
from polls.models import Question, Tag
question = Question.objects.create(title="Which fruit?", slug="which-fruit", status="published")
for name in ("banana", "Apple", "cherry", "Date"):
    question.tags.add(Tag.objects.create(name=name, slug=name.lower()))
print("RESULT " + json.dumps({
    "cloud": [tag.name for tag in reads.tag_cloud()],
    "card": [tag.name for tag in Question.objects.get().tags.all()],
}))
"""


def test_tags_sort_without_regard_to_case_on_sqlite(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "sqlite:///:memory:",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SNIPPET],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    shown = json.loads(line.removeprefix("RESULT "))
    assert shown == {"cloud": ["Apple", "banana", "cherry", "Date"], "card": shown["cloud"]}
