"""Issue 13's storm tool on real parts, small: `bench/storm.py --comments 200` starts its
own stack, and its JSON shows every comment followed to its end — received, classified
as its text reads, a case where the policy asks one (P5.2, P5.3), a threat escalated
(P5.8), its record and every fact of it in the archive (L4). Timings are never asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_p5_8_l4_a_small_storm_is_followed_to_its_end(tmp_path: Path) -> None:
    out = tmp_path / "storm.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "storm.py"),
            *("--comments", "200", "--latency-comments", "40", "--ceiling-events", "200"),
            *("--json", str(out)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
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
