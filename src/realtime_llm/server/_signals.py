"""Waiting for Ctrl-C (or ``kill``) in the server commands, whatever the parent did to SIGINT.

A process started in the background by a shell without job control (``realtime-llm serve &``
in a script, some CI runners) inherits SIGINT *ignored*, and Python then installs no
KeyboardInterrupt handler: such a server ignored ``kill -INT`` and Ctrl-C forwarded by a
supervisor, and had to be killed. Handlers installed on the loop replace an inherited
disposition, so the commands stop cleanly on SIGINT and SIGTERM (``docker stop``) alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

__all__ = ["until_stopped"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def until_stopped() -> None:
    """Return when the process gets SIGINT or SIGTERM (or, where the loop cannot take signal
    handlers, never: the default KeyboardInterrupt still ends ``asyncio.run``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in _STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
