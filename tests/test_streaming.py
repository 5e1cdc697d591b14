"""The shared streaming reply and command replies, driven against an in-memory surface: from a
real App turn with the scripted model, and from hand-built event sequences with a fake clock."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from openclaw import hookimpl
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
from openclaw.gateway.chunking import split_message
from openclaw.gateway.streaming import StreamingReply, send_reply
from openclaw.messages import Usage
from openclaw.testing.servers import FakeOpenAIServer, Reply
from openclaw.tools import tool

BAD = "<<bad>>"  # the fake platform rejects markdown containing this


@dataclass
class Call:
    kind: str  # "send", "edit", "typing", "file"
    message_id: str = ""
    text: str = ""
    markdown: bool = False
    reply_to: str | None = None


@dataclass
class FakeSurface:
    """Records what a platform would show; can reject markup and fail a method a few times."""

    max_len: int = 4096
    max_caption_len: int = 1024
    failures: dict[str, int] = field(default_factory=dict)  # method → errors still to raise
    texts: dict[str, str] = field(default_factory=dict)  # message id → current text
    calls: list[Call] = field(default_factory=list)

    def _maybe_fail(self, method: str) -> None:
        if self.failures.get(method, 0) > 0:
            self.failures[method] -= 1
            raise ConnectionError(f"{method}: platform unavailable")

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str:
        self._maybe_fail("send_text")
        if markdown and BAD in text:
            raise MarkupRejected(text)
        assert text and len(text) <= self.max_len
        message_id = str(len(self.texts) + 1)
        self.texts[message_id] = text
        self.calls.append(Call("send", message_id, text, markdown, reply_to))
        return message_id

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None:
        self._maybe_fail("edit_text")
        if markdown and BAD in text:
            raise MarkupRejected(text)
        assert text != self.texts[message_id], "edited with identical text"
        assert text and len(text) <= self.max_len
        self.texts[message_id] = text
        self.calls.append(Call("edit", message_id, text, markdown))

    async def send_typing(self, chat_id: str) -> None:
        self.calls.append(Call("typing"))
        self._maybe_fail("send_typing")

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> None:
        self.calls.append(Call("file", filename, caption))

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None:
        self.calls.append(Call("voice", "", caption))

    def format_markdown(self, text: str) -> str:
        return text

    def of(self, kind: str) -> list[Call]:
        return [call for call in self.calls if call.kind == kind]

    def shown(self) -> list[str]:
        """The messages as the user sees them now, oldest first."""
        return list(self.texts.values())


class TimedSurface(FakeSurface):
    """A FakeSurface that also notes when each call came (monotonic seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.timed: list[tuple[float, Call]] = []

    async def send_text(self, chat_id: str, text: str, **options: Any) -> str:
        result = await super().send_text(chat_id, text, **options)
        self.timed.append((time.monotonic(), self.calls[-1]))
        return result

    async def edit_text(self, chat_id: str, message_id: str, text: str, **options: Any) -> None:
        await super().edit_text(chat_id, message_id, text, **options)
        self.timed.append((time.monotonic(), self.calls[-1]))


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def finished(model: str = "mock/test", **fields: Any) -> TurnFinished:
    return TurnFinished(elapsed_ms=12, rounds=1, usage=Usage(3, 4), model=model, **fields)


async def stream(
    events: Iterable[Event], clock: FakeClock | None = None, step: float = 0.0
) -> AsyncIterator[Event]:
    """Yield the events; with a clock, let the reply take each one before time moves on."""
    for event in events:
        yield event
        if clock is not None:
            await asyncio.sleep(0.002)
            clock.now += step


def test_surface_fits_the_protocol() -> None:
    assert isinstance(FakeSurface(), ChannelSurface)


# -- from a real turn -------------------------------------------------------------------------


class EchoTools:
    @hookimpl
    def register_tools(self, register: Any, context: Any) -> None:
        @tool
        def echo(text: str) -> str:
            """Repeat the text."""
            return f"echo: {text}"

        register(echo)


async def test_real_turn_streams_one_message_with_footer(
    openclaw_make_app, openclaw_mock_model
) -> None:
    answer = "Hello **world**, this answer arrives in several pieces."
    openclaw_mock_model.enqueue(answer, chunks=5)
    surface = FakeSurface()
    async with openclaw_make_app() as app:
        # an interval no turn outlasts here, even the process's first on a loaded machine
        reply = StreamingReply(surface, "42", reply_to="7", edit_interval=30)
        result = await reply.consume(app.run_turn("hi"))
    assert isinstance(result, TurnFinished)
    assert surface.shown() == [f"{answer}\n\n_{result.footer()}_"]
    first = surface.of("send")[0]
    assert first.reply_to == "7" and first.markdown
    # done within one edit interval: one message, no edit and no typing indicator
    assert len(surface.calls) == 1


async def test_real_turn_with_tools_shows_indicators_and_rounds(
    openclaw_make_app, openclaw_mock_model
) -> None:
    openclaw_mock_model.enqueue("Checking.", tool_calls=[("echo", {"text": "hi"}), ("nope", {})])
    openclaw_mock_model.enqueue("All done.")
    surface = FakeSurface()
    async with openclaw_make_app(plugins=[EchoTools()]) as app:
        reply = StreamingReply(surface, "42", edit_interval=0)
        result = await reply.consume(app.run_turn("use the tools"))
    assert isinstance(result, TurnFinished) and result.tools == 2
    (text,) = surface.shown()
    assert text.startswith("Checking.\n✅ echo\n❌ nope\n🔄 round 2\nAll done.\n\n_")
    assert any("⚙️ echo…" in call.text for call in surface.of("edit") + surface.of("send"))


# -- throttling -------------------------------------------------------------------------------


async def test_edits_are_throttled_by_new_characters() -> None:
    surface = FakeSurface()
    reply = StreamingReply(surface, "1", edit_chars=10, edit_interval=100, clock=FakeClock())
    events = [TextDelta(text="abc") for _ in range(10)]
    await reply.consume(stream([*events, finished()]))
    assert [len(call.text) for call in surface.calls if call.kind != "typing"][:2] == [12, 24]
    assert len(surface.of("send")) == 1 and len(surface.of("edit")) == 2
    assert surface.shown()[0].startswith("abc" * 10 + "\n\n_")


async def test_edits_are_throttled_by_time() -> None:
    clock = FakeClock()
    surface = FakeSurface()
    reply = StreamingReply(surface, "1", edit_chars=1000, edit_interval=0.4, clock=clock)
    events = [TextDelta(text=f"{n} ") for n in range(10)]
    await reply.consume(stream([*events, finished()], clock, step=0.25))
    texts = [call.text for call in surface.of("send") + surface.of("edit")]
    # sent once the first interval is over, then an edit every other delta (0.5 s apart),
    # then the final edit
    assert texts[:4] == ["0 1 2", "0 1 2 3 4", "0 1 2 3 4 5 6", "0 1 2 3 4 5 6 7 8"]
    assert len(texts) == 5


async def test_a_slow_model_still_shows_partial_text_at_the_edit_interval(
    openclaw_make_app,
) -> None:
    """A model streaming for about 1.5 s: the reply shows its text as it grows, one send and
    then edits at most one per 0.4 s interval, before the final edit with the footer."""
    answer = " ".join(f"word{n}" for n in range(15))
    with FakeOpenAIServer(delay=0.1) as server:
        server.enqueue(Reply(answer, chunks=15))
        config = {
            "agent": {"model": "srv/slow"},
            "providers": {"srv": {"type": "openai", "base_url": server.base_url, "api_key": "k"}},
        }
        surface = TimedSurface()
        async with openclaw_make_app(config) as app:
            result = await StreamingReply(surface, "1").consume(app.run_turn("hi"))
    assert isinstance(result, TurnFinished)
    shown = [(at, call) for at, call in surface.timed if call.kind in ("send", "edit")]
    assert [call.kind for _, call in shown][:3] == ["send", "edit", "edit"]
    partial = [call.text for _, call in shown[:-1]]
    assert all(answer.startswith(text) and text != answer for text in partial[:2])
    assert shown[-1][1].text.startswith(answer + "\n\n_")
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(shown[:-1])]
    assert all(gap >= 0.39 for gap in gaps)  # never faster than the 0.4 s throttle


async def test_a_quiet_stream_still_shows_pending_text() -> None:
    surface = FakeSurface()
    reply = StreamingReply(surface, "1", edit_interval=0.02)

    async def events() -> AsyncIterator[Event]:
        yield TextDelta(text="Thinking")
        yield TextDelta(text=" hard")
        await asyncio.sleep(0.15)
        yield finished()

    await reply.consume(events())
    assert surface.of("send")[0].text == "Thinking hard"  # before the final edit


async def test_identical_text_is_never_edited() -> None:
    surface = FakeSurface()  # asserts on an identical edit
    reply = StreamingReply(surface, "1", edit_interval=0)
    events = [TextDelta(text="same"), TextDelta(text=""), RoundStarted(round=1), finished()]
    await reply.consume(stream(events))
    assert len(surface.of("edit")) == 1


# -- indicators, footer, failure ------------------------------------------------------------


async def test_tool_indicators_rounds_and_fallback_notice() -> None:
    surface = FakeSurface()
    reply = StreamingReply(surface, "1", edit_interval=0)
    events = [
        ProviderFallback(
            failed="ollama/llama3", error="refused", next="local/tiny", last_resort=True
        ),
        TextDelta(text="Let me look."),
        ToolStarted(call_id="a", name="search"),
        ToolStarted(call_id="b", name="fetch"),
        ToolFinished(call_id="b", name="fetch", ok=False),
        ToolFinished(call_id="a", name="search", ok=True),
        RoundStarted(round=2),
        TextDelta(text="Found it."),
        finished(),
    ]
    await reply.consume(stream(events))
    edits = [call.text for call in surface.of("edit")]
    assert edits[2].endswith("Let me look.\n⚙️ search…\n⚙️ fetch…")
    assert edits[3].endswith("Let me look.\n⚙️ search…\n❌ fetch")
    (text,) = surface.shown()
    assert text.startswith("ℹ️ ollama/llama3 did not answer; a small offline model (local/tiny)")
    assert "Let me look.\n✅ search\n❌ fetch\n🔄 round 2\nFound it.\n\n_" in text
    assert "⚙️" not in text


async def test_footer_is_italic_and_keeps_underscored_model_names() -> None:
    surface = FakeSurface()
    event = finished(model="local/smol_lm_2")
    result = await StreamingReply(surface, "1").consume(stream([TextDelta(text="Hi."), event]))
    assert result is event
    assert surface.shown() == [f"Hi.\n\n_{event.footer()}_"]
    assert surface.shown()[0].endswith("local/smol_lm_2_")


async def test_max_rounds_note_is_shown() -> None:
    surface = FakeSurface()
    note = "[stopped: reached the limit of 3 tool rounds for one turn]"
    event = finished(text=f"partial\n\n{note}", stopped="max_rounds")
    await StreamingReply(surface, "1").consume(stream([TextDelta(text="partial"), event]))
    assert surface.shown()[0].startswith(f"partial\n{note}\n\n_")


async def test_failure_shows_an_error_line_and_returns_the_event() -> None:
    surface = FakeSurface()
    failure = TurnFailed(error="the model is unreachable")
    result = await StreamingReply(surface, "1").consume(
        stream([TextDelta(text="Partial answer"), failure])
    )
    assert result is failure
    assert surface.shown() == ["Partial answer\n⚠️ the model is unreachable"]


async def test_a_broken_event_stream_becomes_a_failure() -> None:
    surface = FakeSurface()

    async def events() -> AsyncIterator[Event]:
        yield TextDelta(text="Half")
        raise RuntimeError("connection lost")

    result = await StreamingReply(surface, "1").consume(events())
    assert isinstance(result, TurnFailed) and "connection lost" in result.error
    assert surface.shown() == ["Half\n⚠️ RuntimeError: connection lost"]


# -- chunking ---------------------------------------------------------------------------------


def paragraphs(total: int) -> str:
    words = (f"word{n}" for n in range(100_000))
    text = ""
    while len(text) < total:
        text += " ".join(next(words) for _ in range(40)) + "\n\n"
    return text[:total]


async def test_long_answer_is_chunked_into_messages() -> None:
    answer = paragraphs(4500)
    surface = FakeSurface(max_len=2000)
    reply = StreamingReply(surface, "1", reply_to="9")
    deltas = [TextDelta(text=answer[i : i + 50]) for i in range(0, len(answer), 50)]
    event = finished()
    await reply.consume(stream([*deltas, event]))
    shown = surface.shown()
    assert len(shown) == 3
    assert all(len(text) <= 2000 for text in shown)
    assert " ".join(shown).split() == [*answer.split(), *f"_{event.footer()}_".split()]
    assert [call.reply_to for call in surface.of("send")] == ["9", None, None]
    assert all(not text.endswith("word") for text in shown)  # never cut inside a word


def test_split_message_prefers_paragraphs_then_lines_then_words() -> None:
    assert split_message("aaaaaa\n\nbbbb cccc", 10) == ["aaaaaa", "bbbb cccc"]
    assert split_message("aaaa bbbb\ncccc", 10) == ["aaaa bbbb", "cccc"]
    assert split_message("aaaa bbbb cccc", 10) == ["aaaa bbbb", "cccc"]
    assert split_message("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_message("", 10) == []


def test_split_message_avoids_cutting_inline_code() -> None:
    chunks = split_message("some words `a b c d` tail", 16)
    assert chunks == ["some words", "`a b c d` tail"]


def test_split_message_closes_and_reopens_code_blocks() -> None:
    code = "\n".join(f"line {n}" for n in range(30))
    chunks = split_message(f"Intro.\n\n```\n{code}\n```\nAfter.", 80)
    assert all(len(chunk) <= 80 for chunk in chunks)
    assert all(chunk.count("```") % 2 == 0 for chunk in chunks)
    assert chunks[1].startswith("```\n")
    assert chunks[-1].endswith("After.")


# -- markdown fallback and platform errors -----------------------------------------------------


async def test_rejected_markup_falls_back_to_plain_text_for_the_rest() -> None:
    surface = FakeSurface()
    reply = StreamingReply(surface, "1", edit_interval=0)
    events = [TextDelta(text="Fine *so far*. "), TextDelta(text=f"Then {BAD} markup."), finished()]
    await reply.consume(stream(events))
    sends_and_edits = surface.of("send") + surface.of("edit")
    assert sends_and_edits[0].markdown
    assert not any(call.markdown for call in sends_and_edits[1:])
    footer = finished().footer()
    assert surface.shown() == [f"Fine *so far*. Then {BAD} markup.\n\n{footer}"]


async def test_a_failing_edit_is_retried_once() -> None:
    surface = FakeSurface(failures={"edit_text": 1})
    reply = StreamingReply(surface, "1", edit_interval=0)
    await reply.consume(stream([TextDelta(text="one "), TextDelta(text="two"), finished()]))
    assert surface.shown()[0].startswith("one two\n\n_")


async def test_edits_that_keep_failing_continue_in_a_new_message() -> None:
    surface = FakeSurface(failures={"edit_text": 2})
    reply = StreamingReply(surface, "1", edit_interval=0)
    await reply.consume(stream([TextDelta(text="one "), TextDelta(text="two"), finished()]))
    assert surface.shown()[0] == "one"
    assert surface.shown()[1].startswith("two\n\n_")


async def test_typing_is_refreshed_during_the_turn_and_stops_after() -> None:
    surface = FakeSurface(failures={"send_typing": 1})  # a failing refresh is only logged
    reply = StreamingReply(surface, "1", typing_delay=0, typing_interval=0.01)

    async def events() -> AsyncIterator[Event]:
        yield TextDelta(text="slow")
        await asyncio.sleep(0.08)
        yield finished()

    await reply.consume(events())
    count = len(surface.of("typing"))
    assert count >= 4
    await asyncio.sleep(0.03)
    assert len(surface.of("typing")) == count


# -- command replies ----------------------------------------------------------------------------


async def test_send_reply_chunks_text_and_sends_the_file() -> None:
    surface = FakeSurface(max_len=2000)
    await send_reply(surface, "1", CommandReply(paragraphs(3000), ("a.md", b"x")), reply_to="5")
    assert [call.kind for call in surface.calls] == ["send", "send", "file"]
    assert [call.reply_to for call in surface.of("send")] == ["5", None]


async def test_send_reply_sends_a_long_text_as_the_file_alone() -> None:
    surface = FakeSurface(max_len=500)
    text = "# Session tg:main:1:1\n\n" + paragraphs(5000)
    await send_reply(surface, "1", CommandReply(text, ("export.md", text.encode())))
    assert [(call.kind, call.message_id, call.text) for call in surface.calls] == [
        ("file", "export.md", "# Session tg:main:1:1")
    ]


async def test_a_voice_caption_longer_than_the_surface_allows_is_sent_as_text() -> None:
    surface = FakeSurface(max_caption_len=50)
    await send_reply(surface, "1", CommandReply("short answer", voice=b"OGG"))
    long = "a sentence of sixty characters, more than this surface takes"
    await send_reply(surface, "1", CommandReply(long, voice=b"OGG"))
    assert [call.text for call in surface.of("voice")] == ["short answer", ""]
    assert surface.shown() == [long]  # the caption that did not fit follows as a message


async def test_a_voice_caption_up_to_the_limit_is_kept() -> None:
    surface = FakeSurface(max_caption_len=50)
    await send_reply(surface, "1", CommandReply("x" * 50, voice=b"OGG"))
    assert [call.text for call in surface.of("voice")] == ["x" * 50] and not surface.shown()


async def test_a_file_caption_is_cut_to_the_surface_limit() -> None:
    surface = FakeSurface(max_len=500, max_caption_len=50)
    text = "# " + "a long first line of a long export " * 3 + "\n\n" + paragraphs(5000)
    await send_reply(surface, "1", CommandReply(text, ("export.md", text.encode())))
    [file] = surface.of("file")
    assert len(file.text) == 50 and file.text.endswith("…")


async def test_send_reply_plain_string_with_markup_fallback() -> None:
    surface = FakeSurface()
    await send_reply(surface, "1", f"pong {BAD}")
    assert surface.shown() == [f"pong {BAD}"] and not surface.of("send")[0].markdown
