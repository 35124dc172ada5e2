"""deploy/systemd/ units pass systemd's own verification, and the timers run commands that exist."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent.parent
UNITS = ROOT / "deploy" / "systemd"
# The programs the units start, as deploy/provision.sh lays the instance out.
PROGRAMS = ("srv/beebeta/venv/bin/newrelic-admin", "srv/beebeta/venv/bin/python", "bin/kill")


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text())
    return parser


def timers() -> list[Path]:
    return sorted(UNITS.glob("*.timer"))


def timer_commands() -> dict[str, str]:
    """{timer file name: the management command its service runs}."""
    commands = {}
    for path in timers():
        service = unit(path)["Timer"]["Unit"]
        assert service.startswith("beebeta-manage@") and service.endswith(".service"), service
        commands[path.name] = service.removeprefix("beebeta-manage@").removesuffix(".service")
    return commands


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    # A root folder holding systemd's own units, ours, and stand-ins for the programs ours run.
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    installed = tmp_path / "etc/systemd/system"
    shutil.copytree(UNITS, installed)
    for program in PROGRAMS:
        (tmp_path / program).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / program).write_text("#!/bin/sh\n")
        (tmp_path / program).chmod(0o755)
    names = [p.name for p in sorted(UNITS.iterdir()) if p.is_file() and "@" not in p.name]
    names += [f"beebeta-manage@{command}.service" for command in timer_commands().values()]
    result = subprocess.run(
        ["systemd-analyze", "verify", f"--root={tmp_path}", *names],
        cwd=installed,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr
    )


def test_the_timers_run_the_periodic_commands():
    assert sorted(timer_commands().values()) == [
        "clear_held_votes",
        "clear_orphan_images",
        "clearsessions",
        "dump_open_data",
        "flush_view_counts",
        "prune_login_records",
        "refresh_insights",
        "refresh_rankings",
        "send_outbox",
        "snapshot_results",
    ]
    missing = set(timer_commands().values()) - set(get_commands())
    assert not missing, f"no such management commands: {missing}"


def test_minutely_and_daily_schedules():
    schedules = {name: unit(UNITS / name)["Timer"]["OnCalendar"] for name in timer_commands()}
    # The lists' order follows the votes within RANKING_REFRESH_SECONDS (10 s).
    assert schedules["beebeta-refresh-rankings.timer"] == "*:*:0/10"
    assert schedules["beebeta-flush-view-counts.timer"] == "minutely"
    # A day's history is its last snapshot: at most five minutes short of midnight.
    assert schedules["beebeta-snapshot-results.timer"] == "*:0/5"
    # The integrity signals and co-voting, two minutes after each snapshot.
    assert schedules["beebeta-refresh-insights.timer"] == "*:2/5"
    daily_timers = (
        "beebeta-clearsessions.timer",
        "beebeta-clear-orphan-images.timer",
        "beebeta-dump-open-data.timer",
    )
    for daily in daily_timers:
        assert schedules[daily].startswith("*-*-* ")
    # Emails wait at most about 10 seconds in the outbox.
    assert schedules["beebeta-send-outbox.timer"] == "*:*:0/10"
    assert schedules["beebeta-clear-held-votes.timer"] == "hourly"
    # The /data/ page says when the dumps are written.
    assert schedules["beebeta-dump-open-data.timer"] == "*-*-* 03:30:00 UTC"


def test_nginx_comes_back_by_itself():
    drop_in = unit(UNITS / "nginx.service.d" / "beebeta.conf")["Service"]
    assert drop_in["Restart"] == "on-failure"
    assert "nginx.service.d/beebeta.conf" in (ROOT / "deploy" / "provision.sh").read_text()


def test_the_app_server_runs_gunicorn_through_newrelic_and_reloads_on_hup():
    service = unit(UNITS / "beebeta.service")["Service"]
    assert service["ExecStart"].startswith("/srv/beebeta/venv/bin/newrelic-admin run-program ")
    assert "--config /srv/beebeta/app/deploy/gunicorn.conf.py beebeta.wsgi" in service["ExecStart"]
    assert service["Environment"].split() == [
        "NEW_RELIC_CONFIG_FILE=/srv/beebeta/app/deploy/newrelic.ini",
        "NEW_RELIC_ENVIRONMENT=production",
        "GUNICORN_ACCESS_LOG=/var/log/beebeta/gunicorn-access.log",
        "GUNICORN_ERROR_LOG=/var/log/beebeta/gunicorn.log",
    ]
    assert service["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    assert service["EnvironmentFile"] == "/etc/beebeta/env"
    # The periodic commands go through the fleet-wide lock.
    manage = unit(UNITS / "beebeta-manage@.service")["Service"]
    assert "/srv/beebeta/app/deploy/manage_once.py %I" in manage["ExecStart"]
