"""Apply deploy/alerts.yaml to New Relic: its policy and its NRQL conditions, through NerdGraph.

    python deploy/newrelic_alerts.py            dry run: what would be created or updated
    python deploy/newrelic_alerts.py --apply    do it (NEW_RELIC_API_KEY, NEW_RELIC_ACCOUNT_ID)

The file is the truth: the policy is found by its name (created if missing), and each condition
by its name within the policy, created if missing and otherwise updated to the file's query and
thresholds, so running it again changes nothing. Conditions the file does not name are left
alone. A dry run reads nothing and sends nothing; --apply needs a user key
(NEW_RELIC_API_KEY) and the account (NEW_RELIC_ACCOUNT_ID), and talks to
NEW_RELIC_NERDGRAPH_URL (default: the US region's NerdGraph; the EU's is
https://api.eu.newrelic.com/graphql). Standard library and PyYAML.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ALERTS = Path(__file__).resolve().parent / "alerts.yaml"
NERDGRAPH = "https://api.newrelic.com/graphql"
TIMEOUT = 30

FIND_POLICY = """
query($account: Int!, $name: String!) {
  actor { account(id: $account) { alerts {
    policiesSearch(searchCriteria: {name: $name}) { policies { id name } }
  } } }
}"""
CREATE_POLICY = """
mutation($account: Int!, $policy: AlertsPolicyInput!) {
  alertsPolicyCreate(accountId: $account, policy: $policy) { id name }
}"""
FIND_CONDITIONS = """
query($account: Int!, $policy: ID!) {
  actor { account(id: $account) { alerts {
    nrqlConditionsSearch(searchCriteria: {policyId: $policy}) { nrqlConditions { id name } }
  } } }
}"""
CREATE_CONDITION = """
mutation($account: Int!, $policy: ID!, $condition: AlertsNrqlConditionStaticInput!) {
  alertsNrqlConditionStaticCreate(accountId: $account, policyId: $policy, condition: $condition) {
    id name
  }
}"""
UPDATE_CONDITION = """
mutation($account: Int!, $id: ID!, $condition: AlertsNrqlConditionUpdateStaticInput!) {
  alertsNrqlConditionStaticUpdate(accountId: $account, id: $id, condition: $condition) {
    id name
  }
}"""


class AlertsError(RuntimeError):
    pass


def condition_input(condition: Mapping[str, Any]) -> dict[str, Any]:
    """One condition of alerts.yaml as NerdGraph's static NRQL condition."""
    operator = {"above": "ABOVE", "below": "BELOW"}[condition["operator"]]
    terms = [
        {
            "priority": priority.upper(),
            "operator": operator,
            "threshold": float(condition[priority]["threshold"]),
            "thresholdDuration": int(condition[priority]["for_minutes"]) * 60,
            "thresholdOccurrences": "ALL",
        }
        for priority in ("critical", "warning")
        if priority in condition
    ]
    return {
        "name": condition["name"],
        "enabled": True,
        "nrql": {"query": " ".join(condition["nrql"].split())},
        "terms": terms,
        "valueFunction": "SINGLE_VALUE",
        "violationTimeLimitSeconds": 86400,
    }


def plan(alerts: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    policy = {
        "name": alerts["policy"]["name"],
        "incidentPreference": alerts["policy"]["incident_preference"],
    }
    return policy, [condition_input(condition) for condition in alerts["conditions"]]


Send = Callable[[str, dict[str, Any]], dict[str, Any]]


def nerdgraph(url: str, api_key: str) -> Send:
    def send(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(  # noqa: S310 - NerdGraph's https URL, or a local one
            url, data=body, headers={"Content-Type": "application/json", "API-Key": api_key}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise AlertsError(f"NerdGraph refused: {answer['errors']}")
        return answer["data"]

    return send


def apply(alerts: Mapping[str, Any], account: int, send: Send, say: Callable[[str], None]) -> None:
    policy, conditions = plan(alerts)
    found = send(FIND_POLICY, {"account": account, "name": policy["name"]})
    policies = found["actor"]["account"]["alerts"]["policiesSearch"]["policies"]
    same = [p for p in policies if p["name"] == policy["name"]]
    if same:
        policy_id = same[0]["id"]
        say(f"policy {policy['name']!r}: exists ({policy_id})")
    else:
        created = send(CREATE_POLICY, {"account": account, "policy": policy})
        policy_id = created["alertsPolicyCreate"]["id"]
        say(f"policy {policy['name']!r}: created ({policy_id})")
    found = send(FIND_CONDITIONS, {"account": account, "policy": policy_id})
    existing = {
        c["name"]: c["id"]
        for c in found["actor"]["account"]["alerts"]["nrqlConditionsSearch"]["nrqlConditions"]
    }
    for condition in conditions:
        name = condition["name"]
        if name in existing:
            variables = {"account": account, "id": existing[name], "condition": condition}
            send(UPDATE_CONDITION, variables)
            say(f"condition {name!r}: updated")
        else:
            variables = {"account": account, "policy": policy_id, "condition": condition}
            send(CREATE_CONDITION, variables)
            say(f"condition {name!r}: created")


def describe(alerts: Mapping[str, Any]) -> str:
    policy, conditions = plan(alerts)
    lines = [f"policy {policy['name']!r} ({policy['incidentPreference']}), if missing"]
    for condition in conditions:
        terms = ", ".join(
            f"{t['priority'].lower()} {t['operator'].lower()} {t['threshold']:g} "
            f"for {t['thresholdDuration'] // 60} min"
            for t in condition["terms"]
        )
        lines.append(f"condition {condition['name']!r}: {terms}")
        lines.append(f"    {condition['nrql']['query']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/newrelic_alerts.py", description=__doc__)
    parser.add_argument("--apply", action="store_true", help="send the changes (default: show)")
    parser.add_argument("--file", type=Path, default=ALERTS)
    options = parser.parse_args(argv)
    alerts = yaml.safe_load(options.file.read_text())
    if not options.apply:
        print(describe(alerts))
        print("dry run: nothing sent (--apply sends it)")
        return 0
    api_key = os.environ.get("NEW_RELIC_API_KEY", "")
    account = os.environ.get("NEW_RELIC_ACCOUNT_ID", "")
    if not api_key or not account.isdigit():
        print("--apply needs NEW_RELIC_API_KEY and NEW_RELIC_ACCOUNT_ID", file=sys.stderr)
        return 2
    url = os.environ.get("NEW_RELIC_NERDGRAPH_URL") or NERDGRAPH
    try:
        apply(alerts, int(account), nerdgraph(url, api_key), print)
    except (AlertsError, OSError) as error:
        print(f"newrelic_alerts: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
