"""deploy/cloudformation.yaml passes cfn-lint and builds what the deploy guide promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = ROOT / "deploy" / "cloudformation.yaml"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


@pytest.fixture(scope="module")
def template() -> dict:
    return cfn_yaml.loads(TEMPLATE.read_text())


def resources_of_type(template: dict, kind: str) -> dict[str, dict]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_finds_nothing():
    result = subprocess.run(
        [str(CFN_LINT), str(TEMPLATE)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_instances_get_deploy_cloud_init_verbatim(template):
    launch = template["Resources"]["AppLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    user_data, variables = launch["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert user_data == (ROOT / "deploy" / "cloud-init.yaml").read_text()
    # Fn::Sub fills parameters, resources' attributes, pseudo parameters and its own variables
    # (the replica's endpoint, empty without one), nothing else.
    assert set(variables) == {"DatabaseReplicaEndpoint"}
    known = set(template["Parameters"]) | set(template["Resources"]) | {"AWS", *variables}
    for reference in re.findall(r"\$\{([^}!]+)\}", user_data):
        assert reference.split(".")[0].split("::")[0] in known, reference


def test_the_load_balancer_checks_healthz(template):
    (targets,) = resources_of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert targets["Properties"]["HealthCheckPath"] == "/healthz"
    assert targets["Properties"]["Matcher"] == {"HttpCode": "200"}


def test_at_least_two_app_instances_replaced_one_at_a_time(template):
    group = template["Resources"]["AppGroup"]
    assert template["Parameters"]["AppInstances"]["MinValue"] >= 2
    assert group["Properties"]["MinSize"] == {"Ref": "AppInstances"}
    rolling = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert rolling["MinInstancesInService"] == {"Ref": "AppInstances"}
    assert rolling["MaxBatchSize"] == 1 and rolling["WaitOnResourceSignals"] is True
    assert group["Properties"]["HealthCheckType"] == "ELB"


def test_mysql_is_multi_az_and_memcached_has_two_nodes(template):
    database = template["Resources"]["Database"]
    assert database["Properties"]["MultiAZ"] is True
    assert database["DeletionPolicy"] == "Snapshot"
    cache = template["Resources"]["Cache"]["Properties"]
    assert cache["Engine"] == "memcached" and cache["NumCacheNodes"] == {"Ref": "CacheNodes"}
    assert template["Parameters"]["CacheNodes"]["Default"] == 2


def test_the_bucket_is_private_and_archives_originals(template):
    bucket = template["Resources"]["MediaBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    (archive,) = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "Transitions" in r]
    assert archive["Prefix"] == "originals/"
    assert archive["Transitions"][0]["TransitionInDays"] == {"Ref": "OriginalsArchiveDays"}


def test_cloudfront_may_read_renditions_and_static_files_only(template):
    policy = template["Resources"]["MediaBucketPolicy"]["Properties"]["PolicyDocument"]
    allowed = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allowed) == 1
    (statement,) = allowed
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    prefixes = [r["Fn::Sub"].split("}/", 1)[1] for r in statement["Resource"]]
    assert prefixes == ["display/*", "thumbs/*", "cards/*", "static/*", "open-data/*"]
    assert "AWS:SourceArn" in statement["Condition"]["StringEquals"]
    origins = template["Resources"]["Cdn"]["Properties"]["DistributionConfig"]["Origins"]
    media = next(origin for origin in origins if origin["Id"] == "media")
    assert media["OriginAccessControlId"] == {"Fn::GetAtt": ["MediaOriginAccess", "Id"]}


def test_the_instance_role_touches_only_the_media_bucket_and_reads_releases(template):
    (policy,) = template["Resources"]["InstanceRole"]["Properties"]["Policies"]
    for statement in policy["PolicyDocument"]["Statement"]:
        if any(action.startswith("s3:") for action in _actions(statement)):
            resource = str(statement["Resource"])
            if "ReleaseBucket" in resource:
                assert _actions(statement) == ["s3:GetObject"], statement
                assert "/releases/*" in resource
            else:
                assert "MediaBucket" in resource, statement
        assert statement["Resource"] != "*", statement


def test_each_tier_reaches_only_the_next(template):
    groups = template["Resources"]

    def sources(name: str) -> list:
        return [
            rule.get("SourceSecurityGroupId", rule.get("CidrIp"))
            for rule in groups[name]["Properties"]["SecurityGroupIngress"]
        ]

    assert sources("AppSecurityGroup") == [{"Ref": "LoadBalancerSecurityGroup"}]
    assert sources("DatabaseSecurityGroup") == [{"Ref": "AppSecurityGroup"}]
    assert sources("CacheSecurityGroup") == [{"Ref": "AppSecurityGroup"}]
    egress = resources_of_type(template, "AWS::EC2::SecurityGroupEgress")
    from_balancer = [
        e
        for e in egress.values()
        if e["Properties"]["GroupId"] == {"Ref": "LoadBalancerSecurityGroup"}
    ]
    assert [e["Properties"]["DestinationSecurityGroupId"] for e in from_balancer] == [
        {"Ref": "AppSecurityGroup"}
    ]


def test_the_outputs_an_operator_needs(template):
    assert {
        "SiteUrl",
        "LoadBalancerDns",
        "CdnDomain",
        "MediaBucketName",
        "DatabaseEndpoint",
        "CacheConfigurationEndpoint",
        "AppGroupName",
    } <= set(template["Outputs"])


def _actions(statement: dict) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)
