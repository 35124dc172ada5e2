"""`make stack` and `make stack-down`: production's topology on loopback, started detached.

    python -m deploy.stack up [--relays]   start it, record it in var/stack/state.json, show the URL
    python -m deploy.stack down            stop exactly what `up` recorded and remove its folder

    HAProxy (ends TLS, checks /healthz: the load balancer)
      -> nginx x 2 (deploy/nginx/beebeta.conf, as on every app instance)
        -> gunicorn x 2 (deploy/gunicorn.conf.py, through newrelic-admin, sending nothing)
          -> MariaDB, memcached x 2, an S3 API server (moto) behind an nginx CloudFront stand-in

The processes outlive the command; `down` knows them by pid and start time, so it never signals
a process that merely inherited a recorded pid. See deploy/README.md ("The local stack").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.stack.processes import ServiceError
from deploy.stack.topology import DEFAULT_STATE, DEMO_PASSWORD, Stack, say


def up(state_path: Path, *, relays: bool) -> int:
    if state_path.exists():
        previous = Stack.load(state_path)
        if any(proc.alive() for proc in previous.procs.values()):
            say(f"already running at {previous.url} (stop it with: make stack-down)")
            return 1
        previous.down()  # left over from a reboot or a crash: nothing of it runs any more
    stack = Stack.up(state_path=state_path, detach=True, relays=relays)
    print(
        f"""
Beebeta runs at {stack.url}
  The certificate is the stack's own, self-signed: accept it in the browser
  (or trust {stack.certificate}).
  Log in as staff (moderator) or demo, password {DEMO_PASSWORD}.
  Logs and configs: {stack.home}
  Stop everything with: make stack-down
""",
        flush=True,
    )
    return 0


def down(state_path: Path) -> int:
    if not state_path.exists():
        say(f"no stack recorded in {state_path}; nothing to stop")
        return 0
    stack = Stack.load(state_path)
    stack.down()
    say(f"stopped {len(stack.procs)} processes and removed {stack.home}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.stack", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="the state file")
    parser.add_argument(
        "--relays",
        action="store_true",
        help="up: reach memcached and S3 through relays that can go silent or slow",
    )
    options = parser.parse_args(argv)
    try:
        if options.action == "up":
            return up(options.state, relays=options.relays)
        return down(options.state)
    except ServiceError as error:
        say(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
