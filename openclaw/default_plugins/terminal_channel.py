"""The terminal channel: the gateway's own stdin and stdout as a chat (enable
`channels.terminal` to talk to a running gateway from its console).

Transport only, like every channel: each line read (UTF-8; bytes that are not become U+FFFD)
is an `InboundMessage` from user `local` handed to the inbox; the reply surface writes to the
output. Editing a message writes what was added to it (the streamed answer grows on screen), or
the whole new text on a line of its own when it changed otherwise. (`openclaw chat` is the REPL
without a gateway: `openclaw.cli.chat`.)
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import Field

from openclaw.channels import ChannelType, InboundMessage
from openclaw.config import ChannelSettings
from openclaw.hookspecs import hookimpl

if TYPE_CHECKING:
    from openclaw.channels import Inbox
    from openclaw.services import Services

PREFIX = "cli"
USER = "local"


class TerminalSettings(ChannelSettings):
    """`channels.terminal`: the person at the gateway's console is user `local`, allowed by
    default."""

    allowed_user_ids: list[int | str] = Field(default_factory=lambda: [USER])  # type: ignore[arg-type]


class TerminalChannel:
    """Reads lines from `stdin` (a file descriptor, the process's stdin by default) and writes
    replies to `out`. `run` returns at `stop` or when the input ends."""

    name = "terminal"
    prefix = PREFIX
    max_len = 1_000_000
    max_caption_len = 1_000_000

    def __init__(
        self,
        services: Services,
        settings: ChannelSettings | None = None,
        *,
        stdin: int | None = None,
        out: TextIO | None = None,
    ) -> None:
        self.services = services
        self.settings = settings
        self.stdin = sys.stdin.fileno() if stdin is None else stdin
        self.out = out if out is not None else sys.stdout
        self.state = "starting"
        self._shown: dict[str, str] = {}  # message id -> the text on screen
        self._next_id = 0
        self._stopped = asyncio.Event()

    async def run(self, inbox: Inbox) -> None:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        pending = b""

        def readable() -> None:
            nonlocal pending
            try:
                chunk = os.read(self.stdin, 65536)
            except BlockingIOError:
                return
            if not chunk:  # the input ended: its last line may have no newline
                loop.remove_reader(self.stdin)
                if pending:
                    lines.put_nowait(pending.decode("utf-8", "replace"))
                lines.put_nowait(None)
                return
            pending += chunk
            # split on bytes, decode whole lines: a character cut between two reads survives,
            # and bytes that are not UTF-8 become U+FFFD instead of ending the channel
            *complete, pending = pending.split(b"\n")
            for line in complete:
                lines.put_nowait(line.decode("utf-8", "replace"))

        try:
            loop.add_reader(self.stdin, readable)
        except (OSError, ValueError) as exc:  # a regular file cannot be watched
            raise RuntimeError(f"the terminal channel cannot read its input: {exc}") from None
        self.state = "running"
        self._stopped.clear()
        try:
            while not self._stopped.is_set():
                line = await self._next(lines)
                if line is None:
                    break
                if line.strip():
                    message = InboundMessage(PREFIX, USER, "default", line.strip(), private=True)
                    await inbox.deliver(self, message)
        finally:
            loop.remove_reader(self.stdin)
            self.state = "stopped"
        if not self._stopped.is_set():  # the input ended: wait for the gateway to stop
            await self._stopped.wait()

    async def _next(self, lines: asyncio.Queue[str | None]) -> str | None:
        getter = asyncio.ensure_future(lines.get())
        stopper = asyncio.ensure_future(self._stopped.wait())
        done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (getter, stopper):
            task.cancel()
        return getter.result() if getter in done else None

    async def stop(self) -> None:
        self._stopped.set()

    # -- the reply surface ----------------------------------------------------------------------

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str:
        self._next_id += 1
        message_id = str(self._next_id)
        self._shown = {message_id: text}  # only the latest message can still grow
        self._write(f"\n{text}")
        return message_id

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None:
        shown = self._shown.get(message_id)
        if shown is not None and text.startswith(shown):
            self._write(text[len(shown) :])
        else:
            self._write(f"\n{text}")
        self._shown = {message_id: text}

    async def send_typing(self, chat_id: str) -> None:
        return None

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> None:
        note = f"{caption}\n" if caption else ""
        self._write(f"\n{note}[file {filename}: {len(data)} bytes, not shown here]\n")

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None:
        note = f"{caption}\n" if caption else ""
        self._write(f"\n{note}[a voice message: {len(ogg_opus)} bytes, not played here]\n")

    def format_markdown(self, text: str) -> str:
        return text


def create(services: Services, settings: Any) -> TerminalChannel:
    return TerminalChannel(services, settings)


@hookimpl
def register_channels(register: Any) -> None:
    register(
        ChannelType(
            "terminal",
            create=create,
            settings_model=TerminalSettings,
            description="the gateway's console (stdin and stdout) as a chat",
        )
    )
