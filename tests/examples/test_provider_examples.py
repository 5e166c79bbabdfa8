"""Each provider example, run without its key: one clear message, no stack trace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"
KEYS = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "XAI_API_KEY", "INWORLD_API_KEY")


@pytest.mark.parametrize(
    ("example", "variable"),
    [
        ("openai_realtime.py", "OPENAI_API_KEY"),
        ("openai_beta_realtime.py", "OPENAI_API_KEY"),
        ("azure_realtime.py", "AZURE_OPENAI_API_KEY"),
        ("xai_realtime.py", "XAI_API_KEY"),
        ("inworld_realtime.py", "INWORLD_API_KEY"),
    ],
)
def test_missing_key_is_a_clear_message(example: str, variable: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEYS and not k.startswith("AZURE_")}
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode != 0
    assert variable in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
