"""npm packages the tests use (the HTTP Observatory scanner, axe-core), each installed once
into its own folder under var/ (outside the sources, kept between runs).

No install, no pass: a missing npm or a failed install fails the test that needs the package;
it never skips.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path


def installed(
    folder: Path, package: str, version: str = "", *, ignore_scripts: bool = False
) -> Path:
    """The folder of ``package`` (at ``version`` when given) under ``folder``/node_modules,
    installed first if it is not there; concurrent test processes install it once."""
    target = folder / "node_modules" / package
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".install-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _has(target, version):
            npm = shutil.which("npm")
            assert npm, "npm is missing: deploy/os-packages.sh test installs nodejs and npm"
            spec = f"{package}@{version}" if version else package
            command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), spec]
            if ignore_scripts:
                command.insert(2, "--ignore-scripts")
            result = subprocess.run(command, capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, f"npm install {spec} failed:\n{result.stderr}"
            assert _has(target, version), f"npm install {spec} did not install it"
    return target


def _has(target: Path, version: str) -> bool:
    manifest = target / "package.json"
    if not manifest.exists():
        return False
    return not version or json.loads(manifest.read_text()).get("version") == version
