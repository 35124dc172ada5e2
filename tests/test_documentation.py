"""The README stays true: every environment variable the code reads is in its table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READ = re.compile(r"env_(?:str|int|bool|list|float|secret)\(\s*\"([A-Z][A-Z0-9_]+)\"")


def variables_read_by_the_code() -> set[str]:
    found = set()
    for folder in ("beebeta", "polls", "accounts"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(READ.findall(path.read_text()))
    return found


def test_the_code_reads_variables_through_the_strict_helpers():
    # The guard below would pass vacuously if the pattern stopped matching.
    assert {"DATABASE_URL", "MEMCACHED_LOCATIONS", "SECRET_KEY"} <= variables_read_by_the_code()


def test_every_variable_is_in_the_readme_table():
    table = (ROOT / "README.md").read_text()
    missing = sorted(v for v in variables_read_by_the_code() if f"| `{v}`" not in table)
    assert not missing, f"document these in README.md's environment table: {missing}"


def test_every_variable_of_the_production_example_is_documented():
    table = (ROOT / "README.md").read_text()
    example = (ROOT / "deploy" / "env.example").read_text()
    names = re.findall(r"^([A-Z][A-Z0-9_]+?)(?:_FILE)?=", example, re.M)
    assert names
    assert not [n for n in names if f"`{n}`" not in table]
