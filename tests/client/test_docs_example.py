"""The example in docs/client.md runs as written, without pipecat, against the local server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "client.md"


def test_the_client_example_runs_and_loads_no_pipecat(tmp_path: Path) -> None:
    match = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert match is not None
    script = tmp_path / "example.py"
    check = "\nimport sys\nassert not [m for m in sys.modules if m.startswith('pipecat')]\n"
    script.write_text(match.group(1) + check)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Hello there" in run.stdout
