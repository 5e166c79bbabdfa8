"""The append-framing benchmark runs and reports both ways of sending (no figure is judged)."""

from __future__ import annotations

from ._rows import benchmark_rows


def test_append_framing_benchmark_reports_both_rows() -> None:
    rows = benchmark_rows("append_framing.py", "--appends", "200", "--rounds", "1", timeout=120)
    assert [label for label, _ in rows] == ["websockets send()", "own framing"], rows
    assert all(figure > 0 for _, figure in rows), rows
