"""The channel's transport with the real aiogram client against the fake Bot API."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref

import pytest
from aiogram.exceptions import TelegramBadRequest

from openclaw.channel_support import IMAGE_PROMPT
from openclaw.channels import Channel, ChannelSurface, MarkupRejected

FOOTER = "_1ms · 1 round(s) · 0 tool(s) · 12 tokens · local/smol_lm_2_"


async def test_channel_satisfies_the_kernel_protocols(make_channel):
    channel = make_channel()
    assert isinstance(channel, Channel) and isinstance(channel, ChannelSurface)
    assert (channel.name, channel.prefix, channel.max_len) == ("telegram", "tg", 4096)


async def test_text_message_reaches_the_gateway(
    make_channel, gateway, running, openclaw_telegram_api
):
    channel = make_channel()
    async with running(channel, gateway):
        openclaw_telegram_api.user_sends(42, 42, "hello")
        openclaw_telegram_api.user_sends(7, -100, "in a group")
        await openclaw_telegram_api.wait_for(lambda: len(gateway.received) == 2)
    first, second = gateway.received
    assert (first.channel, first.user_id, first.chat_id, first.text) == ("tg", "42", "42", "hello")
    assert first.session_key("main") == "tg:main:42:42"
    assert second.session_key("main") == "tg:main:7:-100"
    assert first.raw.text == "hello"
    assert channel.state == "stopped"


async def test_updates_are_confirmed_and_not_redelivered(
    make_channel, gateway, running, openclaw_telegram_api
):
    async with running(make_channel(), gateway):
        openclaw_telegram_api.user_sends(42, 42, "once")
        await openclaw_telegram_api.wait_for(lambda: gateway.received)
        await openclaw_telegram_api.wait_for(lambda: openclaw_telegram_api.pending_updates() == 0)
        await asyncio.sleep(0.1)
    assert [m.text for m in gateway.received] == ["once"]


async def test_a_slow_turn_does_not_block_other_messages(
    make_channel, gateway, running, openclaw_telegram_api
):
    gateway.hold = asyncio.Event()
    async with running(make_channel(), gateway):
        openclaw_telegram_api.user_sends(1, 1, "slow")
        openclaw_telegram_api.user_sends(2, 2, "fast")
        await openclaw_telegram_api.wait_for(lambda: len(gateway.received) == 2)
        gateway.hold.set()


async def test_group_command_mentioning_the_bot_is_a_plain_command(
    make_channel, gateway, running, openclaw_telegram_api
):
    async with running(make_channel(), gateway):
        openclaw_telegram_api.user_sends(7, -100, "/model@openclaw_test_bot openai/gpt-4o")
        await openclaw_telegram_api.wait_for(lambda: gateway.received)
    assert gateway.received[0].text == "/model openai/gpt-4o"


async def test_photo_downloads_the_largest_size(
    make_channel, gateway, running, openclaw_telegram_api
):
    png = b"\x89PNG\r\n\x1a\nfull-size"
    async with running(make_channel(), gateway):
        openclaw_telegram_api.user_sends_photo(42, 42, png, caption="what breed?")
        openclaw_telegram_api.user_sends_photo(42, 42)
        await openclaw_telegram_api.wait_for(lambda: len(gateway.received) == 2)
    captioned, bare = gateway.received
    [image] = captioned.attachments
    assert (image.kind, image.data, image.mime_type) == ("image", png, "image/png")
    assert captioned.text == "what breed?"
    assert bare.text == IMAGE_PROMPT
    assert bare.attachments[0].mime_type == "image/jpeg"
    assert bare.attachments[0].data.endswith(b"fake-jpeg")  # not the thumbnail
    content = captioned.content()
    assert isinstance(content, list) and content[1].mime_type == "image/png"


async def test_voice_note_becomes_an_audio_attachment(
    make_channel, gateway, running, openclaw_telegram_api
):
    async with running(make_channel(), gateway):
        openclaw_telegram_api.user_sends_voice(42, 42, b"OggS voice bytes")
        await openclaw_telegram_api.wait_for(lambda: gateway.received)
    [audio] = gateway.received[0].attachments
    assert (audio.kind, audio.data, audio.mime_type) == ("audio", b"OggS voice bytes", "audio/ogg")


async def test_image_document_is_an_image_other_documents_are_files(
    make_channel, gateway, running, openclaw_telegram_api
):
    async with running(make_channel(), gateway):
        openclaw_telegram_api.user_sends_document(42, 42, b"GIF89a", "cat.gif", "image/gif")
        openclaw_telegram_api.user_sends_document(
            42, 42, b"%PDF", "a.pdf", "application/pdf", "read it"
        )
        await openclaw_telegram_api.wait_for(lambda: len(gateway.received) == 2)
    image, pdf = gateway.received
    assert (image.attachments[0].kind, image.text) == ("image", IMAGE_PROMPT)
    assert (pdf.attachments[0].kind, pdf.attachments[0].filename, pdf.text) == (
        "file",
        "a.pdf",
        "read it",
    )


async def test_the_response_models_aiogram_parses_with_outlive_a_collection(
    make_channel, openclaw_telegram_api
):
    """pydantic caches `Response[Message]` weakly: if nothing holds it, every answer rebuilds
    the class (milliseconds of CPU per Bot API call)."""
    from aiogram.client.session.base import Response
    from aiogram.methods import EditMessageText, SendChatAction, SendMessage

    channel = make_channel()
    assert channel.bot is not None  # the bot is made: the models a reply uses are built
    for method in (SendMessage, EditMessageText, SendChatAction):
        built = weakref.ref(Response[method.__returning__])
        gc.collect()
        assert built() is not None, method.__name__
    message_id = await channel.send_text("42", "Hello")
    await channel.edit_text("42", message_id, "Hello, world")
    gc.collect()
    for method in (SendMessage, EditMessageText):
        model = weakref.ref(Response[method.__returning__])
        gc.collect()
        assert model() is not None, method.__name__
    await channel.stop()


async def test_surface_calls_reach_the_bot_api(make_channel, openclaw_telegram_api):
    channel = make_channel()
    message_id = await channel.send_text("42", "Hello", reply_to="5")
    await channel.edit_text("42", message_id, "Hello, world")
    await channel.send_typing("42")
    await channel.send_file("42", "export.md", b"# chat", caption="your export")
    await channel.send_voice("42", b"OggS reply", caption="spoken")
    await channel.stop()
    text, document, voice = openclaw_telegram_api.messages(42)
    assert str(text.message_id) == message_id
    assert (text.text, text.edits, text.reply_to, text.parse_mode) == (
        "Hello, world",
        ["Hello, world"],
        5,
        None,
    )
    assert openclaw_telegram_api.actions(42) == ["typing"]
    assert (document.kind, document.filename, document.data, document.caption) == (
        "document",
        "export.md",
        b"# chat",
        "your export",
    )
    assert (voice.kind, voice.data, voice.caption) == ("voice", b"OggS reply", "spoken")


async def test_markdown_footer_is_escaped_for_markdown_v2(make_channel, openclaw_telegram_api):
    channel = make_channel()
    text = f"The answer is **42**. See `a_b`!\n\n{FOOTER}"
    message_id = await channel.send_text("42", text, markdown=True)
    await channel.edit_text("42", message_id, text + " ", markdown=True)
    [sent] = openclaw_telegram_api.messages(42)
    assert sent.parse_mode == "MarkdownV2"
    assert sent.raw_text.endswith(
        "_1ms · 1 round\\(s\\) · 0 tool\\(s\\) · 12 tokens · local/smol\\_lm\\_2_ "
    )
    assert sent.text == (
        "The answer is 42. See a_b!\n\n1ms · 1 round(s) · 0 tool(s) · 12 tokens · local/smol_lm_2 "
    )
    await channel.stop()


async def test_rejected_markup_raises_markup_rejected(make_channel, openclaw_telegram_api):
    channel = make_channel()
    openclaw_telegram_api.fail("sendMessage", 400)
    with pytest.raises(MarkupRejected):
        await channel.send_text("42", "*x*", markdown=True)
    message_id = await channel.send_text("42", "plain")
    openclaw_telegram_api.fail("editMessageText", 400)
    with pytest.raises(MarkupRejected):
        await channel.edit_text("42", message_id, "*y*", markdown=True)
    openclaw_telegram_api.fail("sendMessage", 400)
    with pytest.raises(TelegramBadRequest):  # plain text: a real error, not a markup problem
        await channel.send_text("42", "x")
    await channel.stop()


async def test_unmodified_edit_is_ignored(make_channel, openclaw_telegram_api):
    channel = make_channel()
    message_id = await channel.send_text("42", "same")
    await channel.edit_text("42", message_id, "same")
    assert openclaw_telegram_api.calls_to("editMessageText")[0].status == 400
    assert openclaw_telegram_api.texts(42) == ["same"]
    await channel.stop()


async def test_429_waits_retry_after_then_sends(make_channel, openclaw_telegram_api):
    channel = make_channel()
    openclaw_telegram_api.fail("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    await channel.send_text("42", "hi")
    assert time.monotonic() - started >= 1
    assert [c.status for c in openclaw_telegram_api.calls_to("sendMessage")] == [429, 200]
    assert openclaw_telegram_api.texts(42) == ["hi"]
    await channel.stop()


async def test_server_errors_and_dropped_connections_are_retried(
    make_channel, openclaw_telegram_api
):
    channel = make_channel()
    openclaw_telegram_api.fail("sendMessage", 502)
    openclaw_telegram_api.disconnect("sendMessage")
    openclaw_telegram_api.fail("sendMessage", 500)
    await channel.send_text("42", "survives")
    assert [c.status for c in openclaw_telegram_api.calls_to("sendMessage")] == [502, 0, 500, 200]
    assert openclaw_telegram_api.texts(42) == ["survives"]
    await channel.stop()


async def test_retries_give_up_eventually(make_channel, openclaw_telegram_api):
    from aiogram.exceptions import TelegramServerError

    channel = make_channel(retries=2)
    openclaw_telegram_api.fail("sendMessage", 500, times=3)
    with pytest.raises(TelegramServerError):
        await channel.send_text("42", "lost")
    assert len(openclaw_telegram_api.calls_to("sendMessage")) == 3
    await channel.stop()


async def test_4096_characters_is_the_limit(make_channel, openclaw_telegram_api):
    channel = make_channel()
    await channel.send_text("42", "x" * channel.max_len)
    # The limit counts what the user sees, so escaping does not eat into it.
    await channel.send_text("42", "." * channel.max_len, markdown=True)
    with pytest.raises(TelegramBadRequest, match="too long"):
        await channel.send_text("42", "x" * (channel.max_len + 1))
    assert [len(t) for t in openclaw_telegram_api.texts(42)] == [4096, 4096]
    await channel.stop()


async def test_a_photo_download_survives_a_server_error(
    make_channel, gateway, running, openclaw_telegram_api
):
    async with running(make_channel(), gateway):
        openclaw_telegram_api.fail("getFile", 502)
        openclaw_telegram_api.user_sends_photo(42, 42, b"\xff\xd8 big")
        await openclaw_telegram_api.wait_for(lambda: gateway.received)
    assert gateway.received[0].attachments[0].data == b"\xff\xd8 big"


async def test_wrong_token_fails_run_with_a_clear_state(make_channel, gateway):
    from aiogram.exceptions import TelegramUnauthorizedError

    channel = make_channel(token="999:wrong-token")
    with pytest.raises(TelegramUnauthorizedError):
        await channel.run(gateway)
    assert channel.state.startswith("failed: ")
    await channel.stop()
