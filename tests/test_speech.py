"""The kernel's speech support: which provider is picked (configured, else the best usable
preset), voice notes transcribed in the gateway, and voice replies in `send_reply`. The speech
providers here are tiny in-process ones; the real backends are tested in openclaw-voice."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from openclaw import hookimpl
from openclaw.channels import Attachment, ChannelType, InboundMessage
from openclaw.commands import CommandReply
from openclaw.config import ProviderSettings
from openclaw.gateway import VOICE_REPLY, Gateway
from openclaw.gateway.streaming import send_reply
from openclaw.providers import ProviderError, ProviderType
from openclaw.speech import (
    NoSpeechProvider,
    SpeechUnavailable,
    candidates,
    pick,
    pick_tts,
    preferred,
    transcribe,
)
from openclaw.testing.gateway import running_gateway


class WordsSettings(ProviderSettings):
    type: str = "words"
    words: str = "hello"
    missing: str | None = None  # what check() reports as missing
    fails: str | None = None  # what transcribe() fails with


class Words:
    """Speech-to-text that "hears" its configured words."""

    def __init__(self, name: str, settings: WordsSettings) -> None:
        self.name = name
        self.settings = settings

    async def check(self) -> str:
        if self.settings.missing:
            raise ProviderError(self.name, f"{self.settings.missing} not found")
        return "words ready"

    async def transcribe(self, audio: bytes, mime_type: str) -> str:
        if self.settings.fails:
            raise ProviderError(self.name, self.settings.fails)
        return f" {self.settings.words} "


class Mute:
    """A provider of kind tts that cannot speak (no `synthesize`)."""

    def __init__(self, name: str, settings: Any) -> None:
        self.name = name


class SpeechKit:
    """Two stt types with presets, best first (`deaf` lacks its model), and a tts type."""

    @hookimpl
    def register_providers(self, register: Any) -> None:
        deaf = {"missing": "the deaf model"}
        for name, preset in (("deaf", deaf), ("words", {}), ("echo", {"words": "echo"})):
            register(
                ProviderType(
                    name,
                    create=Words,
                    kind="stt",
                    settings_model=WordsSettings,
                    presets={name: preset},
                )
            )
        register(ProviderType("mute", create=Mute, kind="tts", presets={"mute": {}}))


async def names_usable(app: Any, kind: str) -> list[tuple[str, bool, str | None]]:
    return [(c.name, c.configured, c.problem) for c in await candidates(app.models, kind)]


async def test_without_a_speech_plugin_there_is_no_provider(openclaw_make_app):
    async with openclaw_make_app() as app:
        with pytest.raises(NoSpeechProvider, match="no speech-to-text provider is installed"):
            await transcribe(app.models, b"audio", "audio/ogg")


async def test_the_first_usable_preset_is_used(openclaw_make_app):
    async with openclaw_make_app(plugins=[SpeechKit()]) as app:
        found = await names_usable(app, "stt")
        assert found == [
            ("deaf", False, "the deaf model not found"),
            ("words", False, None),
            ("echo", False, None),
        ]
        assert await transcribe(app.models, b"audio", "audio/ogg") == "hello"
        assert preferred(await candidates(app.models, "stt")).name == "words"


async def test_configured_entries_win_in_config_order_and_chat_entries_are_ignored(
    openclaw_make_app,
):
    providers = {
        "ollama": {},
        "srv": {"type": "openai", "base_url": "http://127.0.0.1:9/v1"},
        "broken": {"type": "words", "missing": "the big model"},
        "mine": {"type": "words", "words": "from my config"},
        "echo": {},
    }
    async with openclaw_make_app(config={"providers": providers}, plugins=[SpeechKit()]) as app:
        found = await names_usable(app, "stt")
        assert [(n, c) for n, c, _ in found] == [
            ("broken", True),
            ("mine", True),
            ("echo", True),
            ("deaf", False),
            ("words", False),
        ]
        assert await transcribe(app.models, b"audio", "audio/ogg") == "from my config"


async def test_a_configured_provider_that_cannot_work_is_not_passed_over(openclaw_make_app):
    providers = {"big": {"type": "words", "missing": "/models/big"}}
    async with openclaw_make_app(config={"providers": providers}, plugins=[SpeechKit()]) as app:
        with pytest.raises(SpeechUnavailable) as raised:
            await transcribe(app.models, b"audio", "audio/ogg")
        assert str(raised.value) == (
            "no speech-to-text provider is usable (big: /models/big not found)"
        )


async def test_a_named_provider(openclaw_make_app):
    async with openclaw_make_app(plugins=[SpeechKit()]) as app:
        assert (await pick(app.models, "stt", "echo")).name == "echo"
        with pytest.raises(SpeechUnavailable, match="'deaf' cannot be used: the deaf model"):
            await pick(app.models, "stt", "deaf")
        with pytest.raises(SpeechUnavailable, match="unknown provider 'nope'"):
            await pick(app.models, "stt", "nope")
        with pytest.raises(SpeechUnavailable, match="'mute' cannot speak"):
            await pick_tts(app.models)


class MemoryChannel:
    """A channel in memory: records what it is asked to show."""

    max_len = 4096
    max_caption_len = 1024

    def __init__(self) -> None:
        self.name, self.prefix, self.state = "memory", "mem", "starting"
        self.sent: list[tuple[str, str, bytes | None]] = []  # (kind, text, voice)
        self.fail_voice = False
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()

    async def run(self, gateway: Any) -> None:
        self.state = "running"
        await self._stop.wait()

    async def stop(self) -> None:
        self._stop.set()

    async def send_text(
        self, chat_id: str, text: str, *, markdown: bool = False, reply_to: str | None = None
    ) -> str:
        self.sent.append(("text", text, None))
        return str(next(self._ids))

    async def edit_text(
        self, chat_id: str, message_id: str, text: str, *, markdown: bool = False
    ) -> None:
        self.sent[int(message_id) - 1] = ("text", text, None)

    async def send_typing(self, chat_id: str) -> None:
        pass

    async def send_file(self, chat_id: str, filename: str, data: bytes, caption: str = "") -> None:
        self.sent.append(("file", caption, data))

    async def send_voice(self, chat_id: str, ogg_opus: bytes, caption: str = "") -> None:
        if self.fail_voice:
            raise ConnectionError("upload failed")
        self.sent.append(("voice", caption, ogg_opus))
        next(self._ids)

    def format_markdown(self, text: str) -> str:
        return text


class MemoryChannels:
    def __init__(self) -> None:
        self.channel = MemoryChannel()

    @hookimpl
    def register_channels(self, register: Any) -> None:
        register(ChannelType("memory", create=lambda app, settings: self.channel))


@pytest.fixture
def voice_note(openclaw_make_app):
    """Run a gateway with the memory channel, send it one voice note, return what was shown."""

    async def send(config: dict[str, Any], plugins: list[Any]) -> list[str]:
        channels = MemoryChannels()
        base = {"channels": {"memory": {"enabled": True, "allowed_user_ids": [42]}}}
        app = openclaw_make_app(
            config={**base, "limits": {"debounce_ms": 0}, **config}, plugins=[channels, *plugins]
        )
        audio = Attachment("audio", b"OggS...", "audio/ogg")
        async with running_gateway(Gateway(app, port=0)) as gateway:
            note = InboundMessage("mem", "42", "42", "", [audio], "m1")
            await gateway.deliver(channels.channel, note)
        return [text for _, text, _ in channels.channel.sent]

    return send


async def test_a_voice_note_is_shown_transcribed_then_answered(voice_note, openclaw_mock_model):
    openclaw_mock_model.enqueue("Hi there.")
    shown = await voice_note({}, [SpeechKit()])
    assert shown[0] == "🎤 hello"
    assert shown[1].startswith("Hi there.")
    assert openclaw_mock_model.requests[0].messages[-1].content == "hello"


@pytest.mark.parametrize(
    ("providers", "plugins", "reply"),
    [
        ({}, [], VOICE_REPLY),
        (
            {"big": {"type": "words", "missing": "/m/big"}},
            [SpeechKit()],
            "⚠️ Voice input is not available: no speech-to-text provider is usable "
            "(big: /m/big not found). `openclaw doctor` says more.",
        ),
        (
            {"w": {"type": "words", "fails": "the audio is damaged"}},
            [SpeechKit()],
            "⚠️ I could not transcribe your voice message: the audio is damaged",
        ),
        (
            {"w": {"type": "words", "words": ""}},
            [SpeechKit()],
            "🎤 I could not make out any words in your voice message.",
        ),
    ],
    ids=["no-plugin", "unusable", "fails", "silence"],
)
async def test_a_voice_note_that_cannot_be_heard_gets_one_clear_reply(
    voice_note, openclaw_mock_model, providers, plugins, reply
):
    assert await voice_note({"providers": providers}, plugins) == [reply]
    assert openclaw_mock_model.requests == []


@pytest.mark.parametrize(
    ("text", "fail", "expected"),
    [
        ("Short answer.", False, [("voice", "Short answer.", b"OGG")]),
        ("x" * 2000, False, [("voice", "", b"OGG"), ("text", "x" * 2000, None)]),
        ("Short answer.", True, [("text", "Short answer.", None)]),
    ],
    ids=["caption", "too-long-for-a-caption", "upload-fails"],
)
async def test_send_reply_sends_the_voice_with_its_text(text, fail, expected):
    channel = MemoryChannel()
    channel.fail_voice = fail
    await send_reply(channel, "42", CommandReply(text, voice=b"OGG"))
    assert channel.sent == expected


def test_protocols_are_checkable():
    from openclaw.providers import SpeechToText, TextToSpeech

    assert isinstance(Words("w", WordsSettings()), SpeechToText)
    assert not isinstance(Mute("m", None), TextToSpeech)
