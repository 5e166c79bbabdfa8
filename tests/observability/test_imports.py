"""The observability package needs only the OpenTelemetry API: no SDK, no pipecat."""

from __future__ import annotations

import ast
import inspect
import pkgutil

import pytest

import realtime_llm.observability as package


@pytest.mark.parametrize("name", [m.name for m in pkgutil.iter_modules(package.__path__)])
def test_module_imports_no_sdk_and_no_pipecat(name: str) -> None:
    module = __import__(f"{package.__name__}.{name}", fromlist=["_"])
    tree = ast.parse(inspect.getsource(module))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert imported
    for found in imported:
        assert not found.startswith(("opentelemetry.sdk", "opentelemetry.semconv", "pipecat")), (
            found
        )
