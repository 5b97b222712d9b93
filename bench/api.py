"""Writing at the speed of the machine: the registry's POST /accounts against a reference
FastAPI route doing one `insert_one`, both served by uvicorn on the same nx-27017 (issue 7).

    .venv/bin/python bench/api.py --requests 2000 --py-spy /tmp/kvbench-profile

For each app (REFERENCE, then REGISTRY) and each number of concurrent clients (1 and 8
unless --clients is given), a fresh server process is started with a database of its own:
- REGISTRY: `build_service(parts_of(ServiceName.REGISTRY), settings)` with the settings
  from the environment, as `kanalvakt run registry` builds it (scheduler included);
- REFERENCE: one FastAPI route, POST /accounts, that inserts the body with one
  `insert_one` through PyMongo's AsyncMongoClient and answers 201.
Both run in one uvicorn worker with `log_config=None` and no access log. Each is sent N
requests from this process by httpx.AsyncClient clients, each client one request at a
time: the example plan docs/examples/plan.yaml with a unique valid handle (P4.2: it starts
with the kommun's name in full, "norakommun…") and a local communicator token.

Printed per run: requests/s, the rate over the last fifth of requests against the first
(does it slow as accounts grow?), the CPU time the app server and nx-27017 spent per
request, the store commands per request (PyMongo command monitoring in the server; its
background work included), and the ratio registry/reference by rate (issue 7 aims at
≥ 0.3) and by CPU per request (app + nx-27017), which moves less when others load the
machine.
With --py-spy DIR the registry (and nx-27017, a Python process too) are sampled by py-spy
during each registry run and the top functions are printed; raw stacks stay in DIR.
Numbers depend on the machine; nothing here is asserted.
"""

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import yaml
from _local import (
    HOST,
    ROOT,
    Fifths,
    Servers,
    code_under_test,
    cpu_seconds,
    fifths_of_times,
    interrupt_on_sigterm,
    load_average,
    local_servers,
)
from pymongo import monitoring
from pymongo.monitoring import (
    CommandFailedEvent,
    CommandListener,
    CommandStartedEvent,
    CommandSucceededEvent,
)

from kanalvakt.processes import free_port, stop
from shared.ids import new_id

APPS = ("reference", "registry")
PLAN: dict[str, Any] = json.loads(
    json.dumps(yaml.safe_load((ROOT / "docs/examples/plan.yaml").read_text()), default=str)
)


# --- the servers (run as child processes: `api.py --serve registry|reference`) ----------


def reference_app() -> Any:
    """One route, one insert_one: what a write to the store costs through FastAPI."""
    from fastapi import Body, FastAPI, status

    from shared.store import connect

    url = os.environ["MONGODB_URL"]
    database = os.environ["MONGODB_DATABASE"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = connect(url)
        app.state.accounts = client[database]["accounts"]
        yield
        await client.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/accounts", status_code=status.HTTP_201_CREATED)
    async def create(plan: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        doc = {"_id": new_id(), **plan}
        await app.state.accounts.insert_one(doc)
        return doc

    return app


def registry_app() -> Any:
    from kanalvakt.catalog import parts_of
    from shared.logs import configure_logging
    from shared.service import build_service
    from shared.settings import ServiceName, Settings

    settings = Settings(service=ServiceName.REGISTRY)  # NATS_URL etc. from the environment
    configure_logging(settings.service.value, settings.log_level, settings.log_format)
    return build_service(parts_of(ServiceName.REGISTRY), settings)


class CommandCounter(CommandListener):
    """Counts the store commands a server sends, by name (PyMongo command monitoring)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


def serve(which: str) -> None:
    """Run one app under uvicorn; on SIGUSR1 write its store command counts to a file."""
    import uvicorn

    counter = CommandCounter()
    monitoring.register(counter)  # before the app's client exists
    out = Path(os.environ["BENCH_COMMANDS_FILE"])

    def write_counts(signum: int, frame: object) -> None:
        partial = out.with_suffix(".part")
        partial.write_text(json.dumps(counter.counts))
        partial.rename(out)

    signal.signal(signal.SIGUSR1, write_counts)
    app = registry_app() if which == "registry" else reference_app()
    port = int(os.environ["HTTP_PORT"])
    config = uvicorn.Config(
        app, host=HOST, port=port, log_config=None, lifespan="on", access_log=False
    )
    uvicorn.Server(config).run()


def store_commands(pid: int, out: Path) -> Counter[str]:
    """The store commands a server has sent so far (see serve)."""
    out.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not out.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no command counts from {pid}")
        time.sleep(0.05)
    return Counter(json.loads(out.read_text()))


@contextmanager
def server(
    which: str, servers: Servers, secret: str, logs: Path
) -> Iterator[tuple[str, int, Path]]:
    """A server process of its own with a fresh database; yields its URL, pid and the
    file its store command counts are written to."""
    port = free_port()
    env = os.environ | {
        "SERVICE": "registry",
        "NATS_URL": servers.nats_url,
        "MONGODB_URL": servers.mongodb_url,
        "MONGODB_DATABASE": f"kvbench_{which}_{new_id().lower()}",
        "AUTH_SECRET": secret,
        "HTTP_HOST": HOST,
        "HTTP_PORT": str(port),
        "BENCH_COMMANDS_FILE": str(logs / f"{which}-{port}-commands.json"),
    }
    log = logs / f"{which}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", which],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{which} exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{which} did not answer /healthz: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url, proc.pid, Path(env["BENCH_COMMANDS_FILE"])
    finally:
        stop(proc)


# --- the load ------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    app: str
    clients: int
    rate: float
    fifths: Fifths
    app_cpu_ms: float  # CPU of the app's process per request
    store_cpu_ms: float  # CPU of nx-27017 per request
    commands: dict[str, float]  # store commands per request, by name
    errors: int
    first_error: str


def plan_for(i: int) -> dict[str, Any]:
    """The example plan under a handle of its own, valid under P4.2 and P4.3."""
    handle = f"norakommunbench{i:06d}"
    return PLAN | {"handle": handle, "url": f"https://www.facebook.com/{handle}"}


async def drive(
    url: str, token: str, requests: int, clients: int
) -> tuple[float, Fifths, Counter[str]]:
    bodies = iter([plan_for(i) for i in range(requests)])
    done_at: list[float] = []
    errors: Counter[str] = Counter()

    async def client() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60.0) as http:
            for body in bodies:  # shared iterator: N requests in all
                answer = await http.post("/accounts", json=body)
                done_at.append(time.perf_counter())
                if answer.status_code != 201:
                    errors[f"{answer.status_code} {answer.text[:300]}"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    rate = requests / (max(done_at) - start)
    return rate, fifths_of_times(done_at, start), errors


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[None]:
    """Sample a Python process with py-spy while the block runs (raw collapsed stacks)."""
    command = [
        str(Path(sys.executable).parent / "py-spy"),
        "record",
        "--pid",
        str(pid),
        "--rate",
        "100",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # let it attach
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(
    which: str,
    servers: Servers,
    requests: int,
    clients: int,
    logs: Path,
    profile_dir: Path | None,
) -> Result:
    from shared.auth import mint_token
    from shared.principal import Role
    from shared.settings import Settings

    secret = secrets.token_urlsafe(32)
    defaults = Settings()
    token = mint_token(
        secret,
        "bench",
        [Role.COMMUNICATOR],
        issuer=defaults.auth_issuer,
        audience=defaults.auth_audience,
        email="bench@nora.example",
    )
    with server(which, servers, secret, logs) as (url, pid, counts_file):
        commands = store_commands(pid, counts_file)
        app_cpu, store_cpu = cpu_seconds(pid), cpu_seconds(servers.store.pid)
        if profile_dir is not None and which == "registry":
            with (
                py_spy(pid, profile_dir / f"registry-{clients}clients.txt"),
                py_spy(servers.store.pid, profile_dir / f"store-{clients}clients.txt"),
            ):
                rate, fifths, errors = asyncio.run(drive(url, token, requests, clients))
        else:
            rate, fifths, errors = asyncio.run(drive(url, token, requests, clients))
        app_cpu = cpu_seconds(pid) - app_cpu
        store_cpu = cpu_seconds(servers.store.pid) - store_cpu
        commands = store_commands(pid, counts_file) - commands
    first_error = next(iter(errors), "")
    return Result(
        which,
        clients,
        rate,
        fifths,
        1000 * app_cpu / requests,
        1000 * store_cpu / requests,
        {name: count / requests for name, count in sorted(commands.items())},
        sum(errors.values()),
        first_error,
    )


# --- the profile ---------------------------------------------------------------------


# Frames where a thread waits rather than works: left out of the shares.
WAITING = (
    "select (selectors.py",
    "Condition.wait (threading.py",
    "_worker (concurrent/futures/thread.py:81)",
)


def summarise_profile(path: Path, top: int) -> None:
    """Where the sampled process spent its time (py-spy raw format: `frame;frame;… count`,
    each frame `function (file:line)`): own time by function and by package, and the time
    spent in and under each function of Kanalvakt's own code (services/, shared/)."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = waiting = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        if any(w in frames[-1] for w in WAITING):
            waiting += count
            continue
        total += count
        own[frames[-1]] += count
        packages[_package(frames[-1])] += count
        for frame in set(frames):
            if "(services/" in frame or "(shared/" in frame:
                ours[frame] += count
    print(f"\n  {path.name}: {total} busy samples ({waiting} waiting samples left out)")
    if total == 0:
        return
    for title, counter in (
        ("own time by function", own),
        ("own time by package", packages),
        ("time in and under Kanalvakt's functions", ours),
    ):
        if not counter:
            continue
        print(f"    {title}:")
        for frame, count in counter.most_common(top):
            print(f"      {100 * count / total:5.1f}%  {frame}")


def _package(frame: str) -> str:
    """'f (pymongo/pool.py:1)' → 'pymongo'; Kanalvakt's files stay whole."""
    where = frame.rpartition("(")[2].rstrip(")").rpartition(":")[0]
    if where.startswith(("services/", "shared/", "kanalvakt/")):
        return where
    return where.split("/")[0]


# --- main ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per run (≥ 5)")
    parser.add_argument(
        "--clients", type=int, action="append", help="concurrent clients; default 1 and 8"
    )
    parser.add_argument("--app", choices=APPS, action="append", help="default: both")
    parser.add_argument("--py-spy", type=Path, help="profile the registry runs into this folder")
    parser.add_argument("--top", type=int, default=15, help="functions shown per profile")
    parser.add_argument("--serve", choices=APPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.requests < 5:
        parser.error("--requests must be at least 5")
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    interrupt_on_sigterm()
    print(f"code: {code_under_test()}; {load_average()}")
    results: dict[tuple[str, int], Result] = {}
    with local_servers() as servers, tempfile.TemporaryDirectory(prefix="kvbench-") as logs:
        for which in args.app or APPS:
            for clients in args.clients or [1, 8]:
                result = measure(which, servers, args.requests, clients, Path(logs), args.py_spy)
                results[which, clients] = result
                print(
                    f"{which:>9}, {clients} client(s): {result.rate:7.1f} requests/s, "
                    f"last/first fifth {result.fifths.ratio:.2f} "
                    f"({result.fifths.first:.0f} → {result.fifths.last:.0f}/s), "
                    f"CPU per request: app {result.app_cpu_ms:.1f} ms, "
                    f"nx-27017 {result.store_cpu_ms:.1f} ms; {load_average()}"
                    + (
                        f", {result.errors} errors, e.g. {result.first_error}"
                        if result.errors
                        else ""
                    ),
                    flush=True,
                )
                per_request = ", ".join(f"{n} {c:.2f}" for n, c in result.commands.items())
                print(f"    store commands per request: {per_request}", flush=True)
    for clients in args.clients or [1, 8]:
        registry, reference = (
            results.get(("registry", clients)),
            results.get(("reference", clients)),
        )
        if registry and reference:
            cpu = (reference.app_cpu_ms + reference.store_cpu_ms) / (
                registry.app_cpu_ms + registry.store_cpu_ms
            )
            print(
                f"RATIO registry/reference, {clients} client(s): "
                f"{registry.rate / reference.rate:.2f}   (aim ≥ 0.3); "
                f"by CPU per request, app + nx-27017: {cpu:.2f}"
            )
    if args.py_spy is not None:
        for path in sorted(args.py_spy.glob("*clients.txt")):
            summarise_profile(path, args.top)


if __name__ == "__main__":
    main()
