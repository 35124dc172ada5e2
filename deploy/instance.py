"""What an app instance learns when it boots, and what it tells CloudFormation.

    python deploy/instance.py write-env               /etc/beebeta/env and /etc/beebeta/secret_key
    python deploy/instance.py publish-static          collectstatic's files to the bucket's static/
    python deploy/instance.py signal SUCCESS|FAILURE  the Auto Scaling group's creation signal

deploy/provision.sh runs it with the release's virtualenv (for boto3). The stack's facts come
from /etc/beebeta/instance.env (written by cloud-init), the secrets from Secrets Manager through
the instance role, and the memcached nodes from ElastiCache's auto discovery, so however many
nodes the cluster has, every instance lists them all, in the same order.

CloudFront serves static files from the media bucket's static/ prefix, where every instance
publishes its release's collected files. Hashed names never collide and old ones stay, so during
a rolling release a page from either version finds its stylesheet, whichever instance served it.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import socket
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

FACTS_FILE = Path("/etc/beebeta/instance.env")
ENV_FILE = Path("/etc/beebeta/env")
SECRET_KEY_FILE = Path("/etc/beebeta/secret_key")
DATA_DIR = "/srv/beebeta/data"
STATIC_ROOT = "/srv/beebeta/static"
# DBName in deploy/cloudformation.yaml.
DATABASE_NAME = "beebeta"
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# ManifestStaticFilesStorage's names: beebeta.3f2a1b9c0d4e.css
HASHED = re.compile(r"\.[0-9a-f]{12}\.[A-Za-z0-9]+$")
YEAR = "public, max-age=31536000, immutable"
HOUR = "public, max-age=3600"
METADATA = "http://169.254.169.254/latest"


class InstanceError(RuntimeError):
    pass


def read_env_file(text: str) -> dict[str, str]:
    """KEY=value lines (values optionally single-quoted), as cloud-init and write-env write them."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        values[name] = value
    return values


def format_env_file(env: Mapping[str, str]) -> str:
    """An environment file that systemd's EnvironmentFile= and bash's `.` read alike: every
    value single-quoted, so neither expands `$` or splits on spaces."""
    lines = ["# Beebeta's environment, written by deploy/instance.py when the instance booted."]
    for name, value in env.items():
        if not NAME.match(name):
            raise InstanceError(f"{name!r} is not an environment variable name")
        if "'" in value or "\n" in value or "\\" in value:
            raise InstanceError(f"{name} has a quote, a backslash or a line break in its value")
        lines.append(f"{name}='{value}'")
    return "\n".join(lines) + "\n"


# --- memcached nodes ---------------------------------------------------------------------------


def parse_cluster_config(reply: bytes) -> list[str]:
    """The nodes in an ElastiCache `config get cluster` reply, as host:port.

    The reply is "CONFIG cluster 0 LENGTH", a config version, one line of
    "hostname|ip|port" entries separated by spaces, then "END".
    """
    lines = reply.decode("ascii").split("\n")
    if not lines or not lines[0].startswith("CONFIG cluster"):
        raise InstanceError(f"not an auto-discovery reply: {reply[:80]!r}")
    nodes = []
    for entry in lines[2].split():
        hostname, _, port = entry.split("|")
        nodes.append(f"{hostname}:{port}")
    if not nodes:
        raise InstanceError("the cluster lists no nodes")
    return nodes


def memcached_nodes(endpoint: str, timeout: float = 5.0) -> list[str]:
    host, _, port = endpoint.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(b"config get cluster\r\n")
        reply = b""
        while not reply.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return parse_cluster_config(reply)


# --- the environment -------------------------------------------------------------------------


def production_env(
    facts: Mapping[str, str],
    *,
    database: Mapping[str, str],
    memcached: Sequence[str],
    extra: Mapping[str, str],
) -> dict[str, str]:
    """Beebeta's settings on an app instance (README.md documents each variable)."""
    password = quote(database["password"], safe="")
    user = quote(database["username"], safe="")
    host, port = facts["DATABASE_HOST"], facts["DATABASE_PORT"]
    env = {
        "DEBUG": "false",
        "HTTPS": "true",
        "SECRET_KEY_FILE": str(SECRET_KEY_FILE),
        "ALLOWED_HOSTS": facts["SITE_DOMAIN"],
        "CSRF_TRUSTED_ORIGINS": f"https://{facts['SITE_DOMAIN']}",
        "PUBLIC_ORIGIN": f"https://{facts['SITE_DOMAIN']}",
        # nginx on the same machine; it alone sets X-Forwarded-For (deploy/nginx/beebeta.conf).
        "TRUSTED_PROXIES": "127.0.0.1",
        "DATA_DIR": DATA_DIR,
        "DATABASE_URL": f"mysql://{user}:{password}@{host}:{port}/{DATABASE_NAME}",
        "MEMCACHED_LOCATIONS": ",".join(memcached),
        "STATIC_MANIFEST": "true",
        "STATIC_ROOT": STATIC_ROOT,
        "STATIC_URL": f"https://{facts['CDN_DOMAIN']}/static/",
        "AWS_STORAGE_BUCKET_NAME": facts["MEDIA_BUCKET"],
        "AWS_S3_REGION_NAME": facts["AWS_REGION"],
        "AWS_S3_CUSTOM_DOMAIN": facts["CDN_DOMAIN"],
        "RELEASE": facts["RELEASE"],
        "SENTRY_ENVIRONMENT": "production",
    }
    if facts.get("EMAIL_HOST"):
        env["EMAIL_HOST"] = facts["EMAIL_HOST"]
    for name, value in extra.items():
        if not NAME.match(name) or not isinstance(value, str):
            raise InstanceError(f"the app secrets hold {name!r}, which is not NAME: string")
        env[name] = value
    return env


def _secret(client: Any, arn: str) -> str:
    return client.get_secret_value(SecretId=arn)["SecretString"]


def write_env() -> None:
    import boto3

    facts = read_env_file(FACTS_FILE.read_text())
    secrets = boto3.client("secretsmanager", region_name=facts["AWS_REGION"])
    database = json.loads(_secret(secrets, facts["DATABASE_SECRET_ARN"]))
    extra = {}
    if facts["APP_SECRETS_ARN"]:
        extra = json.loads(_secret(secrets, facts["APP_SECRETS_ARN"]))
    env = production_env(
        facts,
        database=database,
        memcached=memcached_nodes(facts["CACHE_ENDPOINT"]),
        extra=extra,
    )
    _write_private(SECRET_KEY_FILE, _secret(secrets, facts["SECRET_KEY_SECRET_ARN"]))
    _write_private(ENV_FILE, format_env_file(env))


def _write_private(path: Path, text: str) -> None:
    """Readable by root and the beebeta group only, from the first byte on."""
    import grp

    temporary = path.with_suffix(".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.chown(temporary, 0, grp.getgrnam("beebeta").gr_gid)
    temporary.replace(path)


# --- static files --------------------------------------------------------------------------


def publish_static(client: Any, bucket: str, root: Path, prefix: str = "static/") -> int:
    """Upload collectstatic's output under prefix; return how many files were sent.

    Hashed files already in the bucket are skipped (same name, same bytes); unhashed ones are
    sent again, as a release may change them.
    """
    present: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        present.update(item["Key"] for item in page.get("Contents", []))
    sent = 0
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        key = prefix + path.relative_to(root).as_posix()
        hashed = bool(HASHED.search(path.name))
        if hashed and key in present:
            continue
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        client.upload_file(
            str(path),
            bucket,
            key,
            ExtraArgs={"ContentType": content_type, "CacheControl": YEAR if hashed else HOUR},
        )
        sent += 1
    return sent


# --- CloudFormation ---------------------------------------------------------------------------


def _instance_id() -> str:
    # IMDSv2 (the launch template requires tokens): a PUT for a token, then the GET.
    token_request = urllib.request.Request(  # noqa: S310 - the fixed metadata address
        f"{METADATA}/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
    )
    with urllib.request.urlopen(token_request, timeout=5) as response:  # noqa: S310
        token = response.read().decode()
    request = urllib.request.Request(  # noqa: S310 - the fixed metadata address
        f"{METADATA}/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.read().decode()


def signal(status: str) -> None:
    import boto3

    facts = read_env_file(FACTS_FILE.read_text())
    boto3.client("cloudformation", region_name=facts["AWS_REGION"]).signal_resource(
        StackName=facts["STACK_NAME"],
        LogicalResourceId=facts["STACK_RESOURCE"],
        UniqueId=_instance_id(),
        Status=status,
    )


def main(argv: Sequence[str]) -> int:
    if argv == ["write-env"]:
        write_env()
        return 0
    if argv == ["publish-static"]:
        import boto3

        facts = read_env_file(FACTS_FILE.read_text())
        client = boto3.client("s3", region_name=facts["AWS_REGION"])
        sent = publish_static(client, facts["MEDIA_BUCKET"], Path(STATIC_ROOT))
        print(f"publish-static: {sent} files sent to s3://{facts['MEDIA_BUCKET']}/static/")
        return 0
    if len(argv) == 2 and argv[0] == "signal" and argv[1] in ("SUCCESS", "FAILURE"):
        signal(argv[1])
        return 0
    print("\n".join(__doc__.strip().splitlines()[2:5]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
