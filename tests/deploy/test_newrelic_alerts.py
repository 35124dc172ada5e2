"""deploy/newrelic_alerts.py applies deploy/alerts.yaml through NerdGraph: a dry run by
default, and with --apply the policy and every condition, found by name, against a local
NerdGraph stand-in that records what it was sent."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "deploy" / "newrelic_alerts.py"


class NerdGraph(ThreadingHTTPServer):
    """Answers as NerdGraph would for an account whose policy does not exist yet, or does
    with an "Apdex" condition."""

    def __init__(self, *, policy_exists: bool) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.policy_exists = policy_exists
        self.calls: list[dict] = []


class Handler(BaseHTTPRequestHandler):
    server: NerdGraph

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body["api_key"] = self.headers["API-Key"]
        self.server.calls.append(body)
        query = body["query"]
        if "policiesSearch" in query:
            found = (
                [{"id": "42", "name": "Beebeta production"}] if self.server.policy_exists else []
            )
            data = {"actor": {"account": {"alerts": {"policiesSearch": {"policies": found}}}}}
        elif "nrqlConditionsSearch" in query:
            found = [{"id": "7", "name": "Apdex"}] if self.server.policy_exists else []
            conditions = {"nrqlConditionsSearch": {"nrqlConditions": found}}
            data = {"actor": {"account": {"alerts": conditions}}}
        elif "alertsPolicyCreate" in query:
            data = {"alertsPolicyCreate": {"id": "43", "name": "Beebeta production"}}
        else:
            data = {"ok": {"id": "1", "name": "x"}}
        answer = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def nerdgraph(request):
    def start(*, policy_exists: bool) -> NerdGraph:
        server = NerdGraph(policy_exists=policy_exists)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        request.addfinalizer(server.shutdown)
        return server

    return start


def run(*args: str, server: NerdGraph | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", **env}
    if server is not None:
        environment["NEW_RELIC_NERDGRAPH_URL"] = f"http://127.0.0.1:{server.server_port}/graphql"
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def alerts() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "alerts.yaml").read_text())


def test_a_dry_run_shows_every_condition_and_sends_nothing(nerdgraph):
    server = nerdgraph(policy_exists=False)
    result = run(server=server, NEW_RELIC_API_KEY="NRAK-TEST", NEW_RELIC_ACCOUNT_ID="1234")
    assert result.returncode == 0, result.stderr
    for condition in alerts()["conditions"]:
        assert f"condition {condition['name']!r}" in result.stdout
    assert "critical below 0.7 for 5 min" in result.stdout
    assert "dry run: nothing sent" in result.stdout
    assert server.calls == []


def test_apply_creates_the_policy_and_its_conditions(nerdgraph):
    server = nerdgraph(policy_exists=False)
    result = run(
        "--apply", server=server, NEW_RELIC_API_KEY="NRAK-TEST", NEW_RELIC_ACCOUNT_ID="1234"
    )
    assert result.returncode == 0, result.stderr
    assert {call["api_key"] for call in server.calls} == {"NRAK-TEST"}
    (created,) = [c for c in server.calls if "alertsPolicyCreate" in c["query"]]
    assert created["variables"] == {
        "account": 1234,
        "policy": {"name": "Beebeta production", "incidentPreference": "PER_CONDITION"},
    }
    conditions = [
        c["variables"] for c in server.calls if "alertsNrqlConditionStaticCreate" in c["query"]
    ]
    assert [c["condition"]["name"] for c in conditions] == [
        c["name"] for c in alerts()["conditions"]
    ]
    assert {c["policy"] for c in conditions} == {"43"}
    apdex = conditions[0]["condition"]
    assert apdex["terms"] == [
        {
            "priority": "CRITICAL",
            "operator": "BELOW",
            "threshold": 0.7,
            "thresholdDuration": 300,
            "thresholdOccurrences": "ALL",
        },
        {
            "priority": "WARNING",
            "operator": "BELOW",
            "threshold": 0.85,
            "thresholdDuration": 300,
            "thresholdOccurrences": "ALL",
        },
    ]
    assert apdex["nrql"]["query"].startswith("SELECT apdex(duration, t: 0.5) FROM Transaction")


def test_apply_again_updates_by_name_and_creates_nothing_twice(nerdgraph):
    server = nerdgraph(policy_exists=True)
    result = run(
        "--apply", server=server, NEW_RELIC_API_KEY="NRAK-TEST", NEW_RELIC_ACCOUNT_ID="1234"
    )
    assert result.returncode == 0, result.stderr
    queries = [call["query"] for call in server.calls]
    assert not any("alertsPolicyCreate" in q for q in queries)
    (updated,) = [c for c in server.calls if "alertsNrqlConditionStaticUpdate" in c["query"]]
    assert updated["variables"]["id"] == "7"
    assert updated["variables"]["condition"]["name"] == "Apdex"
    assert sum("alertsNrqlConditionStaticCreate" in q for q in queries) == 2


def test_apply_needs_the_key_and_the_account():
    result = run("--apply")
    assert result.returncode == 2
    assert "NEW_RELIC_API_KEY" in result.stderr
