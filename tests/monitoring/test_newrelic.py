"""New Relic: the agent loads from deploy/newrelic.ini and records transactions in
developer mode, without the network; the alert configuration agrees with the ini."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
INI = ROOT / "deploy" / "newrelic.ini"
ALERTS = ROOT / "deploy" / "alerts.yaml"

# Runs in a fresh interpreter, as `newrelic-admin run-program gunicorn` would start
# the app: the agent first, then Django's WSGI application, called as gunicorn calls it.
AGENT_SCRIPT = """
import ipaddress, json, socket, sys

connections = []
real_connect = socket.socket.connect

def recording_connect(sock, address):
    connections.append([sock.type == socket.SOCK_STREAM, str(address[0])])
    return real_connect(sock, address)

socket.socket.connect = recording_connect

import newrelic.agent
newrelic.agent.initialize()
application = newrelic.agent.register_application(timeout=10.0)

from django.core.wsgi import get_wsgi_application
from wsgiref.util import setup_testing_defaults

app = get_wsgi_application()
statuses = []
for path in ("/healthz", "/no/such/page/"):
    environ = {"PATH_INFO": path, "HTTP_HOST": "localhost"}
    setup_testing_defaults(environ)
    b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))

from newrelic.core.agent import agent_instance

settings = newrelic.agent.global_settings()
stats = agent_instance().application(application.name)._stats_engine
def on_this_machine(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.startswith("/")  # a Unix socket

outside = [host for stream, host in connections if stream and not on_this_machine(host)]
json.dump({
    "active": application.active,
    "app_name": settings.app_name,
    "developer_mode": settings.developer_mode,
    "apdex_t": settings.apdex_t,
    "browser_auto_instrument": settings.browser_monitoring.auto_instrument,
    "ignored_statuses": sorted(settings.error_collector.ignore_status_codes),
    "statuses": statuses,
    "transactions": sorted(
        name for name, _ in stats.stats_table if name.startswith("WebTransaction/")
    ),
    "outside_connections": outside,
}, sys.stdout)
"""


def run_under_the_agent(tmp_path, environment: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "MEMCACHED_LOCATIONS") and not key.startswith("NEW_RELIC")
    }
    env |= {
        "NEW_RELIC_CONFIG_FILE": str(INI),
        "NEW_RELIC_ENVIRONMENT": environment,
        "DJANGO_SETTINGS_MODULE": "beebeta.settings",
        "DATA_DIR": str(tmp_path),
        # The request log's lines would mix with the result on stdout.
        "REQUEST_LOG": "false",
    }
    result = subprocess.run(
        [sys.executable, "-c", AGENT_SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_agent_records_requests_in_developer_mode_without_the_network(tmp_path):
    seen = run_under_the_agent(tmp_path, "test")
    assert seen["active"] and seen["developer_mode"]
    assert seen["app_name"] == "Beebeta (test)"
    assert seen["statuses"] == ["200 OK", "404 Not Found"]
    assert "WebTransaction/Function/beebeta.health:HealthCheckMiddleware" in seen["transactions"]
    assert len([t for t in seen["transactions"] if t.startswith("WebTransaction/Function/")]) == 2
    assert seen["outside_connections"] == []
    assert seen["apdex_t"] == 0.5
    assert seen["browser_auto_instrument"] is False
    assert 404 in seen["ignored_statuses"]


def read_ini() -> configparser.RawConfigParser:
    ini = configparser.RawConfigParser()
    assert ini.read(INI)
    return ini


def test_environments_of_the_ini():
    ini = read_ini()
    assert ini.getboolean("newrelic", "monitor_mode") is False  # no environment: nothing sent
    for quiet in ("newrelic:development", "newrelic:test"):
        assert ini.getboolean(quiet, "monitor_mode") is False
    assert ini.getboolean("newrelic:test", "developer_mode") is True
    assert ini.getboolean("newrelic:production", "monitor_mode") is True
    assert ini.get("newrelic:production", "app_name") == "Beebeta"
    # The license key comes from NEW_RELIC_LICENSE_KEY, never from the file.
    assert not any(ini.has_option(section, "license_key") for section in ini.sections())
    # stdout is the request log's.
    assert ini.get("newrelic", "log_file") == "stderr"


def test_alerts_agree_with_the_ini():
    alerts = yaml.safe_load(ALERTS.read_text())
    ini = read_ini()
    assert alerts["apdex_t"] == ini.getfloat("newrelic", "apdex_t")
    assert alerts["application"] == ini.get("newrelic:production", "app_name")
    assert "ops@beebeta.example" in alerts["notification"]["email"]
    conditions = {c["name"]: c for c in alerts["conditions"]}
    assert {"Apdex", "Error rate", "Response time"} <= conditions.keys()
    for condition in conditions.values():
        warning, critical = condition["warning"], condition["critical"]
        if condition["operator"] == "below":
            assert critical["threshold"] < warning["threshold"]
        else:
            assert condition["operator"] == "above"
            assert critical["threshold"] > warning["threshold"]
        assert "appName = 'Beebeta'" in condition["nrql"]
    assert f"t: {alerts['apdex_t']}" in conditions["Apdex"]["nrql"]
