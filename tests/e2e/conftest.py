"""`kanalvakt up` as a user runs it, once per test module."""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from kanalvakt.processes import free_port
from shared.auth import mint_token
from shared.principal import Role
from tests.helpers import ROOT


@dataclass
class System:
    nats_url: str
    urls: dict[str, str]
    secret: str
    proc: subprocess.Popen[str]
    printed: str = ""  # what `up` printed up to its table's last line
    maildir: Path | None = None  # the local mail sink's: every message notify sent

    def token(
        self,
        *roles: Role,
        sub: str = "e2e",
        email: str = "",
        department: str = "",
        kommun: str = "",
    ) -> str:
        """A token as `kanalvakt token` makes it; without `kommun`, for the default kommun."""
        return mint_token(
            self.secret,
            sub,
            list(roles),
            issuer="kanalvakt-local",
            audience="kanalvakt",
            name=sub.title(),
            email=email,
            department=department,
            kommun=kommun,
        )

    def headers(self, *roles: Role, **who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, **who)}"}


# The four services' HTTP ports and, after them, the web part's (`up`'s default).
HTTP_PORTS = 5


def _free_port_run() -> int:
    for _ in range(50):
        base = free_port()
        try:
            for offset in range(HTTP_PORTS):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {HTTP_PORTS} consecutive free ports")


def _ports() -> tuple[int, int, int, int, int]:
    """NATS, NATS monitoring, store, mail sink and the first of five HTTP ports (the four
    services' and the web part's), none the same: a free port asked for later may
    otherwise be one of the five not yet bound."""
    base = _free_port_run()
    taken = set(range(base, base + HTTP_PORTS))
    others: list[int] = []
    while len(others) < 4:
        port = free_port()
        if port not in taken:
            taken.add(port)
            others.append(port)
    return others[0], others[1], others[2], others[3], base


class Output:
    """A child's stdout, read by a thread so that a deadline holds whether or not the
    child prints anything, and so that a child that prints a lot never blocks on a pipe."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)  # end of output: the child closed it or exited

    def wait_for(self, marker: str, timeout: float) -> bool:
        """True once a line holds `marker`; False if the output ends first. Raises
        TimeoutError when `timeout` passes, however silent the child is."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no line with {marker!r} within {timeout:.0f}s")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                return False
            if marker in line:
                return True


# What `up` would otherwise take from the test session's environment.
_UP_CHOOSES = ("AUTH_SECRET", "KOMMUN_CONFIG", "DEFAULT_KOMMUN", "SMTP_HOST", "NOTIFY_ACK_SECRET")


def start_up(
    data: Path, cwd: Path, *args: str, extra_env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """`kanalvakt up` as a user starts it: from `cwd`, with the configuration it finds by
    itself there (`config/` in the repository, else the reference file) and the data
    dir's own token secret; `extra_env` as an operator would export it."""
    env = {k: v for k, v in os.environ.items() if k not in _UP_CHOOSES} | (extra_env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "kanalvakt", "up", "--data-dir", str(data), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        **popen,
    )


def port_args(ports: tuple[int, int, int, int, int]) -> list[str]:
    nats_port, monitor_port, store_port, smtp_port, base = ports
    return [
        "--smtp-port",
        str(smtp_port),
        "--nats-port",
        str(nats_port),
        "--nats-monitor-port",
        str(monitor_port),
        "--store-port",
        str(store_port),
        "--http-port",
        str(base),
    ]


def wait_until_up(proc: subprocess.Popen[str], timeout: float = 90) -> Output:
    output = Output(proc)
    try:
        ready = output.wait_for("Stop with Ctrl-C", timeout)
    except TimeoutError:
        proc.kill()
        proc.wait()
        pytest.fail(f"kanalvakt up did not print its table within {timeout:.0f}s")
    if not ready:
        pytest.fail(f"kanalvakt up exited with {proc.wait()} before it was ready")
    return output


def stop_up(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def _run_system(data: Path, cwd: Path, extra_env: dict[str, str] | None = None) -> Iterator[System]:
    ports = _ports()
    nats_port, _, _, _, base = ports
    proc = start_up(data, cwd, *port_args(ports), extra_env=extra_env)
    output = wait_until_up(proc)
    names = ("registry", "moderation", "archive", "notify")
    system = System(
        nats_url=f"nats://127.0.0.1:{nats_port}",
        urls={name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(names)},
        secret=(data / "auth-secret").read_text().strip(),
        proc=proc,
        printed="".join(output.lines),
        maildir=data / "mail",
    )
    yield system
    stop_up(proc)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One kommun: started outside the repository, `up` finds the reference file itself."""
    data: Path = tmp_path_factory.mktemp("kanalvakt")
    yield from _run_system(data, data)


@pytest.fixture(scope="module")
def kommuner_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Several kommuner (issue 8): started in the repository, `up` serves each kommun of
    `config/` (nora, the default, and vasterby)."""
    data: Path = tmp_path_factory.mktemp("kanalvakt-kommuner")
    yield from _run_system(data, ROOT)
