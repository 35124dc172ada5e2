"""deploy/instance.py: the environment an app instance writes at boot works for Django, for
systemd and for bash alike, and memcached's nodes come from ElastiCache's auto discovery."""

from __future__ import annotations

import os
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from deploy import instance

ROOT = Path(__file__).resolve().parent.parent.parent
FACTS = """\
STACK_NAME=beebeta
STACK_RESOURCE=AppGroup
AWS_REGION=eu-west-1
RELEASE=3f2a1b9
SITE_DOMAIN=beebeta.example
LB_NETWORK=10.40.0.0/16
DATABASE_HOST=beebeta-db.abc123.eu-west-1.rds.amazonaws.com
DATABASE_PORT=3306
DATABASE_REPLICA=
DATABASE_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db
SECRET_KEY_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:key
APP_SECRETS_ARN=
CACHE_ENDPOINT=beebeta.abc123.cfg.euw1.cache.amazonaws.com:11211
MEDIA_BUCKET=beebeta-mediabucket-1x2y3z
CDN_DOMAIN=d111111abcdef8.cloudfront.net
EMAIL_HOST=email-smtp.eu-west-1.amazonaws.com
"""
DISCOVERY_REPLY = (
    b"CONFIG cluster 0 147\r\n"
    b"12\n"
    b"beebeta.abc123.0001.euw1.cache.amazonaws.com|10.40.2.11|11211 "
    b"beebeta.abc123.0002.euw1.cache.amazonaws.com|10.40.3.12|11211\n"
    b"\r\nEND\r\n"
)
NODES = [
    "beebeta.abc123.0001.euw1.cache.amazonaws.com:11211",
    "beebeta.abc123.0002.euw1.cache.amazonaws.com:11211",
]


def the_env(**extra: str) -> dict[str, str]:
    return instance.production_env(
        instance.read_env_file(FACTS),
        database={"username": "beebeta", "password": "p@ss/w:rd"},
        memcached=NODES,
        extra=extra,
    )


def test_the_nodes_come_from_the_discovery_reply():
    assert instance.parse_cluster_config(DISCOVERY_REPLY) == NODES


def test_the_nodes_are_asked_of_the_configuration_endpoint():
    class Discovery(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            assert self.request.recv(100) == b"config get cluster\r\n"
            self.request.sendall(DISCOVERY_REPLY)

    with socketserver.TCPServer(("127.0.0.1", 0), Discovery) as server:
        thread = threading.Thread(target=server.handle_request)
        thread.start()
        nodes = instance.memcached_nodes(f"127.0.0.1:{server.server_address[1]}")
        thread.join()
    assert nodes == NODES


def test_the_production_environment():
    env = the_env(SENTRY_DSN="https://key@o1.ingest.sentry.io/1")
    # The password is escaped for the URL.
    assert env["DATABASE_URL"] == (
        "mysql://beebeta:p%40ss%2Fw%3Ard@beebeta-db.abc123.eu-west-1.rds.amazonaws.com:3306/beebeta"
    )
    assert env["MEMCACHED_LOCATIONS"] == ",".join(NODES)
    assert env["AWS_S3_CUSTOM_DOMAIN"] == "d111111abcdef8.cloudfront.net"
    assert env["STATIC_URL"] == "https://d111111abcdef8.cloudfront.net/static/"
    assert env["TRUSTED_PROXIES"] == "127.0.0.1"
    assert env["SENTRY_DSN"] == "https://key@o1.ingest.sentry.io/1"
    assert "DATABASE_REPLICA_URL" not in env
    with pytest.raises(instance.InstanceError):
        the_env(**{"not a name": "x"})


def test_a_read_replica_gets_the_primarys_credentials():
    facts = instance.read_env_file(FACTS)
    facts["DATABASE_REPLICA"] = "beebeta-replica.abc123.eu-west-1.rds.amazonaws.com:3306"
    env = instance.production_env(
        facts, database={"username": "beebeta", "password": "p@ss"}, memcached=NODES, extra={}
    )
    assert env["DATABASE_REPLICA_URL"] == (
        "mysql://beebeta:p%40ss@beebeta-replica.abc123.eu-west-1.rds.amazonaws.com:3306/beebeta"
    )


def test_the_env_file_reads_the_same_in_bash_as_it_was_written(tmp_path):
    env = {"PLAIN": "value", "SPACES": "Beebeta <noreply@beebeta.example>", "DOLLAR": "a$b${c}"}
    path = tmp_path / "env"
    path.write_text(instance.format_env_file(env))
    # As deploy/as-beebeta.sh loads it (systemd's EnvironmentFile= reads single quotes literally).
    script = f'set -a; . "{path}"; set +a; printf "%s\\n" "$PLAIN" "$SPACES" "$DOLLAR"'
    printed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert printed.stdout.splitlines() == list(env.values())
    assert instance.read_env_file(path.read_text()) == env
    with pytest.raises(instance.InstanceError):
        instance.format_env_file({"QUOTE": "it's"})


def test_the_environment_passes_the_deploy_checks(tmp_path):
    env = the_env()
    secret = tmp_path / "secret_key"
    secret.write_text("s" + os.urandom(40).hex())
    # This machine's paths for what the check touches; everything else as an instance has it.
    env.update(SECRET_KEY_FILE=str(secret), DATA_DIR=str(tmp_path), STATIC_ROOT=str(tmp_path))
    env_file = tmp_path / "env"
    env_file.write_text(instance.format_env_file(env))
    loaded = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    loaded.update(instance.read_env_file(env_file.read_text()))
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=loaded,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_static_files_are_published_to_the_bucket_once_per_name(s3_bucket, tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "beebeta.0123456789ab.css").write_text("body{}")
    (tmp_path / "css" / "beebeta.css").write_text("body{}")
    (tmp_path / "staticfiles.json").write_text("{}")

    assert instance.publish_static(s3_bucket.client, s3_bucket.name, tmp_path) == 3
    hashed = s3_bucket.head("static/css/beebeta.0123456789ab.css")
    assert hashed["ContentType"] == "text/css"
    assert hashed["CacheControl"] == "public, max-age=31536000, immutable"
    assert s3_bucket.head("static/css/beebeta.css")["CacheControl"] == "public, max-age=3600"
    # The next instance of the same release sends only what a release could have changed.
    assert instance.publish_static(s3_bucket.client, s3_bucket.name, tmp_path) == 2
