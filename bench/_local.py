"""What the benchmarks share: the local servers, process CPU, rates over fifths, medians.

Not a benchmark itself. The servers are started the way the tests start them
(tests/conftest.py), on 127.0.0.1 and free ports, and always stopped.
"""

import os
import shutil
import signal
import statistics
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kanalvakt.processes import free_port, start_nats, start_store, stop
from shared.events import AccountCreated, AccountCreatedData
from shared.ids import new_id
from shared.kommun import load_kommun_config
from shared.reference import REFERENCE_KOMMUN_CONFIG

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
# Events of the reference configuration's kommun, which the services serve by default.
KOMMUN = load_kommun_config(REFERENCE_KOMMUN_CONFIG).id


def account_created(i: int) -> AccountCreated:
    """A valid event as the registry publishes it (like tests/helpers.account_created)."""
    name = f"norakommunbench{i:06d}"
    account_id = new_id()
    return AccountCreated.new(
        KOMMUN,
        subject=account_id,
        data=AccountCreatedData(
            account_id=account_id,
            name=name,
            platform="facebook",
            url=f"https://www.facebook.com/{name}",
            department="Kommunstyrelseförvaltningen",
            unit="Näringsliv",
            purpose="Informera företagare om kommunens service",
            submitted_by="bench",
            removal_deadline_hours=48,
            answer_deadline_hours=24,
        ),
    )


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so the servers a benchmark started are stopped."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@dataclass(frozen=True)
class Servers:
    nats_url: str
    mongodb_url: str
    nats: subprocess.Popen[bytes]
    store: subprocess.Popen[bytes]


@contextmanager
def local_servers() -> Iterator[Servers]:
    """A fresh nats-server (JetStream) and nx-27017 in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="kvbench-") as tmp:
        nats_port, store_port = free_port(), free_port()
        nats_proc = start_nats(Path(tmp) / "nats", HOST, nats_port, free_port())
        try:
            store_proc = start_store(Path(tmp) / "store", HOST, store_port)
            try:
                yield Servers(
                    f"nats://{HOST}:{nats_port}",
                    f"mongodb://{HOST}:{store_port}",
                    nats_proc,
                    store_proc,
                )
            finally:
                stop(store_proc)
        finally:
            stop(nats_proc)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def interpolate(samples: Sequence[tuple[float, int]], target: int) -> float:
    """The time at which a growing count reached `target`, from (time, count) samples."""
    previous = samples[0]
    for sample in samples:
        if sample[1] >= target:
            t0, c0 = previous
            t1, c1 = sample
            if c1 == c0:
                return t1
            return t0 + (t1 - t0) * (target - c0) / (c1 - c0)
        previous = sample
    raise ValueError(f"the count never reached {target}")


@dataclass(frozen=True)
class Fifths:
    first: float  # items/s over the first fifth
    last: float  # items/s over the last fifth

    @property
    def ratio(self) -> float:
        return self.last / self.first


def fifths_of_times(done_at: Sequence[float], start: float) -> Fifths:
    """Rates over the first and last fifth of items, from each item's completion time."""
    times = sorted(done_at)
    n = len(times)
    fifth = n // 5
    first = fifth / (times[fifth - 1] - start)
    last = fifth / (times[-1] - times[n - fifth - 1])
    return Fifths(first, last)


def fifths_of_counts(samples: Sequence[tuple[float, int]], total: int) -> Fifths:
    """Rates over the first and last fifth from polled (time, count) samples.

    The first fifth starts at the first sample that saw any item, so start-up time
    is not counted against it.
    """
    fifth = total // 5
    t_first, c_first = next(s for s in samples if s[1] > 0)
    first = (fifth - c_first) / (interpolate(samples, fifth) - t_first)
    last = fifth / (interpolate(samples, total) - interpolate(samples, total - fifth))
    return Fifths(first, last)


def load_average() -> str:
    """The machine's 1-minute load: others' work on the same cores skews every rate."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def code_under_test() -> str:
    """Which code the benchmark imported: this tree's commit and what differed from it
    (others edit it too), or the folder given by PYTHONPATH (e.g. a `git archive` export)."""
    import shared

    code_root = Path(shared.__file__).resolve().parent.parent
    if code_root != ROOT:
        return f"{code_root} (from PYTHONPATH)"

    def git(*args: str) -> str:
        command = [shutil.which("git") or "git", *args]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    changed = [path for path in changed if not path.startswith("bench/")]
    if not changed:
        return head
    shown = ", ".join(changed[:6]) + (", …" if len(changed) > 6 else "")
    return f"{head} + {len(changed)} uncommitted paths ({shown})"
