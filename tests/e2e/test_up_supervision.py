"""`kanalvakt up` supervises (issue 7): a process killed with SIGKILL (a service,
nats-server or the store) is started again and the restart logged, while the rest runs
on; Ctrl-C still stops everything in order, and `up` starts again at once on the same
ports. It is started from a folder outside the repository, with no --kommun-config."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Output, _ports, port_args, start_up, stop_up, wait_until_up


def test_a_silent_child_cannot_outlast_the_start_up_deadline() -> None:
    """The fixture's deadline holds with no output at all (it used to be checked only
    when a line arrived, so a silent hang blocked the suite forever)."""
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.PIPE, text=True
    )
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            Output(silent).wait_for("Stop with Ctrl-C", timeout=1.0)
        assert time.monotonic() - started < 5
    finally:
        silent.kill()
        silent.wait()


def _children(pid: int) -> dict[int, str]:
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    found = {}
    for line in out.splitlines():
        child, _, args = line.strip().partition(" ")
        found[int(child)] = args
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid_of(up: subprocess.Popen[str], what: str) -> int:
    [pid] = [p for p, args in _children(up.pid).items() if what in args]
    return pid


def _eventually(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not hold within {within:.0f}s")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_up_restarts_what_was_killed_and_stops_cleanly(tmp_path: Path) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "somewhere-else"
    elsewhere.mkdir()
    ports = _ports()
    nats_port, monitor_port, store_port, _, base = ports
    registry = f"http://127.0.0.1:{base}"
    log_path = tmp_path / "up.err"
    with log_path.open("w") as log:
        up = start_up(data, elsewhere, *port_args(ports), stderr=log)
    try:
        wait_until_up(up)

        def log_says(text: str) -> Callable[[], bool]:
            return lambda: text in log_path.read_text()

        old = _pid_of(up, "kanalvakt run registry")
        os.kill(old, signal.SIGKILL)
        _eventually(log_says("registry exited with -9"), 10, "the crash logged")
        _eventually(log_says("registry restarted"), 15, "the restart logged")
        _eventually(lambda: _answers(f"{registry}/readyz"), 60, "registry ready again")
        assert _pid_of(up, "kanalvakt run registry") != old
        assert up.poll() is None, "kanalvakt up stopped with the registry"
        for i in range(1, 4):  # the others ran on
            assert _answers(f"http://127.0.0.1:{base + i}/healthz")

        os.kill(_pid_of(up, "nats-server"), signal.SIGKILL)
        _eventually(log_says("nats-server restarted"), 20, "nats-server restarted")
        _eventually(lambda: _answers(f"http://127.0.0.1:{monitor_port}/healthz"), 20, "NATS")
        _eventually(lambda: _answers(f"{registry}/readyz"), 60, "registry ready after NATS")

        os.kill(_pid_of(up, "nx-27017"), signal.SIGKILL)
        _eventually(log_says("store (nx-27017) restarted"), 20, "the store restarted")
        _eventually(lambda: _listens(store_port), 20, "the store listening")
        _eventually(lambda: _answers(f"{registry}/readyz"), 60, "registry ready after the store")

        # A connection the servers close on the way down leaves their port in TIME_WAIT.
        children = list(_children(up.pid))  # before the stop: afterwards they would be
        # NATS, the store, the mail sink, the four services and the web part.
        assert len(children) == 8  # re-parented to init, and no longer `up`'s to list
        with httpx.Client() as keep_alive:
            keep_alive.get(f"{registry}/healthz")
            assert stop_up(up) == 0
        err = log_path.read_text()
        assert err.index("stopping") < err.rindex("stopped")
        assert not [pid for pid in children if _alive(pid)], "up stopped what it started"
    finally:
        stop_up(up)

    with (tmp_path / "again.err").open("w") as log:
        again = start_up(data, elsewhere, *port_args(ports), stderr=log)
    try:
        wait_until_up(again)  # at once: the port check accepts TIME_WAIT as the servers do
        assert _answers(f"{registry}/readyz")
        assert _listens(nats_port)
    finally:
        assert stop_up(again) == 0
