"""Fixtures shared with the pipeline tests (imported, not copied)."""

from __future__ import annotations

from ..pipecat.conftest import warnings_logged

__all__ = ["warnings_logged"]
