"""What a new user finds in the checkout: the licence the metadata declares."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_license_file_is_the_bsd_2_clause_text_the_metadata_declares() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'license = { text = "BSD-2-Clause" }' in pyproject  # (tomllib needs Python 3.11)
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 2-Clause License")
    assert "Copyright (c) 2026, realtime_llm developers" in text
    # The two clauses, and no third (the advertising clause of BSD-3/4).
    assert "1. Redistributions of source code" in text
    assert "2. Redistributions in binary form" in text
    assert "3." not in text
