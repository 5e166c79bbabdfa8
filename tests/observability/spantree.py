"""Render finished spans as an indented tree, so tests assert the shape in one comparison."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan


def span_tree(spans: Sequence[ReadableSpan]) -> list[str]:
    """One line per span, children indented under their parent, in start order.

    A span whose parent is not among ``spans`` is a root (shown unindented).
    """
    by_id = {s.context.span_id: s for s in spans}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent if parent in by_id else None, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time or 0):
            lines.append("  " * depth + span.name)
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return lines


def parent_of(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan | None:
    if span.parent is None:
        return None
    return next((s for s in spans if s.context.span_id == span.parent.span_id), None)


def drawn_edges(drawing: str) -> set[tuple[str, str]]:
    """(parent, child) span names of a tree drawn with box characters, as in the docs.

    Each line is ``<indent of "│   "/"    "><"├── "/"└── ">name  comment``; the name ends at
    the first run of two spaces.
    """
    edges: set[tuple[str, str]] = set()
    stack: list[str] = []
    base: int | None = None
    for line in drawing.splitlines():
        if not line.strip():
            continue
        start = next(i for i, ch in enumerate(line) if ch not in " │├└─")
        base = start if base is None else base
        depth = (start - base) // 4
        name = line[start:].split("  ")[0].strip()
        del stack[depth:]
        if stack:
            edges.add((stack[-1], name))
        stack.append(name)
    return edges


def span_edges(spans: Sequence[ReadableSpan]) -> set[tuple[str, str]]:
    """(parent, child) span names of finished spans."""
    out: set[tuple[str, str]] = set()
    for span in spans:
        parent = parent_of(span, spans)
        if parent is not None:
            out.add((parent.name, span.name))
    return out
