"""The command lines as a user meets them (issue 7): options mean what they say, errors are
messages and never tracebacks, one rule for the token secret, the reference configuration
found wherever `kanalvakt` starts, and the port check matching what the servers can bind."""

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from kanalvakt import client as client_module
from kanalvakt.cli import main
from kanalvakt.processes import StartError, ensure_free
from services.registry.domain.account import PROFILE_ITEMS
from shared.settings import Settings
from tests.helpers import ROOT, SECRET

ACCOUNT = {
    "id": "01KANALVAKT",
    "state": "approved",
    "signatures": [],
    "plan": {
        "platform": "facebook",
        "handle": "norakommunnaringsliv",
        "department": "Kommunstyrelseförvaltningen",
        "unit": "Näringsliv",
    },
}


class FakeRegistry:
    """Stands in for the registry's HTTP API: records each call, answers a canned body."""

    def __init__(self, answer: Any = None, refuse: tuple[int, Any] | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.answer = ACCOUNT if answer is None else answer
        self.refuse = refuse

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append((method, path, kwargs))
        if self.refuse is not None:
            raise client_module.Refused(*self.refuse)
        return self.answer


def _fake(monkeypatch: pytest.MonkeyPatch, fake: FakeRegistry) -> FakeRegistry:
    # An instance attribute of no class: called as fake(method, path, ...), without self.
    # The answer comes with a bare 200: no Link header, so a list is one page.
    monkeypatch.setattr(
        client_module.RegistryClient,
        "_answer",
        lambda _c, *a, **k: (fake(*a, **k), httpx.Response(200)),
    )
    return fake


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> FakeRegistry:
    return _fake(monkeypatch, FakeRegistry())


def test_profile_item_confirms_exactly_the_items_given(registry: FakeRegistry) -> None:
    """P4.1: `--item X` confirms X, not X on top of every item."""
    code = main(["accounts", "profile", "01KANALVAKT", "--item", "update_frequency"])
    assert code == 0
    [(method, path, kwargs)] = registry.calls
    assert (method, path) == ("PUT", "/accounts/01KANALVAKT/profile")
    assert kwargs["json"] == {"update_frequency": True}


def test_profile_without_items_confirms_the_whole_p4_1_checklist(registry: FakeRegistry) -> None:
    assert main(["accounts", "profile", "01KANALVAKT"]) == 0
    assert registry.calls[0][2]["json"] == dict.fromkeys(PROFILE_ITEMS, True)


def test_profile_item_must_be_a_p4_1_item(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts", "profile", "01KANALVAKT", "--item", "logo"]) == 2
    assert registry.calls == []
    assert "logo" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("lang", "state", "expected"),
    [
        ("sv", "started", "har börjat"),
        ("en", "started", "has begun"),
        ("sv", "scheduled", "planerad"),
        ("en", "ended", "is over"),
    ],
)
def test_absence_prints_the_state_the_api_answers(
    registry: FakeRegistry,
    capsys: pytest.CaptureFixture[str],
    lang: str,
    state: str,
    expected: str,
) -> None:
    """P5.1: an absence that has already begun is not announced as scheduled."""
    registry.answer = {"id": "01ABSENCE", "state": state}
    code = main(
        [
            "absences",
            "add",
            "--name",
            "Anna Andersson",
            "--email",
            "anna.andersson@example.org",
            "--from",
            "2026-01-01T00:00:00+01:00",
            "--to",
            "2026-01-08T00:00:00+01:00",
            "--lang",
            lang,
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "01ABSENCE" in out
    assert expected in out
    assert registry.calls[0][2]["json"]["person"]["name"] == "Anna Andersson"


REFUSAL = {
    "detail": "the plan breaks the policy",
    "errors": [
        {
            "field": "handle",
            "rule": "P4.2",
            "message": {"sv": "Kontonamnet förkortar kommunens namn.", "en": "abbreviates"},
        },
        {
            "field": "administrators",
            "rule": "P3.1",
            "message": {"sv": "Minst två administratörer.", "en": "at least two"},
        },
    ],
}


@pytest.mark.parametrize(
    ("lang", "texts"),
    [("sv", ["Kontonamnet förkortar", "Minst två"]), ("en", ["abbreviates", "at least two"])],
)
def test_refusals_are_printed_field_by_field_with_the_rule(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lang: str,
    texts: list[str],
) -> None:
    _fake(monkeypatch, FakeRegistry(refuse=(422, REFUSAL)))
    code = main(["accounts", "submit", str(ROOT / "docs/examples/plan.yaml"), "--lang", lang])
    assert code == 1
    err = capsys.readouterr().err
    for field, rule, text in zip(
        ("handle", "administrators"), ("P4.2", "P3.1"), texts, strict=True
    ):
        line = next(x for x in err.splitlines() if x.strip().startswith(field))
        assert rule in line
        assert text in line


def test_a_missing_plan_file_is_a_message_not_a_traceback(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["accounts", "submit", str(tmp_path / "nowhere.yaml")])
    assert code != 0
    err = capsys.readouterr().err
    assert "nowhere.yaml" in err
    assert "Traceback" not in err
    assert registry.calls == []


def test_a_registry_that_does_not_answer_is_a_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["accounts", "list", "--registry", f"http://127.0.0.1:{port}", "--token", "t"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_list_prints_a_table_with_whole_ids(
    registry: FakeRegistry, capsys: pytest.CaptureFixture[str]
) -> None:
    registry.answer = [ACCOUNT | {"id": "01KBXYZ0123456789ABCDEFGHJ"}]
    assert main(["accounts", "list", "--state", "active"]) == 0
    out = capsys.readouterr().out
    assert "01KBXYZ0123456789ABCDEFGHJ" in out
    assert "norakommunnaringsliv" in out
    assert registry.calls[0][2]["params"] == {"state": ["active"]}


def test_list_follows_the_registrys_next_links_to_the_last_page() -> None:
    # The register comes in pages (P10.1): a list that stopped at the first would hide
    # accounts without saying so.
    def registry(request: httpx.Request) -> httpx.Response:
        after = request.url.params.get("after")
        if after is None:
            link = '<http://registry/accounts?state=active&after=a2&limit=2>; rel="next"'
            return httpx.Response(200, json=[{"id": "a1"}, {"id": "a2"}], headers={"Link": link})
        assert request.url.params["state"] == "active", "the filters stay on every page"
        return httpx.Response(200, json=[{"id": "a3"}])

    client = client_module.RegistryClient(
        "http://registry", "t", transport=httpx.MockTransport(registry)
    )
    assert [a["id"] for a in client.list(state=["active"])] == ["a1", "a2", "a3"]


# -- tokens: one source of truth --------------------------------------------------------


def test_token_refuses_when_there_is_no_secret_instead_of_making_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AUTH_SECRET", raising=False)
    data = tmp_path / "elsewhere"
    code = main(["token", "--sub", "anna", "--role", "communicator", "--data-dir", str(data)])
    assert code != 0
    assert not (data / "auth-secret").exists(), "a new secret was made silently"
    err = capsys.readouterr().err
    assert "AUTH_SECRET" in err
    assert "kanalvakt up" in err


def _claims(token: str, secret: str) -> dict[str, Any]:
    import jwt

    claims: dict[str, Any] = jwt.decode(
        token, secret, algorithms=["HS256"], audience="kanalvakt", issuer="kanalvakt-local"
    )
    return claims


def test_token_and_up_sign_with_the_same_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kanalvakt.up import UpOptions, service_environment

    data = tmp_path / "data"
    for auth_secret in (None, "a-secret-from-the-environment-32-chars-long"):
        if auth_secret is None:
            monkeypatch.delenv("AUTH_SECRET", raising=False)
        else:
            monkeypatch.setenv("AUTH_SECRET", auth_secret)
        env = service_environment(UpOptions(data_dir=data), os.environ)
        assert (
            main(["token", "--sub", "anna", "--role", "communicator", "--data-dir", str(data)]) == 0
        )
        token = capsys.readouterr().out.strip()
        assert _claims(token, env["AUTH_SECRET"])["sub"] == "anna"
        if auth_secret is not None:
            assert env["AUTH_SECRET"] == auth_secret, "up replaced AUTH_SECRET"


def test_up_refuses_a_short_auth_secret(tmp_path: Path) -> None:
    from kanalvakt.up import UpOptions, service_environment

    with pytest.raises(StartError, match="AUTH_SECRET"):
        service_environment(UpOptions(data_dir=tmp_path), {"AUTH_SECRET": "short"})


# -- the reference configuration, wherever kanalvakt starts ------------------------------


def test_reference_configuration_is_found_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.kommun import load_kommun_config

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KOMMUN_CONFIG", raising=False)
    path = Settings().kommun_config
    assert path.is_absolute()
    assert load_kommun_config(path).contact("informationsansvarig").email
    from kanalvakt.up import UpOptions

    assert UpOptions().kommun_config == path


def test_init_writes_a_copy_to_edit_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.kommun import load_kommun_config

    target = tmp_path / "min-kommun"
    assert main(["init", str(target)]) == 0
    written = target / "kommun.yaml"
    assert load_kommun_config(written).kommun.name
    assert str(written) in capsys.readouterr().out
    written.write_text("# edited\n", encoding="utf-8")
    assert main(["init", str(target)]) != 0
    assert written.read_text(encoding="utf-8") == "# edited\n"
    assert "kommun.yaml" in capsys.readouterr().err


def test_init_says_to_set_the_kommun_id_and_that_dir_may_hold_several_kommuner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "forbundet"
    assert main(["init", str(target)]) == 0
    out = capsys.readouterr().out
    assert "kommun.id" in out
    assert f"KOMMUN_CONFIG={target} " in out


# -- several kommuner (issue 8) ----------------------------------------------------------


def _token_with(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("AUTH_SECRET", SECRET)
    code = main(["token", "--sub", "anna", "--role", "communicator", *args])
    out, err = capsys.readouterr()
    return code, out.strip(), err


def test_token_kommun_puts_the_kommun_claim_in_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, token, _ = _token_with(monkeypatch, capsys, "--kommun", "vasterby")
    assert code == 0
    assert _claims(token, SECRET)["kommun"] == "vasterby"


def test_token_without_kommun_has_no_claim_so_the_default_kommun_applies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, token, _ = _token_with(monkeypatch, capsys)
    assert code == 0
    assert "kommun" not in _claims(token, SECRET)


@pytest.mark.parametrize("bad", ["Nora", "nora.vasterby", "nora kommun", "västerby", "-nora"])
def test_token_refuses_a_kommun_that_is_no_id_with_a_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    code, token, err = _token_with(monkeypatch, capsys, "--kommun", bad)
    assert code == 2
    assert token == ""
    assert "--kommun" in err
    assert repr(bad) in err
    assert "Traceback" not in err


def test_up_takes_config_dir_where_it_starts_else_the_reference(tmp_path: Path) -> None:
    from kanalvakt.up import default_kommun_config
    from shared.reference import REFERENCE_KOMMUN_CONFIG

    assert default_kommun_config(ROOT) == ROOT / "config"
    assert default_kommun_config(tmp_path) == REFERENCE_KOMMUN_CONFIG
    (tmp_path / "config").write_text("a file, not the directory of kommuner\n")
    assert default_kommun_config(tmp_path) == REFERENCE_KOMMUN_CONFIG
    (tmp_path / "config").unlink()
    (tmp_path / "config").mkdir()
    assert default_kommun_config(tmp_path) == tmp_path / "config"


def test_up_defaults_to_the_first_kommun_by_file_name_or_the_one_given() -> None:
    from kanalvakt.up import _check_config

    assert _check_config(ROOT / "config").default == "nora"
    assert _check_config(ROOT / "config", "vasterby").default == "vasterby"
    assert _check_config(ROOT / "config/vasterby.yaml").default == "vasterby"
    with pytest.raises(StartError, match=r"^--default-kommun .*'nosuch'.*nora, vasterby"):
        _check_config(ROOT / "config", "nosuch")


def test_the_repositorys_config_dir_holds_nora_and_vasterby_nora_first() -> None:
    from kanalvakt.up import _check_config

    kommuner = _check_config(ROOT / "config")
    assert [(k.id, k.kommun.name) for k in kommuner] == [
        ("nora", "Nora kommun"),
        ("vasterby", "Västerby kommun"),
    ]


def test_up_refuses_a_wrong_configuration_naming_the_option(tmp_path: Path) -> None:
    from kanalvakt.up import _check_config

    for name in ("nora.yaml", "copy-of-nora.yaml"):
        (tmp_path / name).write_text((ROOT / "config/nora.yaml").read_text(encoding="utf-8"))
    with pytest.raises(StartError, match=r"^--kommun-config \(KOMMUN_CONFIG\): .*'nora'"):
        _check_config(tmp_path)
    with pytest.raises(StartError, match="--kommun-config"):
        _check_config(tmp_path / "nowhere")


def test_up_passes_the_default_kommun_to_the_services(tmp_path: Path) -> None:
    from kanalvakt.up import UpOptions, service_environment

    opts = UpOptions(data_dir=tmp_path, kommun_config=ROOT / "config", default_kommun="nora")
    env = service_environment(opts, {"AUTH_SECRET": SECRET, "DEFAULT_KOMMUN": "other"})
    assert env["DEFAULT_KOMMUN"] == "nora"
    assert env["KOMMUN_CONFIG"] == str(ROOT / "config")


def test_up_table_lists_each_kommun_with_its_public_page_and_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kanalvakt.up import UpOptions, _check_config, _print_table

    opts = UpOptions(data_dir=tmp_path, kommun_config=ROOT / "config", default_kommun="nora")
    env = {"KOMMUN_CONFIG": str(ROOT / "config")}
    _print_table(opts, tmp_path, env, _check_config(ROOT / "config"))
    out = capsys.readouterr().out
    lines = out.splitlines()
    nora = next(line for line in lines if "Kommun nora" in line)
    assert "(default)" in nora
    assert "Nora kommun" in nora
    assert "http://127.0.0.1:8001/public/nora/accounts.html" in nora
    vasterby = next(line for line in lines if "Kommun vasterby" in line)
    assert "(default)" not in vasterby
    assert "Västerby kommun" in vasterby
    assert "http://127.0.0.1:8001/public/vasterby/accounts.html" in vasterby
    assert "--kommun nora" in out


# -- the port check ----------------------------------------------------------------------


def test_port_check_accepts_a_port_whose_socket_is_in_time_wait() -> None:
    """Right after `kanalvakt up` stops, its ports are in TIME_WAIT; the servers bind them
    (SO_REUSEADDR), so the check must too."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    peer = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    server.close()
    accepted.close()  # the server side closes first: its end waits in TIME_WAIT
    time.sleep(0.1)
    peer.close()
    ensure_free("registry HTTP", "127.0.0.1", port)


def test_port_check_still_refuses_a_port_something_listens_on() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(StartError, match=f"port {port}"):
            ensure_free("registry HTTP", "127.0.0.1", port)


def test_a_server_that_does_not_listen_in_time_is_stopped_not_left_running(
    tmp_path: Path,
) -> None:
    from kanalvakt.processes import free_port, start_store

    data = tmp_path / "store-that-is-too-slow"
    with pytest.raises(StartError):
        start_store(data, "127.0.0.1", free_port(), timeout=0.0)
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", str(data)], capture_output=True, text=True)
    assert left.stdout == "", "a supervisor would restart beside it and find the port taken"


def test_the_absences_table_shows_the_state_in_words_with_its_dates_filled_in() -> None:
    from rich.console import Console

    table = client_module.absences_table(
        [{"id": "a1", "state": "ended", "ends_at": "2026-12-24T00:00:00+01:00"}], "sv"
    )
    console = Console(width=200, record=True)
    console.print(table)
    shown = console.export_text()
    assert "{ends_at}" not in shown
    assert "är över sedan 2026-12-24" in shown
