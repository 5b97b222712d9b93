"""Settings and the kommun's configuration: documented, validated, nothing hard-coded."""

from pathlib import Path

import pytest

from shared.bus.compat import patch_pull_timeout
from shared.kommun import KommunConfigError, load_kommun_config
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


def test_no_code_names_a_particular_kommun() -> None:
    for folder in ("shared", "services", "kanalvakt"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8").lower()
            assert "nora" not in text, f"{path} names a particular kommun"


def test_pull_timeout_workaround_is_still_needed() -> None:
    """Fails once FastStream catches the builtin TimeoutError itself: drop the patch."""
    import builtins
    import inspect
    import re

    from faststream.nats.subscriber.usecases import stream_pull_subscriber

    source = inspect.getsource(stream_pull_subscriber)
    assert re.search(r"from nats\.errors import [^\n]*\bTimeoutError\b", source), (
        "FastStream no longer takes nats-py's TimeoutError: remove shared/bus/compat.py"
    )
    assert "suppress(TimeoutError" in source
    patch_pull_timeout()
    assert stream_pull_subscriber.TimeoutError is builtins.TimeoutError
