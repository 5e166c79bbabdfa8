"""The input-frame benchmark runs and reports every candidate (no figure is judged)."""

from __future__ import annotations

from ._rows import benchmark_rows

ROWS = ["pipecat push", "pipecat process", "floor", "pipecat", "realtime_llm"]


def test_input_frame_cost_benchmark_reports_every_candidate() -> None:
    rows = benchmark_rows("input_frame_cost.py", "--frames", "200", "--rounds", "1")
    assert [label for label, _ in rows] == ROWS, rows
    assert all(figure > 0 for _, figure in rows), rows
