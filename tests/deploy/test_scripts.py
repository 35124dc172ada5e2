"""Every shell script in the repository passes shellcheck."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SKIPPED_FOLDERS = {".git", ".venv", "var", "test-output", "node_modules"}


def shell_scripts() -> list[Path]:
    """Files named *.sh, and files whose first line runs a shell (.ci/run)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for name in files:
            path = Path(folder) / name
            if path.suffix == ".sh":
                found.append(path)
            elif path.suffix == "":
                with path.open("rb") as file:
                    first = file.readline(100)
                if first.startswith(b"#!") and (b"bash" in first or b"/sh" in first):
                    found.append(path)
    return sorted(found)


def test_the_scripts_are_found():
    names = {str(path.relative_to(ROOT)) for path in shell_scripts()}
    assert {"deploy/provision.sh", "deploy/os-packages.sh", "deploy/as-beebeta.sh"} <= names
    assert ".ci/run" in names


def test_every_shell_script_passes_shellcheck():
    result = subprocess.run(
        ["shellcheck", "--severity=style", *map(str, shell_scripts())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_instance_scripts_are_executable():
    for name in ("provision.sh", "as-beebeta.sh", "os-packages.sh"):
        assert (ROOT / "deploy" / name).stat().st_mode & 0o111, name
