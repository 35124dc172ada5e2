"""Logs that outlive an instance and alarms that tell someone: the CloudWatch agent's
configuration in deploy/cloud-init.yaml ships every log an instance writes to a group the
template keeps, and the template's alarms cover the database, the cache and the load balancer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/beebeta.json"


@pytest.fixture(scope="module")
def template() -> dict:
    return cfn_yaml.loads((DEPLOY / "cloudformation.yaml").read_text())


@pytest.fixture(scope="module")
def collected() -> list[dict]:
    cloud_init = yaml.safe_load((DEPLOY / "cloud-init.yaml").read_text())
    (written,) = [f for f in cloud_init["write_files"] if f["path"] == AGENT_CONFIG]
    config = json.loads(written["content"])
    assert any(AGENT_CONFIG in " ".join(command) for command in cloud_init["runcmd"])
    return config["logs"]["logs_collected"]["files"]["collect_list"]


def files_written_on_an_instance() -> set[str]:
    """Every log file the units and the provisioning make an instance write."""
    written = set()
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        written |= set(re.findall(r"^Standard(?:Output|Error)=append:(\S+)$", text, re.M))
        written |= set(re.findall(r"GUNICORN_(?:ACCESS|ERROR)_LOG=(\S+)", text))
    provision = (DEPLOY / "provision.sh").read_text()
    written |= set(re.findall(r"ACCESS_LOG=(\S+)", provision))
    # nginx's error log (Ubuntu's nginx.conf) and cloud-init's output of provisioning.
    return written | {"/var/log/nginx/error.log", "/var/log/cloud-init-output.log"}


def test_the_agent_ships_every_log_an_instance_writes(collected):
    shipped = {entry["file_path"] for entry in collected}
    assert shipped == files_written_on_an_instance()
    assert {
        "/var/log/beebeta/requests.log",
        "/var/log/beebeta/gunicorn-access.log",
        "/var/log/nginx/beebeta.log",
    } <= shipped
    # One stream per instance (and per file within a group), named by the agent.
    streams = {(e["log_group_name"], e["log_stream_name"]) for e in collected}
    assert len(streams) == len(collected)
    assert all(e["log_stream_name"].startswith("{instance_id}") for e in collected)


def test_every_group_is_kept_for_the_stated_time(template, collected):
    groups = {
        resource["Properties"]["LogGroupName"]["Fn::Sub"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }
    assert {entry["log_group_name"] for entry in collected} == set(groups)
    for properties in groups.values():
        assert properties["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30


def test_the_instances_may_write_their_logs(template):
    role = template["Resources"]["InstanceRole"]["Properties"]
    policies = json.dumps(role["ManagedPolicyArns"])
    assert "CloudWatchAgentServerPolicy" in policies


def test_the_alarms_cover_the_database_the_cache_and_the_load_balancer(template):
    alarms = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    ]
    covered = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms}
    assert covered >= {
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "ReplicaLag"),
        ("AWS/ElastiCache", "Evictions"),
        ("AWS/ElastiCache", "CPUUtilization"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
    }
    for alarm in alarms:
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert properties["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert properties["Dimensions"], properties["MetricName"]
    (lag,) = [a for a in alarms if a["Properties"]["MetricName"] == "ReplicaLag"]
    assert lag["Condition"] == "HasReadReplica"


def test_the_alarms_are_mailed(template):
    topic = template["Resources"]["AlarmTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    mailed = json.dumps(topic["Properties"]["Subscription"])
    assert '"Protocol": "email"' in mailed and '"Ref": "AlarmEmail"' in mailed
