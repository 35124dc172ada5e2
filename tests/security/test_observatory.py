"""Mozilla's HTTP Observatory scanner against the TLS front (HAProxy) of the local stack.

The npm package is installed once into var/observatory (tests/npm.py). Its install script
downloads a certificate bundle, which cannot work offline, so scripts are skipped and the HSTS
preload list it expects is an empty file. No install, no pass: this test fails when npm or the
package is missing, it never skips.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from deploy.stack.processes import HOST
from tests.npm import installed

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "observatory"
PACKAGE = "@mdn/mdn-http-observatory"

MIN_SCORE = 110


def scanner() -> Path:
    """The scanner's entry point, installed if needed."""
    package = installed(CACHE, PACKAGE, ignore_scripts=True)
    preload = package / "conf" / "hsts-preload.json"
    if not preload.exists():
        preload.write_text("{}")
    return package / "src" / "scan.js"


def scan(stack) -> dict:
    node = shutil.which("node")
    assert node, "node is missing: deploy/os-packages.sh test installs nodejs"
    # The stack's certificate is self-signed: only this process trusts it, as an extra CA, so
    # the scanner still checks the certificate (bin/wrapper.js would replace this variable
    # with the bundle its skipped install script never downloaded).
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(stack.certificate)}
    result = subprocess.run(
        [node, scanner(), f"{HOST}:{stack.ports['haproxy']}"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=CACHE / "node_modules" / PACKAGE,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Kept for reading after a run: each test's result and score modifier.
    (CACHE / "last-scan.json").write_text(result.stdout)
    return json.loads(result.stdout)


def test_observatory_grades_the_tls_front_a_plus(stack):
    report = scan(stack)
    summary = report["scan"]
    failed = {name: t["result"] for name, t in report["tests"].items() if not t["pass"]}
    print(f"HTTP Observatory: score {summary['score']}, grade {summary['grade']}")
    assert summary["grade"] == "A+", failed
    assert summary["score"] >= MIN_SCORE, failed
