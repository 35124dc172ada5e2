"""How long a fresh clone takes to serve its first page with `make run`.

    python3 bench/first_run.py [--port N] [--cache cold|warm|both] [--source PATH] [--json F]

Clones the repository (its committed HEAD) into a temporary folder, runs `make run PORT=N`
there, which builds its own fresh .venv and var/, and polls http://127.0.0.1:N/ until it
answers 200. Then it stops exactly what it started (make's own process group), removes the
folder and reports the seconds from the start of `make run` to the first page, with the
phases read from make's output (the virtualenv installed, the demo data loaded, the server
listening) and the CPU time make and its children spent, which varies less than the wall
clock when other work shares the machine.

Downloads and compiling mysqlclient depend on the pip cache, so it is measured both ways with a
cache folder of the run's own: "cold" starts from an empty one (every package downloaded from
the package index, mysqlclient compiled), "warm" reuses what the cold run left (wheels from the
cache). The user's own pip cache is never read or written. Needs only Python and the OS
packages of `deploy/os-packages.sh run`; the port defaults to a free one, so a running
`make run` is no obstacle. Loopback only; gives up after --limit seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Lines of make's output that end a phase, in order.
PHASES = {
    "installed": re.compile(r"touch \.venv/\.installed-run"),
    "seeded": re.compile(r"^seed_demo: "),
    "listening": re.compile(r"Beebeta is ready: "),
}
# What the run may see of the caller's environment: enough to find programs and reach the
# package index as the machine is set up to, and nothing of Beebeta's own settings, which
# would change what `make run` does.
PASSED_ON = re.compile(
    r"^(PATH|HOME|USER|LOGNAME|LANG|LC_[A-Z]+|TMPDIR|PYTHON|PIP_[A-Z_]+|SSL_CERT_[A-Z]+"
    r"|REQUESTS_CA_BUNDLE|https?_proxy|HTTPS?_PROXY|no_proxy|NO_PROXY)$"
)


@dataclass
class Run:
    cache: str
    port: int
    first_page_seconds: float | None = None
    # CPU time of make and all it ran, up to the stop: steadier than the wall clock on a
    # machine that others share.
    cpu_seconds: float | None = None
    phases: dict[str, float] = field(default_factory=dict)
    status: str = "not started"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_is_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((HOST, port)) == 0


def first_page_status(url: str) -> int | None:
    # No proxy may stand between the benchmark and loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} is not installed")
    return found


def clone(source: Path, target: Path) -> None:
    git = program("git")
    dirty = subprocess.run(  # noqa: S603  (git with our own arguments)
        [git, "status", "--porcelain", "--untracked-files=no"],
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if dirty:
        print("note: uncommitted changes are not part of the clone", file=sys.stderr)
    subprocess.run([git, "clone", "--quiet", str(source), str(target)], check=True)  # noqa: S603


def stop(process: subprocess.Popen[bytes]) -> None:
    """End make and everything it started: its own process group, and nothing else."""
    for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        # make is gone; its children may still be on their way out.
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def measure(*, source: Path, cache: str, cache_dir: Path, port: int, limit: float) -> Run:
    run = Run(cache=cache, port=port)
    if port_is_taken(port):
        run.status = f"port {port} is taken"
        return run
    with tempfile.TemporaryDirectory(prefix="beebeta-first-run-") as folder:
        checkout = Path(folder) / "beebeta"
        clone(source, checkout)
        env = {name: value for name, value in os.environ.items() if PASSED_ON.match(name)}
        env["PIP_CACHE_DIR"] = str(cache_dir)
        log_path = Path(folder) / "make-run.log"
        cpu_before = children_cpu()
        started = time.monotonic()
        with log_path.open("w") as log:
            make = subprocess.Popen(  # noqa: S603  (make with our own arguments)
                [program("make"), "run", f"PORT={port}"],
                cwd=checkout,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Its own process group, so that stopping it reaches the server and the
                # rankings loop and nothing of anyone else's.
                start_new_session=True,
            )
            reader = threading.Thread(target=follow, args=(make, log, run, started), daemon=True)
            reader.start()
            try:
                run.status = wait_for_first_page(make, run, port, started, limit)
            finally:
                stop(make)
                reader.join(timeout=5)
        run.cpu_seconds = round(children_cpu() - cpu_before, 1)
        if run.status != "ok":
            print(log_path.read_text()[-4000:], file=sys.stderr)
    return run


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def follow(make: subprocess.Popen[bytes], log, run: Run, started: float) -> None:
    """Copy make's output to the log, noting when each phase ends."""
    for raw in make.stdout or ():
        line = raw.decode(errors="replace")
        log.write(line)
        for phase, pattern in PHASES.items():
            if phase not in run.phases and pattern.search(line):
                run.phases[phase] = round(time.monotonic() - started, 1)


def wait_for_first_page(
    make: subprocess.Popen[bytes], run: Run, port: int, started: float, limit: float
) -> str:
    url = f"http://{HOST}:{port}/"
    while time.monotonic() - started < limit:
        if make.poll() is not None:
            return f"make run exited with {make.returncode}"
        status = first_page_status(url)
        if status == 200:
            run.first_page_seconds = round(time.monotonic() - started, 1)
            return "ok"
        if status is not None and status >= 500:
            return f"the first page answered {status}"
        time.sleep(0.2)
    return f"no page within {limit:.0f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port for make run (default: free)")
    parser.add_argument("--cache", choices=("cold", "warm", "both"), default="both")
    parser.add_argument("--source", type=Path, default=ROOT, help="repository to clone")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds before giving up")
    parser.add_argument("--json", type=Path, help="also write the runs to this file")
    args = parser.parse_args()

    runs = []
    with tempfile.TemporaryDirectory(prefix="beebeta-pip-cache-") as cache_dir:
        # A warm cache is the one a cold run filled.
        order = {"cold": ["cold"], "warm": ["cold", "warm"], "both": ["cold", "warm"]}
        for cache in order[args.cache]:
            port = args.port or free_port()
            print(f"{cache} pip cache: make run PORT={port} in a fresh clone...", flush=True)
            run = measure(
                source=args.source,
                cache=cache,
                cache_dir=Path(cache_dir),
                port=port,
                limit=args.limit,
            )
            print(f"  {report(run)}", flush=True)
            if args.cache != "warm" or cache == "warm":
                runs.append(run)
            if run.status != "ok":
                break
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(run) for run in runs], indent=2) + "\n")
    return 0 if runs and all(run.status == "ok" for run in runs) else 1


def report(run: Run) -> str:
    if run.status != "ok":
        return f"failed: {run.status}"
    phases = ", ".join(f"{phase} at {seconds} s" for phase, seconds in run.phases.items())
    return f"first page after {run.first_page_seconds} s ({phases}); {run.cpu_seconds} s of CPU"


if __name__ == "__main__":
    sys.exit(main())
