"""The hash-locked requirements: every Python package of each layer, at one version, with the
hashes of its files, so two machines built on different days install the same bytes.

    python3 deploy/locks.py check     each lock holds its requirements file's pins (else: make lock)

Each layer's requirements file (what we ask for, top-level pins) has a lock beside it that
pip-tools compiles (`make lock`), every dependency pinned with its hashes; `make run`,
`make test`, the release and the instances install from the locks with --require-hashes. A
layer's lock is compiled within the one below it, so the layers agree on every version.
Standard library only: the Makefile runs it before any virtualenv exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (requirements file, its lock, the lock it is compiled within), from the runtime layer up.
LAYERS = (
    ("requirements.txt", "requirements.lock", None),
    ("requirements-dev.txt", "requirements-dev.lock", "requirements.lock"),
    ("tests/requirements.txt", "tests/requirements.lock", "requirements-dev.lock"),
)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)", re.M)
HASHED_PIN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
    re.M,
)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of the `name==version` lines of a requirements file (not of those it
    includes with -r: each layer checks its own)."""
    return {normalise(name): version for name, version in PIN.findall(path.read_text())}


def locked(path: Path) -> dict[str, str]:
    """name -> version of a lock's entries, each of which must carry at least one hash."""
    text = path.read_text()
    entries = {normalise(name): version for name, version, _ in HASHED_PIN.findall(text)}
    unhashed = set(pins(path)) - set(entries)
    if unhashed:
        raise ValueError(f"{path.name}: entries without hashes: {sorted(unhashed)}")
    return entries


def problems(root: Path = ROOT) -> list[str]:
    found = []
    for requirements, lock, within in LAYERS:
        lock_path = root / lock
        if not lock_path.exists():
            found.append(f"{lock} is missing")
            continue
        try:
            entries = locked(lock_path)
        except ValueError as error:
            found.append(str(error))
            continue
        for name, version in pins(root / requirements).items():
            if entries.get(name) != version:
                found.append(
                    f"{requirements} pins {name}=={version}; {lock} has {entries.get(name)}"
                )
        if within is not None and (root / within).exists():
            below = locked(root / within)
            for name, version in below.items():
                if name in entries and entries[name] != version:
                    found.append(f"{lock} has {name}=={entries[name]}; {within} has {version}")
    return found


def main(argv: list[str]) -> int:
    if argv != ["check"]:
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    found = problems()
    for problem in found:
        print(f"locks: {problem}", file=sys.stderr)
    if found:
        print(
            "locks: the requirements changed since the locks were made: run `make lock`",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
