"""The helpers chat-app channels share: recognising images and audio by their bytes, the
required secret, and handing messages to the gateway so that stopping waits for them."""

from __future__ import annotations

import asyncio
import logging

import pytest

from openclaw.channel_support import InboundHandlers, required_secret
from openclaw.channels import InboundMessage
from openclaw.config import ConfigError, Secret
from openclaw.mime import audio_mime, image_mime


@pytest.mark.parametrize(
    ("sniff", "data", "mime"),
    [
        (image_mime, b"\x89PNG\r\n\x1a\n....", "image/png"),
        (image_mime, b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (image_mime, b"GIF89a....", "image/gif"),
        (image_mime, b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (image_mime, b"%PDF-1.7", None),
        (image_mime, b"OggS\x00\x02", None),
        (audio_mime, b"OggS\x00\x02....", "audio/ogg"),
        (audio_mime, b"ID3\x04\x00", "audio/mpeg"),
        (audio_mime, b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        (audio_mime, b"\x00\x00\x00\x20ftypM4A \x00", "audio/mp4"),
        (audio_mime, b"fLaC\x00", "audio/flac"),
        (audio_mime, b"RIFF\x00\x00\x00\x00WEBPVP8 ", None),
        (audio_mime, b"hello", None),
    ],
)
def test_what_was_sent_is_recognised_by_its_bytes(sniff, data, mime):
    assert sniff(data) == mime


def test_a_required_secret_names_the_setting_never_the_value(monkeypatch):
    monkeypatch.delenv("SOME_BOT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"channels\.x\.token is not set \(hint\)"):
        required_secret(None, "channels.x.token", "hint")
    with pytest.raises(ConfigError, match="environment variable SOME_BOT_TOKEN is not set"):
        required_secret(Secret(env="SOME_BOT_TOKEN"), "channels.x.token", "hint")
    monkeypatch.setenv("SOME_BOT_TOKEN", "s3cret")
    assert required_secret(Secret(env="SOME_BOT_TOKEN"), "channels.x.token", "hint") == "s3cret"


class SlowInbox:
    def __init__(self) -> None:
        self.handled: list[str] = []

    async def deliver(self, channel, message: InboundMessage) -> None:
        await asyncio.sleep(0.2)
        self.handled.append(message.text)


async def test_drain_waits_for_messages_being_handled():
    handlers = InboundHandlers("test")
    inbox = SlowInbox()

    async def inbound() -> InboundMessage:
        return InboundMessage("t", "1", "1", "hello")

    task = asyncio.create_task(handlers.handle(None, inbox, inbound))
    await asyncio.sleep(0.01)
    await handlers.drain(5)
    assert inbox.handled == ["hello"] and task.done()


async def test_a_failing_message_is_logged_not_raised(caplog):
    handlers = InboundHandlers("test")

    async def broken() -> InboundMessage:
        raise ValueError("unparseable update")

    with caplog.at_level(logging.ERROR):
        await handlers.handle(None, SlowInbox(), broken)
    assert "test: handling a message failed" in caplog.text


async def test_tracked_tasks_are_drained():
    handlers = InboundHandlers("test")
    done: list[int] = []

    async def work() -> None:
        await asyncio.sleep(0.1)
        done.append(1)

    handlers.track(asyncio.create_task(work()))
    await handlers.drain(5)
    assert done == [1]
