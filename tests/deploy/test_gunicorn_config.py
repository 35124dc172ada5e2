"""deploy/gunicorn.conf.py passes gunicorn's own check and sets what production relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).parent / "gunicorn"


def gunicorn(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Django's settings must load (the check imports the application); nothing else leaks in.
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)}
    return subprocess.run(
        [str(GUNICORN), "--config", str(CONFIG), *args, "beebeta.wsgi"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings(tmp_path: Path, **env: str) -> dict[str, str]:
    printed = gunicorn(tmp_path, "--print-config", **env)
    assert printed.returncode == 0, printed.stderr
    values = {}
    for line in printed.stdout.splitlines():
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def test_gunicorn_accepts_the_config_and_loads_the_application(tmp_path):
    checked = gunicorn(tmp_path, "--check-config")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_production_settings(tmp_path):
    values = settings(tmp_path)
    assert values["bind"] == "['127.0.0.1:8000']"
    assert values["workers"] == str(len(os.sched_getaffinity(0)) + 1)
    assert values["worker_class"] == "sync"
    assert values["timeout"] == "30" and values["graceful_timeout"] == "30"
    # gunicorn 27's control socket would collide between servers and in locked-down units.
    assert values["control_socket_disable"] == "True"
    # HUP must load new code in new workers.
    assert values["preload_app"] == "False"
    assert values["accesslog"] == "-"
    log_format = values["access_log_format"]
    assert "%(M)sms" in log_format and "%({x-request-id}i)s" in log_format


def test_bind_and_workers_follow_the_environment(tmp_path):
    values = settings(tmp_path, GUNICORN_BIND="127.0.0.1:9001", GUNICORN_WORKERS="3")
    assert (values["bind"], values["workers"]) == ("['127.0.0.1:9001']", "3")


def test_a_malformed_worker_count_stops_gunicorn(tmp_path):
    checked = gunicorn(tmp_path, "--check-config", GUNICORN_WORKERS="three")
    assert checked.returncode != 0
    assert "GUNICORN_WORKERS='three' is not a positive integer" in checked.stderr


def test_each_log_the_cloudwatch_agent_ships_is_written_where_the_unit_says(tmp_path):
    # As beebeta.service runs it: stdout and stderr appended to their files, gunicorn's two logs
    # named by the environment. Each file the agent collects from /var/log/beebeta gets its
    # lines (tests/deploy/test_logs_and_alarms.py checks that the agent names these files).
    from deploy.stack.processes import free_port, http_status

    logs = {name: tmp_path / f"{name}.log" for name in ("requests", "app", "access", "gunicorn")}
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESS_LOG": str(logs["access"]),
        "GUNICORN_ERROR_LOG": str(logs["gunicorn"]),
    }
    with logs["requests"].open("ab") as stdout, logs["app"].open("ab") as stderr:
        server = subprocess.Popen(
            [str(GUNICORN), "--config", str(CONFIG), "beebeta.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        for _ in range(200):
            if http_status(f"http://127.0.0.1:{port}/no/such/page/", timeout=1) == 404:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(logs["gunicorn"].read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)
    request_line = [line for line in logs["requests"].read_text().splitlines() if line][-1]
    request_id = json.loads(request_line)["request_id"]
    assert f"request_id={request_id} Not Found: /no/such/page/" in logs["app"].read_text()
    assert "/no/such/page/" in logs["access"].read_text()
    assert "Booting worker" in logs["gunicorn"].read_text()
