"""The package is type-checked strictly (mypy --strict, see pyproject.toml) and ruff-clean.

Run as tests so that CI, which runs the README's test command, enforces them too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_mypy_strict_on_the_package() -> None:
    run = _run("mypy")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff() -> None:
    run = _run("ruff", "check", "src", "tests", "examples", "benchmarks")
    assert run.returncode == 0, run.stdout + run.stderr
