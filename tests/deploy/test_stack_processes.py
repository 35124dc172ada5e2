"""`make stack-down` stops exactly what `make stack` started: deploy/stack/ knows a process by
its pid and its start time, so a pid the kernel has handed to someone else is never signalled."""

from __future__ import annotations

import subprocess

from deploy.stack.processes import Proc, start_time
from deploy.stack.topology import Stack


def detached_sleeper() -> subprocess.Popen[bytes]:
    # Like `make stack`'s servers: its own session, so it outlives whoever started it.
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def recorded(process: subprocess.Popen[bytes], **changes: int) -> Proc:
    """The process as another command finds it in the state file: no Popen, just the record."""
    proc = Proc("sleeper", ["sleep", "60"], "/dev/null", 0, pid=process.pid)
    proc.started = start_time(process.pid) or 0
    data = {**proc.to_json(), **changes}
    return Proc.from_json(data)


def test_a_recorded_process_is_found_and_stopped(tmp_path):
    process = detached_sleeper()
    try:
        proc = recorded(process)
        assert proc.alive()
        proc.send(proc.stop_signal)
        # Reaped here, since it is this test's child; `make stack-down` waits for init to.
        process.wait(timeout=5)
        assert not proc.alive()
    finally:
        process.kill()
        process.wait()


def test_a_pid_that_now_belongs_to_another_process_is_left_alone():
    process = detached_sleeper()
    try:
        stranger = recorded(process, started=(start_time(process.pid) or 0) - 1)
        assert not stranger.alive()
        stranger.send(stranger.stop_signal)
        assert process.poll() is None  # still running: it was not ours
    finally:
        process.kill()
        process.wait()


def test_the_state_file_round_trips(tmp_path):
    stack = Stack(tmp_path, {"haproxy": 8443, "cdn": 8090}, tmp_path / "state.json", detach=True)
    # Recorded, but long gone: pid 0 is never signalled.
    stack.procs["haproxy"] = Proc("haproxy", ["haproxy", "-db"], "/dev/null", 8443, pid=0)
    stack.save()
    loaded = Stack.load(tmp_path / "state.json")
    assert loaded.url == "https://127.0.0.1:8443/"
    assert loaded.procs["haproxy"].argv == ["haproxy", "-db"]
    assert loaded.procs["haproxy"].popen is None
    loaded.down()
    assert not (tmp_path / "state.json").exists() and not tmp_path.exists()
