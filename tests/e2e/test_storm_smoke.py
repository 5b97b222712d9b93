"""Issue 13's storm tool on real parts, small: `bench/storm.py --comments 200` starts its
own stack, and its JSON shows every comment followed to its end — received, classified
as its text reads, a case where the policy asks one (P5.2, P5.3), a threat escalated
(P5.8), its record and every fact of it in the archive (L4). Timings are never asserted.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import ROOT


def run_storm(out: Path, options: list[str], timeout: float) -> dict[str, Any]:
    """`bench/storm.py` with these options, its JSON. Past `timeout` it is stopped with
    SIGTERM (its own servers and services stopped with it, not left running), and the
    test fails saying so."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "storm.py"), *options, "--json", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        _, stderr = proc.communicate(timeout=60)
        raise AssertionError(f"storm.py ran past {timeout:.0f} s: {stderr[-3000:]}") from None
    assert proc.returncode == 0, stderr[-3000:]
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def test_p5_8_l4_a_small_storm_is_followed_to_its_end(tmp_path: Path) -> None:
    result = run_storm(
        tmp_path / "storm.json",
        ["--comments", "200", "--latency-comments", "40", "--ceiling-events", "200"],
        timeout=240,
    )
    counts = result["ends"]["counts"]
    assert counts["comments"] == 240
    assert result["ends"]["all_followed_to_end"], counts
    assert counts["classified_as_intended"] == counts["comments"], result["ends"]["wrong_labels"]
    assert counts["cases_opened"] == counts["cases_expected"] > 0
    assert counts["cases_unexpected"] == 0
    assert counts["escalated_event"] == counts["threats"] > 0
    assert counts["records"] == counts["comments"]
    assert counts["facts_archived"] == counts["facts_expected"]
    assert result["throughput"]["ingest_statuses"] == {"received": 200}
    assert result["dead_letters"] == 0
    assert all(result["services_alive_at_end"].values())
