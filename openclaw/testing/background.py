"""The base of the fake servers: a real aiohttp server on 127.0.0.1 (a free port) in its own
thread and event loop, so synchronous code, async tests and subprocesses can all reach it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self, TypeVar

from aiohttp import web

T = TypeVar("T")


class BackgroundServer:
    """Subclasses add their routes in `build_app` and release waiting handlers in `on_close`."""

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}"

    def build_app(self) -> web.Application:
        """The aiohttp application to serve; runs in the server's loop."""
        raise NotImplementedError

    async def on_close(self) -> None:
        """Release requests still waiting (long polls, hangs) before the server stops."""

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,
        interval: float = 0.01,
        what: str = "condition not met",
    ) -> T:
        """Poll `predicate` from async code until it returns something truthy, and return
        that; TimeoutError(`what`) after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} within {timeout:g}s")
            await asyncio.sleep(interval)
        return value

    def start(self) -> Self:
        """Serve on a free port from a background thread (the `with` statement calls this)."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), loop).result(timeout=10)
        return self

    def close(self) -> None:
        """Stop serving."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        await self.on_close()
        assert self._runner is not None
        await self._runner.cleanup()
