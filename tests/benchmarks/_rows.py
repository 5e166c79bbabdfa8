"""Runs a micro-benchmark with tiny arguments and reads its rows (``label  figure us ...``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def benchmark_rows(script: str, *args: str, timeout: float = 180) -> list[tuple[str, float]]:
    """(label, microseconds) per row; the run must succeed."""
    run = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if " us " in line]
    rows = [line.split(" us ")[0].rsplit(None, 1) for line in lines]
    return [(label, float(figure)) for label, figure in (r for r in rows if len(r) == 2)]
