"""The append-framing benchmark runs and reports both ways of sending (no figure is judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "append_framing.py"


def test_append_framing_benchmark_reports_both_rows() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCHMARK), "--appends", "200", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line for line in run.stdout.splitlines() if " us " in line]
    assert [row.split(" us ")[0].rsplit(None, 1)[0] for row in rows] == [
        "websockets send()",
        "own framing",
    ], run.stdout
    assert all(float(row.split(" us ")[0].split()[-1]) > 0 for row in rows), run.stdout
