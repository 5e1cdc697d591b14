"""The gateway's HTTP endpoints for monitors and operators: `/health` (503 naming degraded
channels), `/status` (JSON, no secrets), `/metrics` (Prometheus text) and `/metrics/json`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web


def human_duration(seconds: float) -> str:
    """`3725` → `1h 2m 5s`."""
    seconds = int(seconds)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours or days else []
    parts += [f"{minutes}m"] if minutes or hours or days else []
    return " ".join([*parts, f"{seconds}s"])


class StatusEndpoints:
    """Serves what the callbacks return; aiohttp is imported when the server starts."""

    def __init__(
        self,
        status: Callable[[], dict[str, Any]],
        metrics_text: Callable[[], bytes],
        samples: Callable[[], Any],
        degraded: Callable[[], dict[str, str]],
    ) -> None:
        self._status = status
        self._metrics_text = metrics_text
        self._samples = samples
        self._degraded = degraded
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on `host:port` (0 picks a free port); returns the bound port."""
        from aiohttp import web

        http = web.Application()
        http.router.add_get("/health", self.health)
        http.router.add_get("/status", self.status)
        http.router.add_get("/metrics", self.metrics)
        http.router.add_get("/metrics/json", self.metrics_json)
        self._runner = web.AppRunner(http, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound: int = self._runner.addresses[0][1]
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def health(self, request: web.Request) -> web.Response:
        """`ok`, or 503 naming the degraded channels (load balancers and monitors read it)."""
        from aiohttp import web

        degraded = self._degraded()
        if degraded:
            text = "degraded: " + "; ".join(f"{n} ({s})" for n, s in sorted(degraded.items()))
            return web.Response(status=503, text=text)
        return web.Response(text="ok")

    async def status(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(self._status())

    async def metrics(self, request: web.Request) -> web.Response:
        from aiohttp import web

        from openclaw.gateway.metrics import CONTENT_TYPE

        return web.Response(body=self._metrics_text(), headers={"Content-Type": CONTENT_TYPE})

    async def metrics_json(self, request: web.Request) -> web.Response:
        from aiohttp import web

        return web.json_response(self._samples())
