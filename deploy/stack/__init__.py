"""Beebeta's production topology on one machine, on loopback: `make stack`, the end-to-end tests
and the benchmark all run it from this package.

    processes.py   spawning, readiness waits, stopping by pid and start time, free ports, and a
                   command run with servers around it (tests/services.py)
    services.py    MariaDB, memcached and the S3 API server (moto), for the stack and the tests
    topology.py    the Stack: HAProxy -> nginx -> gunicorn, the CDN stand-in, the state file
    faults.py      the relays a test makes silent or slow, and the stack's side of their control
    __main__.py    `python -m deploy.stack up|down` (`make stack`, `make stack-down`)

templates/ holds the stack's own configs (haproxy.cfg, nginx.conf, cdn.conf), rendered with
loopback values by deploy/render.py as production renders its own.
"""
