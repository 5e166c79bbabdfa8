"""What a new user finds in the checkout: the licence the metadata declares, and a README
whose offline-test snippet passes when copied into a project of one's own."""

from __future__ import annotations

import subprocess
import sys
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


def _fenced(text: str, language: str, after: str) -> str:
    """The first ``language`` code block after the heading ``after``."""
    section = text[text.index(after) :]
    start = section.index(f"```{language}\n") + len(f"```{language}\n")
    return section[start : section.index("```", start)]


def _pytest(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme.py"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_readme_offline_test_passes_when_copied_with_its_pyproject_lines(
    tmp_path: Path,
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    heading = "## Test your own bot offline"
    (tmp_path / "test_readme.py").write_text(_fenced(readme, "python", heading))
    # Without the lines the README shows, pytest-asyncio does not run the async test...
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    without = _pytest(tmp_path)
    assert "1 passed" not in without.stdout, without.stdout
    # ...with them, copied as they stand, it passes.
    (tmp_path / "pyproject.toml").write_text(_fenced(readme, "toml", heading))
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_no_file_holds_a_merge_conflict_marker() -> None:
    """Docs and code are merged from several branches: a marker left behind is a defect."""
    markers = ("<" * 7 + " ", ">" * 7 + " ")
    found = []
    for folder in ("src", "tests", "docs", "examples", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".md", ".toml", ".yaml", ".txt") or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.startswith(markers):
                    found.append(f"{path.relative_to(ROOT)}:{number}")
    for name in ("README.md", "CHANGELOG.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        found += [name for line in text.splitlines() if line.startswith(markers)]
    assert found == []
