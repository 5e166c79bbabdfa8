"""Suite-wide checks."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_OURS = (os.sep + "realtime_llm" + os.sep, os.sep + "tests" + os.sep, os.sep + "examples" + os.sep)


@pytest.fixture(autouse=True)
def no_deprecation_warnings_from_our_code(
    recwarn: pytest.WarningsRecorder, request: pytest.FixtureRequest
) -> Iterator[None]:
    """Fail a test in which our code (package, tests, examples) used a deprecated API.

    pipecat raises its deprecation warnings under an ``always`` filter, so pytest's
    ``filterwarnings = error`` cannot catch them; recording them can. A test that feeds
    a deprecated *user* pattern on purpose says so with ``@pytest.mark.user_deprecation``.
    """
    yield
    if request.node.get_closest_marker("user_deprecation"):
        return
    ours = [
        w
        for w in recwarn
        if issubclass(w.category, DeprecationWarning) and any(p in w.filename for p in _OURS)
    ]
    assert not ours, "deprecated APIs used: " + "; ".join(
        f"{w.filename}:{w.lineno}: {w.message}" for w in ours
    )


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """Finished spans, in memory (the OpenTelemetry SDK's exporter)."""
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A tracer provider that exports to ``exporter`` as each span ends."""
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    yield tp
    tp.shutdown()
