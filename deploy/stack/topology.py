"""The local stack's topology: the Stack that starts, records, observes and stops it.

    HAProxy (ends TLS, checks /healthz: the load balancer)
      -> nginx x 2 (deploy/nginx/beebeta.conf, as on every app instance)
        -> gunicorn x 2 (deploy/gunicorn.conf.py, through newrelic-admin, sending nothing)
          -> MariaDB, memcached x 2, an S3 API server (moto) behind an nginx CloudFront stand-in

Every process runs from the repository's configs, rendered with loopback values, with its files
in one temporary folder and on free ports. `Stack.up` starts it (detached for `make stack`),
records what it started in a state file and returns once the site answers; `Stack.down` stops
exactly those processes, recognised by pid and start time, and removes the folder. The
end-to-end tests drive the same class in-process (tests/conftest.py's `stack` fixture).

Each nginx sends to its own gunicorn and falls back to the other one (`backup`) when its own
refuses connections, so stopping an app server costs no request; HAProxy stops sending to an
nginx that fails its health checks, and retries on the other nginx a request whose connection
was refused. See deploy/README.md ("The local stack").

With relays (`up --relays`, as the end-to-end tests run it), the app servers reach each memcached
node and the S3 API through a relay of their own (faults.py) that a test can make silent or slow
with `Stack.relay`, to see what a hanging cache node or an unreachable S3 costs. The CDN
stand-in and the stack's own set-up talk to S3 directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from deploy.render import render_file
from deploy.stack import services
from deploy.stack.faults import RELAYS, ask_relay, relay_argv
from deploy.stack.processes import (
    HOST,
    Proc,
    ServiceError,
    find_executable,
    free_ports,
    http_status,
    stop_all,
    tcp_accepts,
)

if TYPE_CHECKING:
    from MySQLdb.connections import Connection

ROOT = Path(__file__).resolve().parent.parent.parent

DEPLOY = ROOT / "deploy"
# The stack's own configs, rendered as deploy/render.py renders production's.
TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_STATE = ROOT / "var" / "stack" / "state.json"
# HAProxy connects to nginx from this loopback address: the load balancer's "address range",
# distinct from the browser's 127.0.0.1, so nginx believes X-Forwarded-For from it alone.
LB_ADDRESS = "127.0.0.2"
BUCKET = "beebeta-media"
# seed_demo's documented default for the demo and staff users (README.md).
DEMO_PASSWORD = "beebeta-demo"  # noqa: S105
# The session and CSRF cookies' names under HTTPS=true (beebeta/settings.py), for the clients
# that send them by hand (tests/stack/storm.py, bench/).
SESSION_COOKIE = "__Host-sessionid"
CSRF_COOKIE = "__Host-csrftoken"
WORKERS_PER_APP_SERVER = 2
START_TIMEOUT = 60.0
# Longer than a test server's: nginx and gunicorn first finish the requests in flight.
STOP_TIMEOUT = 15.0
# Processes the stack starts itself (the others are services.py's servers), and the order in
# which `down` stops everything: the front first, so nothing new arrives at what stops next.
LAUNCHED = (
    "haproxy",
    "nginx-1",
    "nginx-2",
    "cdn",
    "gunicorn-1",
    "gunicorn-2",
    "outbox",
    "rankings",
    "insights",
    *RELAYS,
)
STOP_ORDER = (*LAUNCHED, "s3", "memcached-1", "memcached-2", "replica", "mariadb")


def say(message: str) -> None:
    print(f"stack: {message}", file=sys.stderr, flush=True)


def make_certificate(folder: Path) -> None:
    """A self-signed certificate for 127.0.0.1 (as the ELB has its ACM certificate): cert.pem
    and key.pem in ``folder``, and site.pem, both in one file, as HAProxy reads them."""
    folder.mkdir(exist_ok=True)
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            find_executable("openssl"),
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-days",
            "30",
            "-subj",
            "/CN=Beebeta local stack",
            "-addext",
            f"subjectAltName=IP:{HOST},DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    key.chmod(0o600)
    bundle = folder / "site.pem"
    bundle.write_bytes(certificate.read_bytes() + key.read_bytes())
    bundle.chmod(0o600)


@dataclass
class Stack:
    home: Path
    ports: dict[str, int]
    state_path: Path
    detach: bool = False
    relays: bool = False
    procs: dict[str, Proc] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Where `up` makes the stack's folder (under the system's temporary folder).
    folder_prefix: ClassVar[str] = "beebeta-stack-"

    # --- what it looks like ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.ports['haproxy']}/"

    @property
    def origin(self) -> str:
        return self.url.rstrip("/")

    @property
    def cdn_host(self) -> str:
        return f"{HOST}:{self.ports['cdn']}"

    @property
    def certificate(self) -> Path:
        return self.home / "tls" / "cert.pem"

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the stack's own certificate, as a browser that trusts it would."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def app_address(self, service: str) -> str:
        """Where the app servers reach ``service``: through its relay when the stack has them."""
        relay = f"relay-{service}"
        return f"{HOST}:{self.ports[relay if self.relays else service]}"

    def django_env(self) -> dict[str, str]:
        """Beebeta's environment on the stack: production settings with loopback addresses."""
        ports = self.ports
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "DEBUG": "false",
            "HTTPS": "true",
            "SECRET_KEY_FILE": str(self.home / "secret_key"),
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "CSRF_TRUSTED_ORIGINS": self.origin,
            "TRUSTED_PROXIES": "127.0.0.1",
            "DATA_DIR": str(self.home / "data"),
            "DATABASE_URL": f"mysql://root@{HOST}:{ports['mariadb']}/{services.DATABASE_NAME}",
            "MEMCACHED_LOCATIONS": (
                f"{self.app_address('memcached-1')},{self.app_address('memcached-2')}"
            ),
            "STATIC_MANIFEST": "true",
            "STATIC_ROOT": str(self.home / "static"),
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": f"http://{self.app_address('s3')}",
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_S3_CUSTOM_DOMAIN": self.cdn_host,
            "AWS_S3_URL_PROTOCOL": "https:",
            "AWS_S3_ADDRESSING_STYLE": "path",
            # moto takes any credentials; nothing may reach for real ones or the instance role.
            "AWS_ACCESS_KEY_ID": "stack",
            "AWS_SECRET_ACCESS_KEY": "stack",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "DEMO_PASSWORD": DEMO_PASSWORD,
            "SENTRY_ENVIRONMENT": "stack",
            "GUNICORN_WORKERS": str(WORKERS_PER_APP_SERVER),
            # The agent loads and stays off: deploy/newrelic.ini's development section turns
            # monitor mode off, the variable does when there is no file, and there is no license.
            "NEW_RELIC_MONITOR_MODE": "false",
            "NEW_RELIC_ENVIRONMENT": "development",
        }
        if "replica" in ports:
            # RDS's read replica: reads that tolerate lag go there (beebeta/replica.py).
            replica = f"mysql://root@{HOST}:{ports['replica']}/{services.DATABASE_NAME}"
            env["DATABASE_REPLICA_URL"] = replica
        newrelic_ini = DEPLOY / "newrelic.ini"
        if newrelic_ini.exists():
            env["NEW_RELIC_CONFIG_FILE"] = str(newrelic_ini)
        return env

    # --- starting -------------------------------------------------------------------------------

    @classmethod
    def up(
        cls,
        *,
        state_path: Path | None = None,
        detach: bool = False,
        relays: bool = False,
        announce: Callable[[str], None] = say,
    ) -> Stack:
        """Start everything and return once the site answers; on any failure, stop what was
        started and remove the folder. With ``relays``, the app servers reach memcached and S3
        through relays that `relay` controls."""
        home = Path(tempfile.mkdtemp(prefix=cls.folder_prefix))
        ports = free_ports(cls.process_names(relays=relays))
        stack = cls(home, ports, state_path or home / "state.json", detach, relays)
        stack.save()
        began = time.monotonic()
        try:
            stack.start_all(announce)
        except BaseException:
            stack.down()
            raise
        announce(f"ready in {time.monotonic() - began:.1f} s")
        return stack

    @classmethod
    def process_names(cls, *, relays: bool) -> list[str]:
        """The processes of the stack, each of which gets a port of its own."""
        names = ["haproxy", "nginx-1", "nginx-2", "cdn", "gunicorn-1", "gunicorn-2"]
        # The outbox's sender and the rankings' and insights' loops listen on nothing; their ports
        # stay unused.
        names += [
            "mariadb",
            "replica",
            "memcached-1",
            "memcached-2",
            "s3",
            "outbox",
            "rankings",
            "insights",
        ]
        return names + list(RELAYS) if relays else names

    def prepare_home(self) -> None:
        """The folder's secret key and error pages."""
        # nginx's workers run as an unprivileged user (nobody here, www-data on Ubuntu) and must
        # read the static files and the 429 page, as they read /srv/beebeta/static and
        # /srv/beebeta/app/templates in production; the secrets in the folder stay private to
        # their owner.
        self.home.chmod(0o755)
        secret_key = self.home / "secret_key"
        secret_key.touch(mode=0o600)
        secret_key.write_text(secrets.token_urlsafe(50))
        self._copy_error_pages()

    def start_all(self, announce: Callable[[str], None]) -> None:
        """Start every process, each as soon as what it needs is there, and wait until the site
        answers through HAProxy."""
        self.prepare_home()
        self._render_configs()
        with ThreadPoolExecutor(max_workers=10) as pool:

            def started(name: str) -> Future[Proc]:
                return pool.submit(self.start_process, name, announce=announce)

            tls = pool.submit(self._make_certificate)
            # Up in a fraction of a second, before anything could use them: they connect to
            # their service only when a client connects to them.
            relays = [started(name) for name in (RELAYS if self.relays else ())]
            database = started("mariadb")
            replica = started("replica")
            caches = [started("memcached-1"), started("memcached-2")]
            bucket_server = started("s3")
            static = pool.submit(self.run_python, "manage.py", "collectstatic", "--noinput", "-v0")
            # The app servers boot while the database comes up: they only connect on a request.
            front = [started(name) for name in ("gunicorn-1", "gunicorn-2", "nginx-1", "nginx-2")]
            database.result()
            data = pool.submit(self.migrate_and_seed)
            # From the start of the primary's binary log: the tables and the demo data too.
            services.start_replication(replica.result().port, self.ports["mariadb"])
            bucket_server.result()
            tls.result()  # the CDN stand-in serves HTTPS with it, as HAProxy does
            media: list[Future[Any]] = [pool.submit(self._create_bucket), started("cdn")]
            balancer = started("haproxy")
            every: list[Future[Any]] = [*relays, *caches, static, *front, data, *media, balancer]
            for future in every:
                future.result()
        # What the send_outbox, refresh_rankings and refresh_insights timers do in production, once
        # the tables exist.
        self.start_process("outbox", announce=announce)
        self.start_process("rankings", announce=announce)
        self.start_process("insights", announce=announce)
        self._wait_until_serving()

    def _make_certificate(self) -> None:
        make_certificate(self.certificate.parent)

    @property
    def error_pages(self) -> Path:
        return self.home / "error-pages"

    def _copy_error_pages(self) -> None:
        """The pages nginx serves itself, copied where its workers can read them: the checkout
        may be in a folder only its owner can enter (`mktemp -d` makes them 0700), where nginx
        could not open 429.html and would answer a rate-limited request with its own 403."""
        self.error_pages.mkdir()
        self.error_pages.chmod(0o755)
        page = self.error_pages / "429.html"
        shutil.copyfile(ROOT / "templates" / "429.html", page)
        page.chmod(0o644)

    def render_site(self, name: str, *, trusted: str, own: int, app_servers: str) -> None:
        """deploy/nginx/beebeta.conf for the nginx ``name``, in front of gunicorn port ``own``,
        believing X-Forwarded-For from ``trusted`` only."""
        folder = self.home / name
        site = render_file(
            DEPLOY / "nginx" / "beebeta.conf",
            {
                "LISTEN": f"{HOST}:{self.ports[name]}",
                "LB_NETWORK": trusted,
                "APP_SERVERS": app_servers,
                "OWN_APP_SERVER": f"{HOST}:{own}",
                "STATIC_ROOT": str(self.home / "static"),
                "ERROR_PAGES": str(self.error_pages),
                "SNIPPETS": str(DEPLOY / "nginx"),
                "ACCESS_LOG": str(folder / "access.log"),
                "PAGE_CACHE": str(folder / "page-cache"),
            },
        )
        self._write_nginx(folder, site)

    def _render_configs(self) -> None:
        ports = self.ports
        for number, other in ((1, 2), (2, 1)):
            own, spare = ports[f"gunicorn-{number}"], ports[f"gunicorn-{other}"]
            self.render_site(
                f"nginx-{number}",
                trusted=LB_ADDRESS,
                own=own,
                # Its own app server first; the other one only when its own refuses.
                app_servers=(
                    f"server {HOST}:{own} max_fails=1 fail_timeout=5s;\n"
                    f"    server {HOST}:{spare} backup;"
                ),
            )
        cdn = render_file(
            TEMPLATES / "cdn.conf",
            {
                "LISTEN": f"{HOST}:{ports['cdn']}",
                "S3": f"{HOST}:{ports['s3']}",
                "BUCKET": BUCKET,
                "CERT": str(self.certificate),
                "KEY": str(self.certificate.with_name("key.pem")),
            },
        )
        self._write_nginx(self.home / "cdn", cdn)
        (self.home / "haproxy.cfg").write_text(
            render_file(
                TEMPLATES / "haproxy.cfg",
                {
                    "HOME": str(self.home),
                    "PORT": str(ports["haproxy"]),
                    "LB_ADDRESS": LB_ADDRESS,
                    "NGINX_1": f"{HOST}:{ports['nginx-1']}",
                    "NGINX_2": f"{HOST}:{ports['nginx-2']}",
                },
            )
        )

    @staticmethod
    def _write_nginx(folder: Path, site: str) -> None:
        (folder / "temp").mkdir(parents=True)
        (folder / "site.conf").write_text(site)
        main = render_file(
            TEMPLATES / "nginx.conf",
            {"HOME": str(folder), "SITE": str(folder / "site.conf")},
        )
        (folder / "nginx.conf").write_text(main)

    def start_process(
        self,
        name: str,
        *,
        first: bool = True,
        announce: Callable[[str], None] | None = None,
    ) -> Proc:
        """Start one process of the stack, record it in the state file and return it once it is
        ready. MariaDB installs its data on the ``first`` start only: later starts find the
        rows still there."""
        port, home, detach = self.ports[name], self.home, self.detach
        if name == "mariadb":
            # A binary log only for a replica to follow (the benchmark's stack has none).
            role = "primary" if "replica" in self.ports else "single"
            proc = services.start_mariadb(
                home, port, name=name, new_session=detach, install=first, role=role
            )
        elif name == "replica":
            # Its replication settings are in its data: a restart follows the primary again.
            proc = services.start_mariadb(
                home / name, port, name=name, new_session=detach, install=first, role="replica"
            )
        elif name.startswith("memcached-"):
            proc = services.start_memcached(port, name=name, log_dir=home, new_session=detach)
        elif name == "s3":
            proc = services.start_s3(port, name=name, log_dir=home, new_session=detach)
        else:
            proc = self._launch(name)
        with self._lock:
            self.procs[name] = proc
            self.save()
        if announce is not None:
            announce(f"{name} on {proc.address} (pid {proc.pid})")
        return proc

    def process_spec(self, name: str) -> Proc:
        """How to start one of the processes the stack starts itself (not yet started)."""
        bin_dir = Path(sys.executable).parent
        log = str(self.home / f"{name}.log")
        port = self.ports[name]
        if name.startswith("gunicorn-"):
            argv = [
                str(bin_dir / "newrelic-admin"),
                "run-program",
                str(bin_dir / "gunicorn"),
                "--config",
                str(DEPLOY / "gunicorn.conf.py"),
                "beebeta.wsgi",
            ]
            return Proc(name, argv, log, port, extra_env={"GUNICORN_BIND": f"{HOST}:{port}"})
        if name == "outbox":
            # The emails go to the console backend (no EMAIL_HOST): into this process's log.
            argv = [sys.executable, "manage.py", "send_outbox", "--every", "2", "-v", "0"]
            return Proc(name, argv, log, port, extra_env={"REQUEST_LOG": "false"})
        if name == "rankings":
            # The lists' order follows the votes within RANKING_REFRESH_SECONDS: votes never
            # refresh it themselves.
            argv = [sys.executable, "manage.py", "refresh_rankings", "--follow", "-v", "0"]
            return Proc(name, argv, log, port, extra_env={"REQUEST_LOG": "false"})
        if name == "insights":
            # Every minute here, where production's timer runs every five: a test waits less.
            argv = [sys.executable, "manage.py", "refresh_insights", "--every", "60", "-v", "0"]
            return Proc(name, argv, log, port, extra_env={"REQUEST_LOG": "false"})
        if name.startswith("nginx-") or name == "cdn":
            folder = self.home / name
            nginx = find_executable("nginx")
            argv = [nginx, "-e", "stderr", "-p", str(folder), "-c", str(folder / "nginx.conf")]
            # QUIT: finish the requests in flight, then exit (systemctl stop nginx does the same).
            return Proc(name, [*argv, "-g", "daemon off;"], log, port, signal.SIGQUIT)
        if name == "haproxy":
            argv = [
                find_executable("haproxy"),
                "-db",
                "-f",
                str(self.home / "haproxy.cfg"),
            ]
            return Proc(name, argv, log, port)
        if name in RELAYS and self.relays:
            argv = relay_argv(
                listen=f"{HOST}:{port}",
                target=f"{HOST}:{self.ports[RELAYS[name]]}",
                control=self._relay_control(name),
            )
            return Proc(name, argv, log, port)
        raise ValueError(f"the stack does not start {name!r} itself")

    def _launch(self, name: str) -> Proc:
        proc = self.process_spec(name)
        env = None if proc.extra_env is None else {**self.django_env(), **proc.extra_env}
        proc.spawn(
            new_session=self.detach,
            env=env if env is not None else {"PATH": os.environ.get("PATH", "")},
            cwd=ROOT,
        )
        proc.wait_until_ready(lambda: self._ready(proc), timeout=START_TIMEOUT)
        return proc

    def _ready(self, proc: Proc) -> bool:
        if proc.name in ("outbox", "rankings", "insights"):
            return True  # it serves nothing; wait_until_ready has seen it alive
        if not tcp_accepts(proc.port):
            return False
        if proc.name.startswith("gunicorn-"):
            # Its own "Listening at" line: a port taken by someone else would not print it.
            log = Path(proc.log).read_text(errors="replace")
            listening = f"Listening at: http://{HOST}:{proc.port} ({proc.pid})" in log
            return listening and "Booting worker" in log
        if proc.name == "haproxy":
            return f"Pid: {proc.pid}\n" in self._haproxy("show info")
        if proc.name in RELAYS:
            # Its control socket answers once its port is bound, and names its own pid.
            try:
                return ask_relay(self._relay_control(proc.name), "status").get("pid") == proc.pid
            except (OSError, ValueError):
                return False
        pid_file = self.home / proc.name / "nginx.pid"
        return pid_file.exists() and pid_file.read_text().strip() == str(proc.pid)

    def connect_database(self, **options: Any) -> Connection:
        """A connection to the stack's MariaDB as root over TCP, through mysqlclient (so from the
        project's virtualenv); ``options`` go to MySQLdb.connect."""
        import MySQLdb

        port = self.ports["mariadb"]
        database = services.DATABASE_NAME
        return MySQLdb.connect(host=HOST, port=port, user="root", database=database, **options)

    def run_python(self, *args: str, timeout: float = 300) -> str:
        """Run a Python program of the repository (manage.py ...) in the stack's environment."""
        result = subprocess.run(  # noqa: S603 - the repository's own programs
            [sys.executable, *args],
            cwd=ROOT,
            env=self.django_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-30:]
            raise ServiceError(f"{' '.join(args)} failed:\n" + "\n".join(output))
        return result.stdout

    def migrate(self) -> None:
        # As each instance does at boot (deploy/provision.sh): migrations under the fleet's lock.
        self.run_python(
            str(DEPLOY / "manage_once.py"), "--wait", "120", "migrate", "--noinput", "-v", "0"
        )

    def migrate_and_seed(self) -> None:
        self.migrate()
        self.run_python("manage.py", "seed_demo")

    def _create_bucket(self) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=f"http://{HOST}:{self.ports['s3']}",
            region_name="us-east-1",
            aws_access_key_id="stack",
            aws_secret_access_key="stack",  # noqa: S106 - moto takes any
        )
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_policy(Bucket=BUCKET, Policy=services.renditions_only_policy(BUCKET))

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            both_up = set(self.backend_status().values()) == {"UP"}
            if both_up and http_status(self.url, context=self.ssl_context()) == 200:
                return
            if time.monotonic() > deadline:
                raise ServiceError(f"{self.url} did not answer 200 through HAProxy in time")
            time.sleep(0.1)

    # --- running --------------------------------------------------------------------------------

    def _haproxy(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            try:
                sock.connect(str(self.home / "haproxy.sock"))
            except OSError:
                return ""
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def haproxy_stats(self) -> list[dict[str, str]]:
        """HAProxy's `show stat`: one row per frontend, backend and server."""
        lines = self._haproxy("show stat").splitlines()
        if not lines or not lines[0].startswith("# "):
            return []
        header = lines[0][2:].split(",")
        return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]

    def backend_status(self) -> dict[str, str]:
        """{"nginx-1": "UP", "nginx-2": "DOWN", ...} as HAProxy's health checks see them."""
        return {
            row["svname"]: row["status"]
            for row in self.haproxy_stats()
            if row["pxname"] == "nginx" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def stop(self, name: str, signum: int | None = None) -> None:
        """Stop one process (gracefully unless told otherwise) and wait until it is gone."""
        proc = self.procs[name]
        proc.send(proc.stop_signal if signum is None else signum)
        proc.finish(STOP_TIMEOUT)

    def start(self, name: str) -> None:
        """Start a stopped process again, on the same port with the same config; MariaDB on the
        same data (every committed row is still there), S3 with its bucket made again."""
        if self.procs[name].alive():
            raise ServiceError(f"{name} is running")
        self.start_process(name, first=False)
        if name == "s3":
            self._create_bucket()

    def send(self, name: str, signum: int) -> None:
        self.procs[name].send(signum)

    def relay(self, service: str, command: str = "status") -> dict[str, Any]:
        """Tell the relay in front of ``service`` ("memcached-1", "s3"...) to "forward",
        "blackhole" or "delay SECONDS" (see faults.py); returns its state: mode,
        connections accepted, connections held by a blackhole."""
        if not self.relays:
            raise ServiceError("this stack has no relays: start it with relays=True")
        state = ask_relay(self._relay_control(f"relay-{service}"), command)
        if "error" in state:
            raise ServiceError(f"relay-{service}: {state['error']}")
        return state

    def _relay_control(self, name: str) -> Path:
        return self.home / f"{name}.sock"

    # --- stopping -------------------------------------------------------------------------------

    def stop_order(self) -> list[str]:
        """The names of the processes to stop, the front first."""
        return [name for name in STOP_ORDER if name in self.procs]

    def down(self) -> None:
        """Stop every process this stack started, then remove its folder and state file."""
        stop_all((self.procs[name] for name in self.stop_order()), STOP_TIMEOUT)
        shutil.rmtree(self.home, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()

    # --- the state file -------------------------------------------------------------------------

    def save(self) -> None:
        state = {
            "url": self.url,
            "home": str(self.home),
            "ports": self.ports,
            "detach": self.detach,
            "relays": self.relays,
            "procs": [proc.to_json() for proc in self.procs.values()],
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self.state_path)

    @classmethod
    def load(cls, state_path: Path) -> Stack:
        state = json.loads(state_path.read_text())
        stack = cls(
            Path(state["home"]),
            state["ports"],
            state_path,
            state["detach"],
            state.get("relays", False),
        )
        stack.procs = {data["name"]: Proc.from_json(data) for data in state["procs"]}
        return stack
