"""`kanalvakt up`: the whole system on one machine, supervised, stopped cleanly with Ctrl-C.

Every process is watched: nats-server, the store, the four services and the web
interface (issue 14). One that exits
is started again after a delay that doubles with each crash in a row (1 s up to 30 s,
back to 1 s once it has run for a minute), and each restart is logged. Failing to
*start* is different: the configuration or a port is wrong, so `up` says why and stops.

Order matters on the way down: services first (they finish or leave unacknowledged
what they hold, which JetStream resends), then the store, then NATS, which flushes
its streams to disk. Nothing is lost.

Every kommun of the configuration is served by the same processes: started in the
repository, `up` finds `config/` and serves each kommun there, the first the default.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from kanalvakt.localauth import NoSecret, signing_secret
from kanalvakt.processes import (
    StartError,
    ensure_free,
    start_mail_sink,
    start_nats,
    start_store,
    stop,
)
from shared.reference import REFERENCE_KOMMUN_CONFIG
from shared.settings import DEFAULT_HTTP_PORTS, ServiceName

if TYPE_CHECKING:
    from shared.kommun import Kommuner

CONFIG_DIR = Path("config")  # the repository's kommuner, found where `up` is started
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 60.0  # a process that ran this long has its crash count forgotten


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path = Path(".kanalvakt")
    host: str = "127.0.0.1"
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    store_port: int = 27017
    smtp_port: int = 2525  # the local mail sink, unless SMTP_HOST names a real server
    http_ports: dict[ServiceName, int] = field(default_factory=lambda: dict(DEFAULT_HTTP_PORTS))
    kommun_config: Path = field(default_factory=lambda: default_kommun_config(Path.cwd()))
    default_kommun: str = ""  # empty: chosen by `_check_config` once the config is read
    ready_timeout: float = 60.0
    web_port: int = 0  # the web interface; 0: the port after the services' (8005)

    @property
    def web(self) -> int:
        return self.web_port or max(self.http_ports.values()) + 1


def default_kommun_config(cwd: Path) -> Path:
    """`config/` where `up` starts, if there is one (the repository's kommuner), else the
    reference file shipped in the package, so that `up` runs from any folder."""
    local = cwd / CONFIG_DIR
    return local.resolve() if local.is_dir() else REFERENCE_KOMMUN_CONFIG


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} kanalvakt up: {message}", file=sys.stderr, flush=True)


def service_environment(opts: UpOptions, environ: Mapping[str, str]) -> dict[str, str]:
    """What every service runs with. The token secret follows `kanalvakt.localauth`'s
    one rule: AUTH_SECRET when set (kept as it is), else the data dir's (made once)."""
    host = opts.host
    try:
        secret = signing_secret(opts.data_dir.resolve(), environ, create=True)
    except NoSecret as exc:
        raise StartError(str(exc)) from None
    env = dict(environ)
    if not environ.get("SMTP_HOST"):  # notify sends to the local mail sink
        env |= {"SMTP_HOST": host, "SMTP_PORT": str(opts.smtp_port), "SMTP_SECURITY": "none"}
    if not environ.get("NOTIFY_ACK_SECRET"):  # acknowledge links survive a restart
        env["NOTIFY_ACK_SECRET"] = _made_once(opts.data_dir.resolve() / "ack-secret")
    return env | {
        "NATS_URL": f"nats://{host}:{opts.nats_port}",
        "MONGODB_URL": f"mongodb://{host}:{opts.store_port}",
        "HTTP_HOST": host,
        "AUTH_SECRET": secret.value,
        "KOMMUN_CONFIG": str(opts.kommun_config.resolve()),
        "DEFAULT_KOMMUN": opts.default_kommun,
    }


def web_environment(opts: UpOptions, env: Mapping[str, str]) -> dict[str, str]:
    """The web interface (issue 14): the services' addresses, its own cookie key (made
    once), and the local sign-in page, which mints tokens with the services' secret."""
    host = opts.host
    urls = {
        f"WEB_{name.value.upper()}_URL": f"http://{host}:{opts.http_ports[name]}"
        for name in ServiceName
    }
    return {
        **env,
        **urls,
        "HTTP_PORT": str(opts.web),
        "WEB_LOCAL_SIGNIN": "true",
        "WEB_SESSION_SECRET": _made_once(opts.data_dir.resolve() / "web-secret"),
    }


def _made_once(path: Path) -> str:
    """A random key kept in `path`, made the first time, readable by its owner only."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as key_file:
            key_file.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


@dataclass
class Supervised:
    """One process `up` keeps running: started again with backoff when it exits."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    crashes: int = 0  # in a row
    restart_at: float | None = None

    def launch(self) -> None:
        self.proc = self.start()
        self.started_at = time.monotonic()

    def watch(self, now: float) -> None:
        """Called often: notices an exit, schedules the restart, restarts when due."""
        if self.restart_at is None:
            if self.proc is None or self.proc.poll() is None:
                if self.proc is not None and now - self.started_at > STABLE_AFTER:
                    self.crashes = 0
                return
            self._schedule(now, f"{self.name} exited with {self.proc.returncode}")
            return
        if now < self.restart_at:
            return
        self.restart_at = None
        try:
            self.launch()
        except StartError as exc:
            self.proc = None
            self._schedule(now, f"{self.name} did not start again: {exc}")
            return
        assert self.proc is not None
        log(f"{self.name} restarted (pid {self.proc.pid})")

    def _schedule(self, now: float, why: str) -> None:
        delay = min(MAX_DELAY, FIRST_DELAY * 2**self.crashes)
        self.crashes += 1
        self.restart_at = now + delay
        log(f"{why}; restarting in {delay:.0f}s (crash {self.crashes} in a row)")

    def stop(self) -> None:
        self.restart_at = None
        if self.proc is not None:
            stop(self.proc)


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


def _check_config(path: Path, default: str = "") -> "Kommuner":
    """Every kommun of the configuration, read before anything starts: a wrong file is
    said once here, not by four services exiting in a restart loop. The default kommun
    (tokens without a claim, `/public/accounts`) is the one given, else the first in
    file-name order, so that the local stack works with several kommuner as with one."""
    from shared.kommun import KommunConfigError, Kommuner, load_kommuner

    try:
        kommuner = load_kommuner(path, default)
    except KommunConfigError as exc:
        message = str(exc)
        if message.startswith("DEFAULT_KOMMUN: "):
            raise StartError(f"--default-kommun (DEFAULT_KOMMUN): {message[16:]}") from None
        message = message.removeprefix("KOMMUN_CONFIG: ")
        raise StartError(f"--kommun-config (KOMMUN_CONFIG): {message}") from None
    return Kommuner(list(kommuner), kommuner.default or next(iter(kommuner)).id)


def run_up(opts: UpOptions) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    # A plain flag: a signal handler must not take a lock the interrupted code may hold.
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))

    data = opts.data_dir.resolve()
    host = opts.host
    infra: list[Supervised] = []
    services: dict[ServiceName, Supervised] = {}
    web: Supervised | None = None
    try:
        kommuner = _check_config(opts.kommun_config, opts.default_kommun)
        opts = replace(opts, default_kommun=kommuner.default)
        for name in ServiceName:
            ensure_free(f"{name.value} HTTP", host, opts.http_ports[name])
        ensure_free("web interface HTTP", host, opts.web)
        env = service_environment(opts, os.environ)
        infra = [
            Supervised(
                "nats-server",
                lambda: start_nats(data / "nats", host, opts.nats_port, opts.nats_monitor_port),
            ),
            Supervised(
                "store (nx-27017)", lambda: start_store(data / "store", host, opts.store_port)
            ),
        ]
        if not os.environ.get("SMTP_HOST"):
            infra.append(
                Supervised(
                    "mail sink", lambda: start_mail_sink(data / "mail", host, opts.smtp_port)
                )
            )
        for name in ServiceName:
            services[name] = Supervised(name.value, _service_starter(name, env, opts))
        web = Supervised("web", _web_starter(web_environment(opts, env)))
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        with progress:
            task = progress.add_task("starting", total=len(infra) + len(services) + 1)
            for part in infra:
                progress.update(task, description=f"starting {part.name}")
                part.launch()
                progress.advance(task)
            for part in services.values():
                part.launch()
            for name, part in services.items():
                progress.update(task, description=f"waiting for {name.value}")
                assert part.proc is not None
                url = f"http://{host}:{opts.http_ports[name]}/readyz"
                _wait_ready(url, part.proc, opts.ready_timeout, stopping)
                progress.advance(task)
            # The web interface last: its readiness is the registry's answering.
            progress.update(task, description="waiting for web")
            web.launch()
            assert web.proc is not None
            _wait_ready(f"http://{host}:{opts.web}/readyz", web.proc, opts.ready_timeout, stopping)
            progress.advance(task)
        _print_table(opts, data, env, kommuner)
        watched = [*infra, *services.values(), web]
        while not stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for part in watched:
                part.watch(now)
        return 0
    except StartError as exc:
        log(str(exc))
        return 1
    finally:
        log("stopping…")
        if web is not None:
            web.stop()  # first: it only calls the services
        for part in services.values():
            if part.proc is not None and part.proc.poll() is None:
                part.proc.terminate()  # SIGTERM, as Kubernetes sends: uvicorn shuts down gracefully
        for part in services.values():
            part.stop()
        for part in reversed(infra):
            part.stop()
        log("stopped")


def _service_starter(
    name: ServiceName, env: dict[str, str], opts: UpOptions
) -> Callable[[], subprocess.Popen[bytes]]:
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "kanalvakt", "run", name.value],
            env=env | {"HTTP_PORT": str(opts.http_ports[name])},
            start_new_session=True,  # Ctrl-C reaches us, and we stop them in order
        )

    return start


def _web_starter(env: dict[str, str]) -> Callable[[], subprocess.Popen[bytes]]:
    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "kanalvakt", "web"], env=env, start_new_session=True
        )

    return start


def _print_table(opts: UpOptions, data: Path, env: Mapping[str, str], kommuner: "Kommuner") -> None:
    from rich.console import Console
    from rich.table import Table

    host = opts.host
    table = Table(title="Kanalvakt is running", title_justify="left", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("where", no_wrap=True, overflow="ignore")
    table.add_row("Web interface (sign in)", f"http://{host}:{opts.web}/signin")
    table.add_row("NATS", f"nats://{host}:{opts.nats_port}")
    table.add_row("NATS monitoring", f"http://{host}:{opts.nats_monitor_port}/varz")
    table.add_row("Store (MongoDB wire protocol)", f"mongodb://{host}:{opts.store_port}")
    for name in ServiceName:
        base = f"http://{host}:{opts.http_ports[name]}"
        table.add_row(f"{name.value} API docs", f"{base}/docs")
        table.add_row(f"{name.value} metrics", f"{base}/metrics")
    if os.environ.get("SMTP_HOST"):
        table.add_row("Mail", f"sent through {env['SMTP_HOST']}")
    else:
        sink = f"smtp://{host}:{opts.smtp_port} → {data / 'mail'}"
        table.add_row("Mail (local sink, Maildir)", sink)
    table.add_row("Data", str(data))
    table.add_row("Kommun configuration", env["KOMMUN_CONFIG"])
    registry = f"http://{host}:{opts.http_ports[ServiceName.REGISTRY]}"
    for kommun in kommuner:
        default = " (default)" if kommun.id == opts.default_kommun else ""
        table.add_row(
            f"Kommun {kommun.id}{default}",
            f"{kommun.kommun.name}: {registry}/public/{kommun.id}/accounts.html",
        )
    secret = "AUTH_SECRET" if os.environ.get("AUTH_SECRET") else str(data / "auth-secret")
    table.add_row("Tokens signed with", secret)
    console = Console(width=max(120, Console().width), soft_wrap=True)
    console.print()
    console.print(table)
    hint = "" if data == Path(".kanalvakt").resolve() else f" --data-dir {data}"
    others = [k.id for k in kommuner if k.id != opts.default_kommun]
    another = f" (another kommun: --kommun {' or '.join(others)})" if others else ""
    console.print(
        f"\nA local token: kanalvakt token --sub you --role communicator "
        f"--kommun {opts.default_kommun}{hint}{another}"
    )
    print("Stop with Ctrl-C.\n", flush=True)
