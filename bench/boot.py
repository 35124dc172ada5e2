"""How long a new app instance takes from boot to a healthy /healthz, with and without the
release artefact (deploy/release.py).

    python -m bench.boot [--rounds N] [--json FILE]       (make bench-boot)

On the stack's servers (deploy/stack/services.py: MariaDB, memcached, the S3 API server, all
throwaway on loopback) it boots an instance the way deploy/provision.sh does, in a folder of
its own, and times each step until gunicorn, started with deploy/gunicorn.conf.py, answers
/healthz with 200:

- without the release: a virtualenv from the package index (requirements.lock, hashes checked,
  an empty pip cache as on a new machine, so mysqlclient is compiled), then collectstatic;
- with it: the release tarball fetched from the bucket, a virtualenv from its wheels alone
  (--no-index) and its static files copied.

Both then check the migrations (applied once per release, beforehand, as by the release's first
instance) and start gunicorn. The release is built once at the start (`make release` does the
same) and uploaded to the S3 API server. OS packages, the clone and the environment file are the
same either way and left out. Rounds alternate, so the machine's load weighs on both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from deploy import release
from deploy.stack.processes import HOST, Proc, free_port, http_status, stop_all
from deploy.stack.services import DATABASE_NAME, start_mariadb, start_memcached, start_s3

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "beebeta-releases"
HEALTHY_WITHIN = 120.0


def say(message: str) -> None:
    print(f"bench-boot: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def servers(folder: Path) -> Iterator[dict[str, str]]:
    started: list[Proc] = []
    try:
        database = start_mariadb(folder)
        started.append(database)
        started.append(start_memcached(log_dir=folder))
        bucket = start_s3(log_dir=folder)
        started.append(bucket)
        yield {
            "DATABASE_URL": f"mysql://root@{database.address}/{DATABASE_NAME}",
            "MEMCACHED_LOCATIONS": started[1].address,
            "S3": f"http://{bucket.address}",
        }
    finally:
        stop_all(reversed(started))


def instance_env(services: dict[str, str], folder: Path) -> dict[str, str]:
    """Production's settings as /etc/beebeta/env has them, on loopback."""
    secret = folder / "secret_key"
    secret.write_text(secrets.token_urlsafe(50))
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "DEBUG": "false",
        "HTTPS": "true",
        "TRUSTED_PROXIES": "127.0.0.1",
        "SECRET_KEY_FILE": str(secret),
        "ALLOWED_HOSTS": HOST,
        "DATA_DIR": str(folder / "data"),
        "DATABASE_URL": services["DATABASE_URL"],
        "MEMCACHED_LOCATIONS": services["MEMCACHED_LOCATIONS"],
        "STATIC_MANIFEST": "true",
        "STATIC_ROOT": str(folder / "static"),
        "REQUEST_LOG": "false",
        "GUNICORN_WORKERS": "2",
    }


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(  # noqa: S603 - the bench's own commands
        argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - moto takes any
    )


def boot(
    services: dict[str, str], *, with_release: bool, tarball_key: str, scratch: Path
) -> dict[str, float]:
    """One instance's boot, step by step, in seconds; the instance is stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="boot-", dir=scratch))
    env = instance_env(services, folder)
    venv, python = folder / "venv", str(folder / "venv" / "bin" / "python")
    steps: dict[str, float] = {}
    began = time.monotonic()

    def lap(name: str) -> None:
        steps[name] = round(time.monotonic() - began - sum(steps.values()), 2)

    if with_release:
        fetched = folder / "release.tar.gz"
        s3_client(services["S3"]).download_file(BUCKET, tarball_key, str(fetched))
        lap("fetch")
        release.install(fetched, venv=venv, static=folder / "static")
        lap("install")
    else:
        run([sys.executable, "-m", "venv", str(venv)])
        pip_env = {**os.environ, "PIP_CACHE_DIR": str(folder / "pip-cache")}
        run(
            [python, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", release.LOCK],
            env=pip_env,
        )
        lap("install")
        run([python, "manage.py", "collectstatic", "--noinput", "-v0"], env=env)
        lap("static")
    run([python, "manage.py", "migrate", "--check", "--noinput"], env=env)
    lap("migrations")
    port = free_port()
    gunicorn = Proc(
        "gunicorn",
        [python, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "beebeta.wsgi"],
        str(folder / "gunicorn.log"),
        port,
        extra_env={"GUNICORN_BIND": f"{HOST}:{port}"},
    )
    gunicorn.spawn(env={**env, "GUNICORN_BIND": f"{HOST}:{port}"}, cwd=ROOT)
    try:
        deadline = time.monotonic() + HEALTHY_WITHIN
        while http_status(f"http://{HOST}:{port}/healthz", timeout=1) != 200:
            if time.monotonic() > deadline or not gunicorn.alive():
                raise RuntimeError(f"no healthy /healthz; see {gunicorn.log}")
            time.sleep(0.05)
        lap("serve")
    finally:
        gunicorn.stop()
    steps["total"] = round(time.monotonic() - began, 2)
    shutil.rmtree(folder, ignore_errors=True)
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.boot", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "out" / "boot.json")
    options = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="beebeta-bench-boot-"))
    results: dict[str, list[dict[str, float]]] = {"without release": [], "with release": []}
    try:
        with servers(scratch) as services:
            say("building the release of HEAD")
            tarball = release.build(scratch / "release")
            key = release.key_of(tarball.name.removeprefix("beebeta-").removesuffix(".tar.gz"))
            client = s3_client(services["S3"])
            client.create_bucket(Bucket=BUCKET)
            client.upload_file(str(tarball), BUCKET, key)
            # Once per release, by its first instance: the database is migrated before the
            # instances measured here boot.
            env = instance_env(services, scratch)
            run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env=env)
            for number in range(options.rounds):
                for with_release in (False, True):
                    name = "with release" if with_release else "without release"
                    steps = boot(
                        services, with_release=with_release, tarball_key=key, scratch=scratch
                    )
                    results[name].append(steps)
                    say(f"round {number + 1}, {name}: {steps}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = {
        name: {
            "median_s": statistics.median(run["total"] for run in runs),
            "best_s": min(run["total"] for run in runs),
            "runs": runs,
        }
        for name, runs in results.items()
    }
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(summary, indent=2) + "\n")
    for name, figures in summary.items():
        say(f"{name}: boot to healthy {figures['median_s']} s median, {figures['best_s']} s best")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
