"""The life of a WebSocket server on loopback, shared by the servers of this package.

The local server, the recording proxy and the cassette server are all "a ``serve()`` call
that can be started once, stopped, used with ``async with``, and asked its port". Each
says how it serves (:meth:`LoopbackServing._serve`); the rest lives here once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import TypeVar

from websockets.asyncio.server import Server

__all__ = ["LoopbackServing"]

S = TypeVar("S", bound="LoopbackServing")


class LoopbackServing(ABC):
    """Start once, stop, ``async with``, ``port``: around the ``Server`` of :meth:`_serve`."""

    _server: Server | None = None

    @abstractmethod
    async def _serve(self) -> Server:
        """Open the listening socket (``websockets.asyncio.server.serve``)."""

    async def start(self: S) -> S:
        """Listen (once: a second call does nothing)."""
        if self._server is None:
            self._server = await self._serve()
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self: S) -> S:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The port it listens on (the one picked, when asked for port 0)."""
        if self._server is None:
            raise RuntimeError(f"the {type(self).__name__} is not started")
        return int(next(iter(self._server.sockets)).getsockname()[1])
