"""`kanalvakt up`: the whole system on one machine, stopped cleanly with Ctrl-C.

Order matters on the way down: services first (they finish or leave unacknowledged
what they hold, which JetStream resends), then the store, then NATS, which flushes
its streams to disk. Nothing is lost.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kanalvakt.processes import StartError, ensure_free, start_nats, start_store, stop
from shared.reference import REFERENCE_KOMMUN_CONFIG
from shared.settings import DEFAULT_HTTP_PORTS, ServiceName


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path = Path(".kanalvakt")
    host: str = "127.0.0.1"
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    store_port: int = 27017
    http_ports: dict[ServiceName, int] = field(default_factory=lambda: dict(DEFAULT_HTTP_PORTS))
    kommun_config: Path = REFERENCE_KOMMUN_CONFIG
    ready_timeout: float = 60.0


def local_secret(data_dir: Path) -> str:
    """The local HS256 secret, made once per data dir and never committed."""
    path = data_dir / "auth-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _wait_ready(
    url: str, proc: subprocess.Popen[bytes], timeout: float, stopping: list[int]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopping:
            raise StartError("interrupted while starting")
        if proc.poll() is not None:
            raise StartError(f"{url.rsplit('/', 1)[0]}: the service exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise StartError(f"{url} did not become ready in {timeout:.0f}s")


def run_up(opts: UpOptions) -> int:
    # A plain flag: a signal handler must not take a lock the interrupted code may hold.
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))

    data = opts.data_dir.resolve()
    host = opts.host
    infra: list[subprocess.Popen[bytes]] = []
    services: dict[ServiceName, subprocess.Popen[bytes]] = {}
    try:
        for name in ServiceName:
            ensure_free(f"{name.value} HTTP", host, opts.http_ports[name])
        infra.append(start_nats(data / "nats", host, opts.nats_port, opts.nats_monitor_port))
        infra.append(start_store(data / "store", host, opts.store_port))
        env = os.environ | {
            "NATS_URL": f"nats://{host}:{opts.nats_port}",
            "MONGODB_URL": f"mongodb://{host}:{opts.store_port}",
            "HTTP_HOST": host,
            "AUTH_SECRET": local_secret(data),
            "KOMMUN_CONFIG": str(opts.kommun_config.resolve()),
        }
        for name in ServiceName:
            services[name] = subprocess.Popen(
                [sys.executable, "-m", "kanalvakt", "run", name.value],
                env=env | {"HTTP_PORT": str(opts.http_ports[name])},
                start_new_session=True,  # Ctrl-C reaches us, and we stop them in order
            )
        for name, proc in services.items():
            url = f"http://{host}:{opts.http_ports[name]}/readyz"
            _wait_ready(url, proc, opts.ready_timeout, stopping)
        _print_table(opts, data)
        while not stopping:
            time.sleep(0.2)
            for name, proc in services.items():
                if proc.poll() is not None:
                    print(
                        f"kanalvakt: {name.value} exited with {proc.returncode}; stopping all",
                        file=sys.stderr,
                    )
                    return 1
        return 0
    except StartError as exc:
        print(f"kanalvakt up: {exc}", file=sys.stderr)
        return 1
    finally:
        print("kanalvakt: stopping…", file=sys.stderr)
        for proc in services.values():
            if proc.poll() is None:
                proc.terminate()  # SIGTERM, as Kubernetes sends: uvicorn shuts down gracefully
        for proc in services.values():
            stop(proc)
        for proc in reversed(infra):
            stop(proc)
        print("kanalvakt: stopped", file=sys.stderr)


def _print_table(opts: UpOptions, data: Path) -> None:
    host = opts.host
    rows = [
        ("NATS", f"nats://{host}:{opts.nats_port}"),
        ("NATS monitoring", f"http://{host}:{opts.nats_monitor_port}/varz"),
        ("Store (MongoDB wire protocol)", f"mongodb://{host}:{opts.store_port}"),
    ]
    for name in ServiceName:
        base = f"http://{host}:{opts.http_ports[name]}"
        rows += [
            (f"{name.value} API docs", f"{base}/docs"),
            (f"{name.value} metrics", f"{base}/metrics"),
        ]
    width = max(len(label) for label, _ in rows)
    print("\nKanalvakt is running. Data in", data)
    for label, url in rows:
        print(f"  {label:<{width}}  {url}")
    print("\nA local token: kanalvakt token --sub you --role communicator")
    print("Stop with Ctrl-C.\n", flush=True)
