"""The SSRF guard of the browser: a forward proxy on 127.0.0.1 that every connection Chromium
opens goes through (pages, sub-resources, redirects, fetch/XHR, WebSockets).

Playwright's request routing cannot be the guard: it does not see redirect hops (documented, and
checked here with Chromium 150) nor WebSockets, and it checks a URL before Chromium resolves the
name itself (DNS rebinding). The proxy resolves each host once, checks every address with the
sandbox policy, and connects to the address it checked. A refused plain-HTTP request gets a 403
page (502 when the host cannot be reached) whose `PROXY_HEADER` says so; a refused CONNECT
(https, wss) gets the same status, which Chromium reports as a tunnel failure. Policy refusals
are kept in `refusals` so the tool can say why a load failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from urllib.parse import urlsplit

from openclaw.sandbox import SandboxDenied, SandboxPolicy
from openclaw.tools import ToolError

log = logging.getLogger("openclaw.browser")

PROXY_HEADER = "X-Openclaw-Proxy"  # "refused" or "unreachable" on the proxy's own answers
MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT = 15.0
_HOP_HEADERS = {"connection", "proxy-connection", "proxy-authorization", "keep-alive"}


class Refused(Exception):
    """The sandbox policy refused a connection; the message says why."""


class Unreachable(Exception):
    """The host could not be resolved or connected to."""


class GuardProxy:
    """An HTTP forward proxy applying `policy`'s SSRF rules to the address of each connection."""

    def __init__(self, policy: SandboxPolicy) -> None:
        self.policy = policy
        self.refusals: deque[str] = deque(maxlen=50)
        self.refused = 0  # refusals so far: `refusals_since(mark)` tells one action's own
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def refusals_since(self, mark: int) -> list[str]:
        """The refusals after `refused` was `mark` (the most recent 50 at most)."""
        count = min(self.refused - mark, len(self.refusals))
        return list(self.refusals)[len(self.refusals) - count :] if count > 0 else []

    async def start(self) -> GuardProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except Exception:
            log.exception("browser proxy: a connection failed")
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, _, rest = request_line.partition(" ")
        target, _, version = rest.rpartition(" ")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            upstream = await self._open_or_refuse(writer, target, host, port, method)
            if upstream is None:
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await self._relay(reader, writer, *upstream)
            return
        parts = urlsplit(target)
        try:
            http_port = parts.port or 80
        except ValueError:  # not a number, or out of range
            http_port = 0
        if parts.scheme != "http" or not parts.hostname or not http_port:
            await _respond(writer, 400, f"not a proxy request: {request_line}", "refused")
            return
        upstream = await self._open_or_refuse(
            writer, target, parts.hostname, str(http_port), method
        )
        if upstream is None:
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = [
            line for line in header_lines if line and line.split(":")[0].lower() not in _HOP_HEADERS
        ]
        upstream_head = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close"])
        upstream[1].write((upstream_head + "\r\n\r\n").encode("latin-1"))
        await self._relay(reader, writer, *upstream, close_response=True)

    async def _open_or_refuse(
        self, writer: asyncio.StreamWriter, url: str, host: str, port: str, method: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            return await self.open(url, host, int(port))
        except (Refused, ValueError) as exc:
            self.refusals.append(f"{method} {url}: {exc}")
            self.refused += 1
            await _respond(writer, 403, str(exc), "refused")
        except Unreachable as exc:
            await _respond(writer, 502, str(exc), "unreachable")
        return None

    async def open(
        self, url: str, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Resolve `host` once, check each address, connect to the first allowed one."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, TimeoutError) as exc:
            raise Unreachable(f"cannot resolve {host}: {exc}") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not self.policy.host_allowed(host):
            try:
                for address in addresses:
                    self.policy.check_address(address, url=url, host=host)
            except (SandboxDenied, ToolError) as exc:
                raise Refused(str(exc)) from None
        problems = []
        for address in addresses:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    return await asyncio.open_connection(address, port, limit=MAX_HEAD)
            except (OSError, TimeoutError) as exc:
                problems.append(f"{address}: {exc or type(exc).__name__}")
        raise Unreachable(f"cannot connect to {host}:{port} ({'; '.join(problems)})")

    async def _relay(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
        *,
        close_response: bool = False,
    ) -> None:
        """Copy bytes both ways until either side closes. For a plain-HTTP request the
        response head is rewritten to `Connection: close`, so Chromium sends its next request
        on a new connection (which gets its own check)."""

        async def response() -> None:
            if close_response:
                head = await upstream_reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                kept = [
                    line
                    for line in lines[1:]
                    if line and line.split(":")[0].lower() != "connection"
                ]
                rewritten = "\r\n".join([lines[0], *kept, "Connection: close"]) + "\r\n\r\n"
                client_writer.write(rewritten.encode("latin-1"))
            await _pipe(upstream_reader, client_writer)

        pipes = {
            asyncio.ensure_future(_pipe(client_reader, upstream_writer)),
            asyncio.ensure_future(response()),
        }
        try:
            # either side closing ends the exchange: the answer is complete (the server
            # closes, as asked), or Chromium gave up on it
            _, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)  # reap errors too
        finally:
            for task in pipes:
                task.cancel()
            upstream_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while chunk := await reader.read(64 * 1024):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()


async def _respond(writer: asyncio.StreamWriter, status: int, reason: str, kind: str) -> None:
    body = reason.encode("utf-8")
    phrase = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    head = (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"{PROXY_HEADER}: {kind}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()
