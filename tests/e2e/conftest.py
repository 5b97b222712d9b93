"""`kanalvakt up` as a user runs it, once per test module."""

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kanalvakt.processes import free_port
from shared.auth import mint_token
from shared.principal import Role
from tests.conftest import ROOT


@dataclass
class System:
    nats_url: str
    urls: dict[str, str]
    secret: str
    proc: subprocess.Popen[str]

    def token(self, *roles: Role, sub: str = "e2e", email: str = "", department: str = "") -> str:
        return mint_token(
            self.secret,
            sub,
            list(roles),
            issuer="kanalvakt-local",
            audience="kanalvakt",
            name=sub.title(),
            email=email,
            department=department,
        )

    def headers(self, *roles: Role, **who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, **who)}"}


def _four_free_ports() -> int:
    for _ in range(50):
        base = free_port()
        try:
            for offset in range(4):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError("no four consecutive free ports")


def _ports() -> tuple[int, int, int, int]:
    """NATS, NATS monitoring, store and the first of four HTTP ports, none the same:
    a free port asked for later may otherwise be one of the four not yet bound."""
    base = _four_free_ports()
    taken = set(range(base, base + 4))
    others: list[int] = []
    while len(others) < 3:
        port = free_port()
        if port not in taken:
            taken.add(port)
            others.append(port)
    return others[0], others[1], others[2], base


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    data: Path = tmp_path_factory.mktemp("kanalvakt")
    nats_port, monitor_port, store_port, base = _ports()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kanalvakt",
            "up",
            "--data-dir",
            str(data),
            "--nats-port",
            str(nats_port),
            "--nats-monitor-port",
            str(monitor_port),
            "--store-port",
            str(store_port),
            "--http-port",
            str(base),
            "--kommun-config",
            str(ROOT / "shared/reference/kommun.yaml"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    for line in proc.stdout:
        if "Stop with Ctrl-C" in line:
            break
        assert time.monotonic() < deadline, "kanalvakt up did not print its table in time"
    else:
        pytest.fail(f"kanalvakt up exited with {proc.wait()} before it was ready")
    names = ("registry", "moderation", "archive", "notify")
    system = System(
        nats_url=f"nats://127.0.0.1:{nats_port}",
        urls={name: f"http://127.0.0.1:{base + i}" for i, name in enumerate(names)},
        secret=(data / "auth-secret").read_text().strip(),
        proc=proc,
    )
    yield system
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
