"""The benchmark's topology: deploy/stack/'s processes, one nginx + gunicorn pair per rung.

    wrk -> nginx-app   -> gunicorn-app    (beebeta.settings: the real site)
        -> nginx-hello -> gunicorn-hello  (bench.settings_hello: + one minimal view)
        -> nginx-bare  -> gunicorn-bare   (bench.settings_bare: no middleware, no apps)
        -> nginx-cold  -> gunicorn-cold   (bench.settings_cold: the site with no cache)
        -> nginx-tutorial -> gunicorn-tutorial  (bench.settings_tutorial: the tutorial's polls)
        -> nginx-dedupe   -> gunicorn-dedupe    (bench.settings_dedupe: + one vote per person)
    every gunicorn -> MariaDB, memcached x 2

Every nginx is deploy/nginx/beebeta.conf and every gunicorn deploy/gunicorn.conf.py, rendered
and started by the code of deploy.stack.topology.Stack. Two things differ from `make stack`, on
purpose: HAProxy (TLS) and the S3/CDN stand-ins are left out, since the load balancer is not what
is measured and no page of the benchmark reads an image; and nginx believes X-Forwarded-For from
127.0.0.1, where wrk connects from, so that each simulated voter arrives from its own address as
it would through the load balancer, and the per-address vote limit measures nothing it should not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from deploy.stack.processes import HOST, Proc, ServiceError
from deploy.stack.topology import ROOT, Stack

# The rungs served by Django, and the settings module each gunicorn runs.
APP_SERVERS = {
    "app": "beebeta.settings",
    "hello": "bench.settings_hello",
    "bare": "bench.settings_bare",
    "cold": "bench.settings_cold",
    # The peers (bench/peer/): what a Django developer would write instead of Beebeta.
    "tutorial": "bench.settings_tutorial",
    "dedupe": "bench.settings_dedupe",
}
PEERS = ("tutorial", "dedupe")
# wrk's address: the benchmark's load balancer, whose X-Forwarded-For nginx believes.
CLIENT_NETWORK = "127.0.0.1"
# The per-account vote limit, raised so that it never refuses a benchmark vote (each simulated
# voter is a separate account anyway); the check itself still runs on every vote.
VOTE_RATE_LIMIT = "1000000"
# MariaDB as a real database server would be sized, rather than services.py's small test
# instance: the million-vote question's rows and indexes fit in memory.
BUFFER_POOL_BYTES = 1024 * 1024 * 1024


class BenchStack(Stack):
    """deploy.stack.topology.Stack with the benchmark's processes instead of `make stack`'s."""

    folder_prefix = "beebeta-bench-"

    @classmethod
    def process_names(cls, *, relays: bool) -> list[str]:
        # s3 and cdn are only named (media URLs are built, never fetched): no server is started.
        names = ["mariadb", "memcached-1", "memcached-2", "s3", "cdn"]
        for rung in APP_SERVERS:
            names += [f"nginx-{rung}", f"gunicorn-{rung}"]
        return names

    def url_of(self, rung: str) -> str:
        return f"http://{HOST}:{self.ports[f'nginx-{rung}']}"

    def django_env(self) -> dict[str, str]:
        env = super().django_env()
        # Pages are addressed to each nginx directly; this is the origin wrk's votes name.
        env["CSRF_TRUSTED_ORIGINS"] = self.origin
        env["VOTE_RATE_LIMIT"] = VOTE_RATE_LIMIT
        # deploy/gunicorn.conf.py decides the worker count, as in production, unless
        # BENCH_GUNICORN_WORKERS asks for another (to calibrate that default).
        del env["GUNICORN_WORKERS"]
        if os.environ.get("BENCH_GUNICORN_WORKERS"):
            env["GUNICORN_WORKERS"] = os.environ["BENCH_GUNICORN_WORKERS"]
        return env

    @property
    def url(self) -> str:
        # Stack's url names HAProxy, which the benchmark does not start.
        return f"https://{HOST}:{self.ports['nginx-app']}/"

    def process_spec(self, name: str) -> Proc:
        proc = super().process_spec(name)
        rung = name.partition("-")[2]
        if name.startswith("gunicorn-") and proc.extra_env is not None:
            proc.extra_env["DJANGO_SETTINGS_MODULE"] = APP_SERVERS[rung]
        return proc

    def start_all(self, announce: Callable[[str], None]) -> None:
        self.prepare_home()
        for rung in APP_SERVERS:
            self._render_nginx(rung)
        with ThreadPoolExecutor(max_workers=8) as pool:

            def started(name: str) -> Future[Proc]:
                return pool.submit(self.start_process, name, announce=announce)

            database = started("mariadb")
            caches = [started("memcached-1"), started("memcached-2")]
            static = pool.submit(self.run_python, "manage.py", "collectstatic", "--noinput", "-v0")
            database.result()
            self._size_database()
            migrated = pool.submit(self.migrate)
            for future in (*caches, static, migrated):
                future.result()
        # One after the other: four Django boots at once on two cores only queue behind each other.
        for rung in APP_SERVERS:
            for kind in ("gunicorn", "nginx"):
                self.start_process(f"{kind}-{rung}", announce=announce)

    def set_up_peers(self, seed_file: Path) -> None:
        """Each peer's tables, with Beebeta's benchmark questions (bench/peer/setup.py)."""
        for peer in PEERS:
            result = subprocess.run(  # noqa: S603 - the repository's own program
                [sys.executable, "-m", "bench.peer.setup", str(seed_file)],
                cwd=ROOT,
                env={**self.django_env(), "DJANGO_SETTINGS_MODULE": APP_SERVERS[peer]},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if result.returncode != 0:
                raise ServiceError(f"bench.peer.setup failed:\n{result.stdout}{result.stderr}")

    def _size_database(self) -> None:
        connection = self.connect_database()
        try:
            connection.cursor().execute(f"SET GLOBAL innodb_buffer_pool_size = {BUFFER_POOL_BYTES}")
        finally:
            connection.close()

    def _render_nginx(self, rung: str) -> None:
        own = self.ports[f"gunicorn-{rung}"]
        self.render_site(
            f"nginx-{rung}", trusted=CLIENT_NETWORK, own=own, app_servers=f"server {HOST}:{own};"
        )

    def stop_order(self) -> list[str]:
        """Every process of the benchmark: the nginx first, then gunicorn, then the services."""
        fronts = ("nginx", "gunicorn")

        def rank(name: str) -> int:
            kind = name.split("-")[0]
            return fronts.index(kind) if kind in fronts else len(fronts)

        return sorted(self.procs, key=rank)
