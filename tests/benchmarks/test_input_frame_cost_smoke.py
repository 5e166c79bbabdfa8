"""The input-frame benchmark runs and reports every candidate (no figure is judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARK = Path(__file__).parents[2] / "benchmarks" / "input_frame_cost.py"


def test_input_frame_cost_benchmark_reports_every_candidate() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCHMARK), "--frames", "200", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line for line in run.stdout.splitlines() if " us " in line]
    assert [row.split(" us ")[0].rsplit(None, 1)[0] for row in rows] == [
        "pipecat push",
        "pipecat process",
        "floor",
        "pipecat",
        "realtime_llm",
    ], run.stdout
    assert all(float(row.split(" us ")[0].split()[-1]) > 0 for row in rows), run.stdout
