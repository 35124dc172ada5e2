"""Every migration suits the release still serving while it runs (deploy/README.md,
"Releasing"): it only adds, and drops or renames wait for the next release. django-migration-
linter reads the SQL of each migration on MariaDB and refuses what would break the old code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connections

ROOT = Path(__file__).resolve().parent.parent


def lint(database_url: str, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {
        **extra,
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.migration_lint_settings",
        "DATABASE_URL": database_url,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "lintmigrations", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def database_url() -> str:
    test_db = connections["default"].settings_dict
    return f"mysql://root@{test_db['HOST']}:{test_db['PORT']}/{test_db['NAME']}"


def test_every_migration_is_backward_compatible(django_db_setup):
    result = lint(database_url())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Erroneous migrations: 0/" in result.stdout


def test_the_check_fails_on_a_migration_that_breaks_the_running_release(django_db_setup):
    # A migration released before the rule was checked adds a NOT NULL column, which the
    # release still serving could not insert rows without: refused once not ignored.
    result = lint(database_url(), LINT_EVERY_MIGRATION="1")
    assert result.returncode != 0
    assert "(polls, 0006_card_leader_and_review_hold)... ERR" in result.stdout
    assert "NOT NULL constraint on columns" in result.stdout
