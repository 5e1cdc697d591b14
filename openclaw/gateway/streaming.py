"""The streaming reply: one implementation, shared by every channel, that turns a turn's events
into messages on a `ChannelSurface` (throttled edits, tool and round indicators, the stats
footer, markdown with plain-text fallback, typing refresh), and `send_reply` for command
answers. Where a reply is cut into messages is `openclaw.gateway.chunking`.

The reply is kept as one append-only document; indicator lines that change later (a tool that
finishes, the footer's italics) sit in it as placeholders, so a message is just a stable range
of the document and finalised messages never move.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from openclaw.channels import ChannelSurface, MarkupRejected
from openclaw.commands import CommandReply
from openclaw.events import (
    Event,
    ProviderFallback,
    RoundStarted,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
)
from openclaw.gateway.chunking import (
    FENCE,
    LINE_CLOSE,
    LINE_OPEN,
    NO_PLACEHOLDERS,
    PLACEHOLDER,
    cut,
    fenced,
    split,
)
from openclaw.redaction import redact
from openclaw.retry import Delays, retry

log = logging.getLogger("openclaw.gateway.streaming")

T = TypeVar("T")

FILE_INSTEAD_OF_CHUNKS = 3
"""A command answer longer than this many messages is sent as its file alone, when it has one."""
CAPTION_CHARS = 200


async def _deliver(write: Callable[[bool], Awaitable[T]], markdown: bool) -> tuple[T, bool]:
    """Write with markdown when it is on; when the platform rejects the markup, write the same
    piece as plain text. Returns the result and whether markdown is still on."""
    if markdown:
        try:
            return await write(True), True
        except MarkupRejected:
            log.info("the platform rejected the markup; the rest of the reply is plain text")
    return await write(False), False


async def _twice(
    what: str, write: Callable[[bool], Awaitable[T]], markdown: bool
) -> tuple[T, bool] | Exception:
    """`_deliver`, retried once on any error (the surface already retried transient ones);
    the error when it still fails, so the caller carries on without that piece."""

    def report(exc: BaseException, _: float, __: int) -> None:
        log.warning("%s failed; retrying once", what, exc_info=exc)

    try:
        return await retry(
            lambda: _deliver(write, markdown),
            attempts=2,
            retry_on=Exception,
            delays=Delays(0),
            on_retry=report,
        )
    except Exception as exc:
        log.exception("%s failed again; carrying on", what)
        return exc


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass(slots=True)
class _Message:
    """One platform message: the document range it shows and what it shows now."""

    start: int
    end: int | None = None  # None while it is the message being written
    id: str | None = None
    shown: str = ""
    shown_end: int = 0  # how far into the document `shown` reaches
    dead: bool = False  # the platform kept failing on it: leave it as it is


class StreamingReply:
    """Shows one agent turn on a channel as it streams: one call to `consume` per turn."""

    def __init__(
        self,
        surface: ChannelSurface,
        chat_id: str,
        *,
        reply_to: str | None = None,
        edit_chars: int | None = None,
        edit_interval: float = 0.4,
        typing_delay: float = 1.0,
        typing_interval: float = 4.0,
        clock: Callable[[], float] = time.monotonic,
        on_first_message: Callable[[str], None] | None = None,
    ) -> None:
        self.surface = surface
        self.chat_id = chat_id
        self.on_first_message = on_first_message
        """Called with the platform id of the reply's first message once it is sent (the
        gateway keeps it, so an answer resent after a restart edits it instead of adding one)."""
        self.reply_to = reply_to
        self.edit_chars = edit_chars
        self.edit_interval = edit_interval
        self.typing_delay = typing_delay
        self.typing_interval = typing_interval
        self.clock = clock
        self.markdown = True  # off for the rest of the reply once the platform rejects markup
        self._messages: list[_Message] = [_Message(start=0)]
        self._doc = ""
        self._lines: list[str] = []  # placeholder texts, by index
        self._tools: dict[str, int] = {}  # call id → placeholder of its running indicator
        self._footer: int | None = None
        self._flushed_len = 0
        self._changed = False  # a placeholder changed since the last flush
        self._last_flush = clock()  # the reply's start, until the first flush

    async def consume(self, events: AsyncIterator[Event]) -> TurnFinished | TurnFailed:
        """Show the turn's events until its final event, and return that event. An event
        stream that breaks off is shown and returned as a failure."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        typing = asyncio.create_task(self._keep_typing())
        pump = asyncio.create_task(self._pump(events, queue))
        getter: asyncio.Future[Event | None] | None = None
        final: TurnFinished | TurnFailed | None = None
        try:
            while True:
                getter = getter or asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter}, timeout=self._flush_delay())
                if not done:  # quiet for a while with text not yet shown
                    await self._flush()
                    continue
                event, getter = getter.result(), None
                if event is None:
                    break
                final = self._apply(event) or final
                if self._flush_due():
                    await self._flush()
            if final is None:
                final = TurnFailed(error="the turn ended without a result")
                self._apply(final)
            await _stop(typing)
            await self._flush()
            return final
        finally:
            for task in (typing, pump, getter):
                if task is not None:
                    await _stop(task)

    # -- the document ----------------------------------------------------------------------

    def _apply(self, event: Event) -> TurnFinished | TurnFailed | None:
        """Add an event to the document; returns it when it ends the turn."""
        if isinstance(event, TextDelta):
            self._doc += event.text.translate(NO_PLACEHOLDERS)
        elif isinstance(event, RoundStarted) and event.round > 1:
            self._add_line(f"🔄 round {event.round}")
        elif isinstance(event, ToolStarted):
            self._tools[event.call_id] = self._add_line(f"⚙️ {event.name}…")
        elif isinstance(event, ToolFinished):
            done = f"{'✅' if event.ok else '❌'} {event.name}"
            index = self._tools.pop(event.call_id, None)
            if index is None:
                self._add_line(done)
            else:
                self._lines[index] = done
                self._changed = True
        elif isinstance(event, ProviderFallback) and event.last_resort:
            self._add_line(
                f"ℹ️ {event.failed} did not answer; a small offline model ({event.next}) "
                "is answering."
            )
        elif isinstance(event, TurnFinished):
            if event.stopped:
                self._add_line(event.text.rsplit("\n", 1)[-1])
            if self._doc.count(FENCE) % 2:
                self._doc += f"\n{FENCE}"
            self._footer = self._add_line(event.footer(), gap=True)
            return event
        elif isinstance(event, TurnFailed):
            self._add_line(f"⚠️ {redact(event.error)}")
            return event
        return None

    def _add_line(self, text: str, *, gap: bool = False) -> int:
        """Put an indicator on a line of its own (after a blank line with `gap`)."""
        self._lines.append(text)
        ending = "\n\n" if gap else "\n"
        if self._doc.strip() and not self._doc.endswith(ending):
            self._doc = self._doc.rstrip("\n") + ending
        self._doc += f"{LINE_OPEN}{len(self._lines) - 1}{LINE_CLOSE}\n"
        return len(self._lines) - 1

    def _render(self, raw: str, opened: bool, markdown: bool) -> str:
        """The text a message shows for a range of the document."""

        def line(match: re.Match[str]) -> str:
            index = int(match.group(1))
            text = self._lines[index]
            return f"_{text}_" if markdown and index == self._footer else text

        text = redact(PLACEHOLDER.sub(line, raw), shapes=False).strip()
        return fenced(text, opened) if text else ""

    def _display(self, message: _Message, markdown: bool) -> str:
        raw = self._doc[message.start : message.end]
        return self._render(raw, self._in_fence_at(message.start), markdown)

    def _in_fence_at(self, offset: int) -> bool:
        return self._doc.count(FENCE, 0, offset) % 2 == 1

    def _fits(self, text: str) -> bool:
        shown = self.surface.format_markdown(text) if self.markdown else text
        return len(shown) <= self.surface.max_len

    # -- showing it ----------------------------------------------------------------------

    def _dirty(self) -> bool:
        return self._changed or len(self._doc) != self._flushed_len

    def _flush_due(self) -> bool:
        """At most one send or edit per `edit_interval` (and, when set, one per `edit_chars`
        new characters). The first text waits for the interval too, so a reply that is done
        within it goes out as one message with no edit."""
        if not self._dirty():
            return False
        return (
            self.edit_chars is not None and len(self._doc) - self._flushed_len >= self.edit_chars
        ) or self.clock() - self._last_flush >= self.edit_interval

    def _flush_delay(self) -> float | None:
        """How long to wait for the next event before showing what is pending."""
        if not self._dirty():
            return None
        return max(0.0, self.edit_interval - (self.clock() - self._last_flush))

    async def _flush(self) -> None:
        """Bring every message up to date: finalise the current one where it outgrew the
        platform's limit, then send or edit each message whose text changed."""
        self._split_overflow()
        for message in list(self._messages):
            text = self._display(message, self.markdown)
            if message.dead or not text or text == message.shown:
                continue
            end = len(self._doc) if message.end is None else message.end
            if await self._show(message):
                message.shown_end = end
            elif message.end is not None:
                message.dead = True
            elif message.id is not None:  # edits keep failing: go on in a new message
                message.dead = True
                message.end = message.shown_end
                self._messages.append(_Message(start=message.shown_end))
        self._flushed_len = len(self._doc)
        self._changed = False
        self._last_flush = self.clock()

    def _piece_fits(self, opened: bool, raw: str) -> bool:
        return self._fits(self._render(raw, opened, self.markdown))

    def _split_overflow(self) -> None:
        current = self._messages[-1]
        while True:
            piece_fits = partial(self._piece_fits, self._in_fence_at(current.start))
            raw = self._doc[current.start :]
            if piece_fits(raw):
                return
            head, rest = cut(raw, piece_fits)
            current.end = current.start + head
            current = _Message(start=current.start + rest)
            self._messages.append(current)

    async def _show(self, message: _Message) -> bool:
        """Send or edit one message with its current text; False when the platform failed."""

        async def write(markdown: bool) -> str:
            text = self._display(message, markdown)
            if message.id is None:
                first = all(m.id is None for m in self._messages)
                message.id = await self.surface.send_text(
                    self.chat_id,
                    text,
                    markdown=markdown,
                    reply_to=self.reply_to if first else None,
                )
                if first and self.on_first_message is not None:
                    self.on_first_message(message.id)
            else:
                await self.surface.edit_text(self.chat_id, message.id, text, markdown=markdown)
            return text

        what = "sending the reply" if message.id is None else "editing the reply"
        result = await _twice(what, write, self.markdown)
        if isinstance(result, Exception):
            return False
        message.shown, self.markdown = result
        return True

    async def _keep_typing(self) -> None:
        """The typing indicator, only while the user has nothing to read: no text after
        `typing_delay`, or no new text for `typing_interval` (a tool is running). A quick reply
        costs no chat action at all."""
        await asyncio.sleep(self.typing_delay)
        while True:
            quiet = self.clock() - self._last_flush >= self.typing_interval
            if self._messages[0].id is None or quiet:
                try:
                    await self.surface.send_typing(self.chat_id)
                except Exception as exc:
                    log.warning("typing indicator failed: %s", exc)
            await asyncio.sleep(self.typing_interval)

    @staticmethod
    async def _pump(events: AsyncIterator[Event], queue: asyncio.Queue[Event | None]) -> None:
        """Read the events in a task of their own, so a quiet stream can still be flushed;
        closes the stream when stopped early (which stops the turn)."""
        try:
            async for event in events:
                queue.put_nowait(event)
        except Exception as exc:
            log.exception("the turn's event stream broke off")
            queue.put_nowait(TurnFailed(error=f"{type(exc).__name__}: {exc}"))
        finally:
            queue.put_nowait(None)
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()


async def keep_typing(
    surface: ChannelSurface, chat_id: str, interval: float = 4.0, delay: float = 0.0
) -> None:
    """Show the typing indicator after `delay` and refresh it every `interval` until cancelled
    (for a whole turn, or a command that takes a while). It is only a nicety, so failures are
    logged and the loop goes on."""
    await asyncio.sleep(delay)
    while True:
        try:
            await surface.send_typing(chat_id)
        except Exception as exc:
            log.warning("typing indicator failed: %s", exc)
        await asyncio.sleep(interval)


async def _stop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def send_reply(
    surface: ChannelSurface,
    chat_id: str,
    reply: CommandReply | str,
    *,
    reply_to: str | None = None,
) -> list[str]:
    """Send a command's answer: its voice message (the text as caption when it fits; else the
    text follows), or its text in as many messages as the platform needs (markdown,
    falling back to plain text), then its file. A text longer than a few messages that comes
    with a file is sent as the file alone, with its first line as the caption.

    A piece that fails (after one retry) is logged and the rest still sent; returns what
    failed, empty when everything arrived (a voice message replaced by its text counts as
    arrived), so a caller that must know (a cron delivery) can say so."""
    failed: list[str] = []
    if isinstance(reply, str):
        reply = CommandReply(reply)
    reply = dataclasses.replace(reply, text=redact(reply.text))
    if reply.voice is not None:
        caption = reply.text.strip()
        if len(caption) > surface.max_caption_len:
            caption = ""
        try:
            await surface.send_voice(chat_id, reply.voice, caption)
        except Exception:
            log.exception("sending a voice message failed; sending its text instead")
        else:
            if caption or not reply.text.strip():
                return failed
            reply_to = None  # the text follows the voice message it belongs to
    markdown = True

    def fits(chunk: str) -> bool:
        shown = surface.format_markdown(chunk) if markdown else chunk
        return len(shown) <= surface.max_len

    chunks = split(reply.text, fits)
    if reply.file is not None and len(chunks) > FILE_INSTEAD_OF_CHUNKS:
        chunks = []
        caption = reply.text.strip().split("\n", 1)[0]
        limit = min(CAPTION_CHARS, surface.max_caption_len)
        if len(caption) > limit:
            caption = caption[: limit - 1] + "…"
    else:
        caption = ""
    for chunk in chunks:

        async def write(md: bool, chunk: str = chunk, answering: str | None = reply_to) -> str:
            return await surface.send_text(chat_id, chunk, markdown=md, reply_to=answering)

        result = await _twice("sending a command reply", write, markdown)
        if isinstance(result, Exception):
            failed.append(describe_error(result))
        else:
            markdown = result[1]
            reply_to = None  # only the first message answers the user's
    if reply.file is not None:
        filename, data = reply.file
        try:
            await surface.send_file(chat_id, filename, data, caption)
        except Exception as exc:
            log.exception("sending the file %s failed", filename)
            failed.append(f"the file {filename}: {describe_error(exc)}")
    return failed
