"""Server CPU time from /proc: what a round cost nginx, gunicorn, memcached and mariadbd.

A process's utime + stime covers all of its threads; its cutime + cstime, the children it has
reaped. Summing both over a master and its live workers gives a total that only grows, even when
a worker is recycled during a round (its time moves from the live sum to the master's children
sum), so the difference between two snapshots is exactly the CPU spent in between.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, list[str]] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    # After the name: state, ppid, ... utime (14th field of the file), stime, cutime, cstime.
    return int(fields[1]), fields


def _children(parents: set[int]) -> set[int]:
    found = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] in parents:
                found.add(int(entry.name))
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds used so far by these processes, their live children and reaped children."""
    roots = set(pids)
    ticks = 0
    for pid in roots | _children(roots):
        stat = _stat(pid)
        if stat is not None:
            utime, stime, cutime, cstime = (int(value) for value in stat[1][11:15])
            ticks += utime + stime + cutime + cstime
    return ticks / TICKS_PER_SECOND


def machine_seconds() -> float:
    """Busy CPU seconds of the whole machine (all processes, all cores) from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND
