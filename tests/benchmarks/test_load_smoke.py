"""The load benchmark runs and reports every candidate (a smoke test: no figure is judged).

The benchmark measures speed; the suite only checks that it still runs end to end (fake
server, worker processes, all four candidates and the ``floor_reply`` reference) and that
every row carries its figures, so that a change to the service or to pipecat cannot
silently break it.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

LOAD = Path(__file__).parents[2] / "benchmarks" / "load.py"
CANDIDATES = ("floor", "raw", "pipecat", "realtime_llm", "floor_reply")
CANDIDATE_ARGS = ("--candidates", ",".join(CANDIDATES))


def test_load_benchmark_reports_every_candidate() -> None:
    run = subprocess.run(
        [sys.executable, str(LOAD), "--sessions", "1", "--seconds", "0.5", *CANDIDATE_ARGS],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines() if line}
    for candidate in CANDIDATES:
        assert candidate in rows, run.stdout
        n, cpu, ratio, *rest = rows[candidate]
        assert n == "1"
        # Every figure is there: CPU, ratio, lag p50/p99, on-time share, latency p50/p99,
        # MB per session. The latencies are nan when no reply audio reached the sink, so
        # a number there means the candidate's session really carried audio both ways.
        assert len(rest) == 6, rows[candidate]
        assert float(cpu) > 0
        assert not math.isnan(float(ratio))
        assert rest[2].endswith("%"), rows[candidate]
        for latency in rest[3:5]:
            assert not math.isnan(float(latency)), rows[candidate]
