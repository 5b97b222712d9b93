"""Settings and the kommun's configuration: documented, validated, nothing hard-coded."""

import builtins
import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from faststream.nats.subscriber.usecases import stream_pull_subscriber
from pydantic import ValidationError

from shared.bus.compat import patch_pull_timeout
from shared.kommun import KommunConfigError, Notify, load_kommun_config, load_kommuner
from shared.settings import settings_table
from tests.conftest import ROOT


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for variable, _default, meaning in settings_table():
        assert f"`{variable}`" in readme, f"README's settings table lacks {variable}"
        assert meaning, f"{variable} has no description"


def test_reference_config_loads() -> None:
    config = load_kommun_config(ROOT / "shared/reference/kommun.yaml")
    assert config.contact("informationsansvarig").email


def test_config_errors_name_the_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "kommun.yaml"
    bad.write_text("kommun:\n  name: X\n  web_url: not-a-url\ncontacts: {}\n", encoding="utf-8")
    with pytest.raises(KommunConfigError, match=r"kommun\.web_url"):
        load_kommun_config(bad)
    with pytest.raises(KommunConfigError, match="file not found"):
        load_kommun_config(tmp_path / "missing.yaml")


def test_missing_contact_names_the_role() -> None:
    config = load_kommun_config(ROOT / "shared/reference/kommun.yaml")
    with pytest.raises(KommunConfigError, match=r"contacts\.nobody"):
        config.contact("nobody")


# Issue 8: a deployment loads a directory of kommun files.


def _kommun_file(folder: Path, name: str, kommun: str, hosts: str = "[]") -> None:
    text = (ROOT / "shared/reference/kommun.yaml").read_text(encoding="utf-8")
    text = text.replace("  id: nora ", f"  id: {kommun} ").replace(
        "language: sv\n", f"language: sv\npublic_hosts: {hosts}\n", 1
    )
    (folder / name).write_text(text, encoding="utf-8")


def test_the_config_directory_serves_every_kommun_in_it() -> None:
    kommuner = load_kommuner(ROOT / "config")
    assert kommuner.ids == {"nora", "vasterby"}
    assert kommuner.default == "", "several, and none named: no default"
    assert load_kommuner(ROOT / "config", "vasterby").default == "vasterby"
    assert load_kommuner(ROOT / "shared/reference/kommun.yaml").default == "nora", "the only"
    hosted = kommuner.by_host("KONTON.vasterby.example:443")
    assert hosted is not None
    assert hosted.id == "vasterby"
    assert kommuner.by_host("www.example") is None


def test_a_config_directory_is_refused_with_the_file_and_field_named(tmp_path: Path) -> None:
    with pytest.raises(KommunConfigError, match="holds no kommun file"):
        load_kommuner(tmp_path)
    _kommun_file(tmp_path, "a.yaml", "alpha", "[konton.example]")
    (tmp_path / "README.md").write_text("not a kommun", encoding="utf-8")
    assert load_kommuner(tmp_path).ids == {"alpha"}
    with pytest.raises(KommunConfigError, match="DEFAULT_KOMMUN: 'beta' is none of"):
        load_kommuner(tmp_path, "beta")
    _kommun_file(tmp_path, "b.yaml", "alpha")
    with pytest.raises(KommunConfigError, match=r"b\.yaml: kommun\.id 'alpha' is also"):
        load_kommuner(tmp_path)
    _kommun_file(tmp_path, "b.yaml", "beta", "[Konton.example]")
    with pytest.raises(KommunConfigError, match=r"public_hosts 'konton\.example' is also"):
        load_kommuner(tmp_path)
    _kommun_file(tmp_path, "b.yaml", "Beta")
    with pytest.raises(KommunConfigError, match=r"b\.yaml: kommun\.id"):
        load_kommuner(tmp_path)


def test_no_code_names_a_particular_kommun() -> None:
    for folder in ("shared", "services", "kanalvakt"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8").lower()
            assert "nora" not in text, f"{path} names a particular kommun"


def _faststream_as_shipped() -> ModuleType:
    """A fresh copy of FastStream's pull-subscriber module, which nothing has patched."""
    spec = importlib.util.find_spec(stream_pull_subscriber.__name__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _IdleSubscription:
    """A pull subscription whose first fetch finds nothing and raises the builtin
    TimeoutError, as nats-py 2.16's `_fetch_n` does when an idle pull's deadline runs out
    (`raise asyncio.TimeoutError`). Other idle pulls raise its own subclass, which
    FastStream catches; on a real server 1 of 10 idle 0.2 s pulls raised the builtin."""

    def __init__(self, owner: SimpleNamespace) -> None:
        self.owner = owner
        self.fetches = 0

    async def fetch(self, **options: object) -> list[object]:
        self.fetches += 1
        if self.fetches == 1:
            raise builtins.TimeoutError
        self.owner.running = False  # the second poll is the last
        return []


async def _idle_poll_then_stop(module: ModuleType) -> int:
    """Runs FastStream's pull loop through one idle poll; how many fetches it made."""
    owner = SimpleNamespace(running=True, pull_sub=SimpleNamespace(batch_size=10, timeout=5))
    owner.subscription = _IdleSubscription(owner)

    async def consume(msg: object) -> None:
        raise AssertionError("an idle poll has no message to consume")

    await module.PullStreamSubscriber._consume_pull(owner, cb=consume)
    fetches: int = owner.subscription.fetches
    return fetches


async def test_pull_timeout_workaround_is_still_needed() -> None:
    """Fails once FastStream survives an idle poll by itself: then drop shared/bus/compat.py."""
    with pytest.raises(builtins.TimeoutError):
        await _idle_poll_then_stop(_faststream_as_shipped())


async def test_patched_pull_loop_survives_an_idle_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = _faststream_as_shipped().TimeoutError
    monkeypatch.setattr(stream_pull_subscriber, "TimeoutError", shipped)
    patch_pull_timeout()
    assert await _idle_poll_then_stop(stream_pull_subscriber) == 2


def test_issue_11_a_kommuns_routes_change_rows_of_the_default_table() -> None:
    notify = Notify.model_validate(
        {"routes": {"sla.warning": None, "comment.flagged": {"to": ["on_duty"], "urgent": True}}}
    )
    assert "sla.warning" not in notify.routes  # null: nobody is told
    assert notify.routes["comment.flagged"].urgent
    assert notify.routes["account.unattended"].then == [["escalation:2"]]  # the default


def test_issue_11_a_route_for_an_event_notify_does_not_take_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"account\.attended"):
        Notify.model_validate({"routes": {"account.attended": {"to": ["administrators"]}}})
    with pytest.raises(ValidationError, match="unknown recipient"):
        Notify.model_validate({"routes": {"comment.flagged": {"to": ["everyone"]}}})


def test_issue_12_the_streams_keep_as_many_replicas_as_the_setting_says() -> None:
    from shared.bus.router import EventRouter
    from shared.events import AccountCreated
    from shared.settings import ServiceName, Settings

    async def handler(event: AccountCreated) -> None: ...

    events = EventRouter(ServiceName.ARCHIVE)
    events.on(AccountCreated)(handler)
    assert Settings(service=ServiceName.ARCHIVE).bus_stream_replicas == 1
    built = events.build(Settings(service=ServiceName.ARCHIVE, bus_stream_replicas=3))
    [subscriber] = built.router.subscribers
    assert subscriber.stream is not None
    assert subscriber.stream.config.num_replicas == 3
