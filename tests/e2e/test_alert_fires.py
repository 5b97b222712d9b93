"""Issue 12's proof that the alerts work on real parts: `kanalvakt up` runs the four
services, a real Prometheus server (Debian's /usr/bin/prometheus) scrapes their /metrics
every second and evaluates deploy/prometheus/rules/kanalvakt.rules.yaml every second.
An account is approved and activated, both its administrators are reported absent
through the registry's API (P3.3, P5.6), and KanalvaktAccountUnattended is seen pending,
then firing, through Prometheus's HTTP API (/api/v1/alerts).

Only the test's copy of the rules differs from production: KanalvaktAccountUnattended's
`for: 5m` becomes `for: 10s`, so that pending and firing both happen within the test;
every other rule, expression and label is the production file's. The registry's
scheduler runs every second (SCHEDULER_INTERVAL_SECONDS=1) so the gauge follows at once.
No timing is asserted: every wait is `eventually` with generous limits.
"""

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kanalvakt.client import RegistryClient
from kanalvakt.processes import free_port
from services.registry.domain.account import PROFILE_ITEMS
from shared.clock import utcnow
from shared.principal import Role
from tests.e2e.conftest import System, _run_system
from tests.helpers import ROOT, eventually

RULES = ROOT / "deploy" / "prometheus" / "rules" / "kanalvakt.rules.yaml"
ALERT = "KanalvaktAccountUnattended"
TEST_FOR = "10s"  # production: 5m
DEPARTMENT = "Kommunstyrelseförvaltningen"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """`kanalvakt up` with the registry's scheduler ticking every second."""
    data: Path = tmp_path_factory.mktemp("kanalvakt-alerts")
    yield from _run_system(data, data, extra_env={"SCHEDULER_INTERVAL_SECONDS": "1"})


def _rules_for_the_test(target: Path) -> None:
    """The production rules with only ALERT's `for` shortened."""
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    [rule] = [r for g in loaded["groups"] for r in g["rules"] if r.get("alert") == ALERT]
    assert rule["for"] == "5m", "the production `for` changed: update TEST_FOR's comment"
    rule["for"] = TEST_FOR
    target.write_text(yaml.safe_dump(loaded, sort_keys=False, allow_unicode=True), "utf-8")


@pytest.fixture(scope="module")
def prometheus(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus scraping the four services as the ServiceMonitor's jobs are
    named (`kanalvakt-<service>`), on a free port; killed at the end."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        pytest.fail("prometheus not found: install Debian's `prometheus` package (.ci/run does)")
    home = tmp_path_factory.mktemp("prometheus")
    _rules_for_the_test(home / "rules.yaml")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(home / "rules.yaml")],
        "scrape_configs": [
            {
                "job_name": f"kanalvakt-{name}",
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [url.removeprefix("http://")]}],
            }
            for name, url in system.urls.items()
        ],
    }
    (home / "prometheus.yml").write_text(json.dumps(config), "utf-8")  # JSON is YAML
    port = free_port()
    log = (home / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        yield url
    finally:
        proc.kill()
        proc.wait()
        log.close()


async def _get(url: str, path: str, **params: str) -> Any:
    async with httpx.AsyncClient(timeout=5.0) as http:
        answer = await http.get(f"{url}{path}", params=params)
    answer.raise_for_status()
    return answer.json()["data"]


async def _states(url: str) -> dict[str, dict[str, Any]]:
    """ALERT's instances by state, as Prometheus's HTTP API shows them."""
    alerts = (await _get(url, "/api/v1/alerts"))["alerts"]
    return {a["state"]: a for a in alerts if a["labels"]["alertname"] == ALERT}


async def test_P3_3_an_unattended_account_fires_its_alert(system: System, prometheus: str) -> None:
    async def ready() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2.0) as http:
                return (await http.get(f"{prometheus}/-/ready")).status_code == 200
        except httpx.HTTPError:
            return False

    await eventually(ready, within=60, what="Prometheus ready")

    async def scraping() -> bool:
        targets = (await _get(prometheus, "/api/v1/targets"))["activeTargets"]
        return len(targets) == 4 and all(t["health"] == "up" for t in targets)

    await eventually(scraping, within=60, what="the four services scraped")

    async def rules_loaded() -> bool:
        groups = (await _get(prometheus, "/api/v1/rules"))["groups"]
        names = {r["name"] for g in groups for r in g["rules"]}
        return ALERT in names

    await eventually(rules_loaded, within=30, what="the rule file loaded")

    # The account: submitted, signed by four people, credentials deposited, profile
    # confirmed: active (P2.1, P3.5, P4.1).
    registry = system.urls["registry"]
    plan = yaml.safe_load((ROOT / "docs/examples/plan.yaml").read_text(encoding="utf-8"))
    plan = json.loads(json.dumps(plan, default=str))  # YAML dates as the API takes them
    communicator = RegistryClient(registry, system.token(Role.COMMUNICATOR, sub="cecilia"))
    account = communicator.submit(plan, draft=False)
    signers = {
        "administrator_1": system.token(
            Role.ADMINISTRATOR, sub="anna", email="anna.andersson@nora.example"
        ),
        "administrator_2": system.token(
            Role.ADMINISTRATOR, sub="bengt", email="bengt.berg@nora.example"
        ),
        "department_head": system.token(Role.DEPARTMENT_HEAD, sub="dora", department=DEPARTMENT),
        "information_officer": system.token(Role.INFORMATION_OFFICER, sub="kommunchef"),
    }
    for role, token in signers.items():
        RegistryClient(registry, token).sign(account["id"], role)
    officer = RegistryClient(registry, signers["information_officer"])
    officer.deposit(account["id"], "Kassaskåpet, kommunledningskontoret", utcnow().isoformat())
    active = RegistryClient(registry, signers["administrator_1"]).confirm_profile(
        account["id"], list(PROFILE_ITEMS)
    )
    assert active["state"] == "active"
    kommun = active["kommun"]

    # Healthy first: the gauge is scraped (0) and the alert is not there.
    async def scraped_healthy() -> bool:
        query = "kanalvakt_registry_accounts_unattended"
        found = await _get(prometheus, "/api/v1/query", query=query)
        return any(s["metric"].get("kommun") == kommun for s in found["result"])

    await eventually(scraped_healthy, within=60, what="the unattended gauge scraped")
    assert await _states(prometheus) == {}

    # Both administrators away, no substitute (P3.3, P5.6).
    now = utcnow()
    manager = RegistryClient(registry, system.token(Role.UNIT_HEAD, sub="naringslivschef"))
    for name, email in (
        ("Anna Andersson", "anna.andersson@nora.example"),
        ("Bengt Berg", "bengt.berg@nora.example"),
    ):
        manager.add_absence(
            {
                "person": {"name": name, "email": email},
                "starts_at": (now - timedelta(minutes=1)).isoformat(),
                "ends_at": (now + timedelta(days=7)).isoformat(),
                "substitute": None,
            }
        )

    seen: set[str] = set()

    async def state_is(state: str) -> bool:
        seen.update(await _states(prometheus))
        return state in seen

    await eventually(lambda: state_is("pending"), within=90, what=f"{ALERT} pending")
    await eventually(lambda: state_is("firing"), within=90, what=f"{ALERT} firing")

    firing = (await _states(prometheus))["firing"]
    assert firing["labels"] == {
        "alertname": ALERT,
        "kommun": kommun,
        "severity": "critical",
        "rule": "P3.3",
    }
    notes = firing["annotations"]
    assert notes["summary_sv"].startswith(f"{kommun}: 1 konton är obevakade")
    assert notes["summary_en"].startswith(f"{kommun}: 1 accounts unattended")
    assert notes["runbook_url"] == "docs/runbook.md#kanalvaktaccountunattended"
