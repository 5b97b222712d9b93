"""Issue 8 from a terminal: `kanalvakt up`, started in the repository with no options,
runs every kommun of `config/` (Nora, the default, and Västerby) in one set of processes,
says so in its table, and serves each kommun's public list at its own path."""

import httpx

from tests.e2e.conftest import System


def test_up_serves_every_kommun_of_the_config_directory(kommuner_system: System) -> None:
    printed = kommuner_system.printed
    registry = kommuner_system.urls["registry"]
    for kommun, name in (("nora", "Nora kommun"), ("vasterby", "Västerby kommun")):
        assert name in printed, f"the table names no {name}"
        assert f"{registry}/public/{kommun}/accounts.html" in printed
    assert "Kommun nora (default)" in printed
    assert "Kommun vasterby (default)" not in printed
    assert "--kommun nora" in printed, "the token hint names the default kommun"

    for kommun in ("nora", "vasterby"):
        answer = httpx.get(f"{registry}/public/{kommun}/accounts", timeout=10)
        assert answer.status_code == 200, f"{kommun}: {answer.status_code} {answer.text}"
        page = httpx.get(f"{registry}/public/{kommun}/accounts.html", timeout=10)
        assert page.status_code == 200, f"{kommun}: {page.status_code}"
    # A kommun the deployment does not serve is not found, like another kommun's data.
    assert httpx.get(f"{registry}/public/nosuch/accounts", timeout=10).status_code == 404


def test_a_token_for_each_kommun_and_one_without_a_claim_are_all_accepted(
    kommuner_system: System,
) -> None:
    """The default kommun (first by file name) takes tokens without a kommun claim, so
    the local stack works with two kommuner as it did with one."""
    from shared.principal import Role

    registry = kommuner_system.urls["registry"]
    for kommun in ("nora", "vasterby", ""):
        headers = kommuner_system.headers(Role.COMMUNICATOR, kommun=kommun)
        answer = httpx.get(f"{registry}/accounts", headers=headers, timeout=10)
        assert answer.status_code == 200, f"kommun {kommun!r}: {answer.status_code} {answer.text}"
