"""The issue's acceptance, end to end: the real Gateway and the real disnake client against the
fake Discord (REST and gateway websocket), answering from the scripted model or a local
OpenAI-compatible server."""

from __future__ import annotations

import base64
import json

import pytest

from openclaw.channel_support import IMAGE_PROMPT
from openclaw.gateway import VOICE_REPLY
from openclaw.testing.servers import PLANTED_API_KEY, FakeOpenAIServer, Reply

USER, OTHER_USER = 42, 43
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRpixels"


def openai_config(server: FakeOpenAIServer, model: str = "srv/fake_model_v1") -> dict:
    return {
        "agent": {"model": model},
        "providers": {
            "srv": {"type": "openai", "base_url": server.base_url, "api_key": PLANTED_API_KEY}
        },
    }


async def test_a_dm_gets_a_streamed_threaded_reply_with_footer(start, openclaw_discord_api):
    answer = "Hello from the agent. " * 12
    dm = openclaw_discord_api.dm_channel(USER)
    with FakeOpenAIServer(delay=0.05) as server:
        server.enqueue(Reply(answer, chunks=12))
        gateway = await start(openai_config(server))
        asked = openclaw_discord_api.user_sends(USER, content="hi")
        await openclaw_discord_api.wait_for(
            lambda: "round(s)" in "".join(openclaw_discord_api.texts(dm))
        )
    [reply] = openclaw_discord_api.messages(dm)
    assert reply.content.startswith(answer.strip())
    # the footer in italics, the underscores of the model name escaped so the italics hold
    assert reply.content.rstrip().endswith("srv/fake\\_model\\_v1_")
    assert len(reply.edits) >= 2, "the reply was streamed by editing one message"
    assert reply.reply_to == asked
    history = gateway.app.store.history(f"dc:main:{USER}:{dm}")
    assert [m.role for m in history] == ["user", "assistant"]


async def test_a_guild_mention_gets_a_streamed_reply(
    start, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("A reply in the server, long enough to be streamed in pieces. " * 4)
    gateway = await start()
    channel = openclaw_discord_api.guild_channel_id
    openclaw_discord_api.user_sends(USER, channel, "what's up?", mention_bot=True)
    await openclaw_discord_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_discord_api.texts(channel))
    )
    [reply] = openclaw_discord_api.messages(channel)
    assert reply.reply_to is not None
    assert not reply.edits  # answered within one edit interval: sent once, whole
    assert (
        openclaw_mock_model.requests[0].messages[-1].content == "what's up?"
    )  # the mention stripped
    assert gateway.app.store.history(f"dc:main:{USER}:{channel}")


async def test_guild_messages_not_for_the_bot_are_ignored(
    start, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("only this one").enqueue("and this reply")
    await start()
    channel = openclaw_discord_api.guild_channel_id
    openclaw_discord_api.user_sends(USER, channel, "talking to someone else")
    openclaw_discord_api.user_sends(USER, channel, "!play some music")  # another bot's command
    openclaw_discord_api.user_sends(USER, channel, "now you", mention_bot=True)
    [answer] = await openclaw_discord_api.wait_for(
        lambda: [m for m in openclaw_discord_api.messages(channel) if "round(s)" in m.content]
    )
    openclaw_discord_api.user_sends(USER, channel, "replying to the bot", reply_to=answer.id)
    await openclaw_discord_api.wait_for(
        lambda: "and this reply" in "".join(openclaw_discord_api.texts(channel))
    )
    sent = [request.messages[-1].content for request in openclaw_mock_model.requests]
    assert sent == ["now you", "replying to the bot"]  # not its own messages either


@pytest.mark.parametrize("prefix", ["/", "!"])
async def test_every_shared_command_answers(
    start, openclaw_discord_api, openclaw_mock_model, prefix
):
    gateway = await start()
    names = sorted(gateway.app.registry.command_map())
    assert {"help", "new", "ping", "status"} <= set(names)
    channel = openclaw_discord_api.guild_channel_id  # in a server, commands need no mention
    for count, name in enumerate(names, start=1):
        openclaw_discord_api.user_sends(USER, channel, f"{prefix}{name}")
        await openclaw_discord_api.wait_for(
            lambda count=count: len(openclaw_discord_api.messages(channel)) >= count
        )
    texts = openclaw_discord_api.texts(channel)
    assert len(texts) == len(names)
    assert "pong" in texts[names.index("ping")]
    assert "/new" in texts[names.index("help")]
    assert openclaw_mock_model.requests == []


async def test_a_4500_char_answer_arrives_as_3_messages(
    start, openclaw_discord_api, openclaw_mock_model
):
    words = [f"w{i:04d}" for i in range(750)]  # 750 × 6 = 4500 characters
    openclaw_mock_model.enqueue(" ".join(words) + " ", chunks=10)
    await start()
    dm = openclaw_discord_api.dm_channel(USER)
    openclaw_discord_api.user_sends(USER, content="a long one please")
    await openclaw_discord_api.wait_for(
        lambda: "round(s)" in "".join(openclaw_discord_api.texts(dm))
    )
    texts = openclaw_discord_api.texts(dm)
    assert len(texts) == 3
    assert all(len(text) <= 2000 for text in texts)
    assert " ".join(texts).split()[: len(words)] == words


async def test_an_image_reaches_the_model_as_an_image_part(start, openclaw_discord_api):
    dm = openclaw_discord_api.dm_channel(USER)
    with FakeOpenAIServer() as server:
        server.enqueue("A cat.")
        await start(openai_config(server, "srv/vision"))
        # the sender's client calls it a JPEG; the bytes say PNG
        openclaw_discord_api.user_sends(USER, attachments=[("photo.jpg", PNG, "image/jpeg")])
        await openclaw_discord_api.wait_for(
            lambda: "A cat." in "".join(openclaw_discord_api.texts(dm))
        )
    content = server.requests[0]["messages"][-1]["content"]
    text = next(part for part in content if part["type"] == "text")
    image = next(part for part in content if part["type"] == "image_url")
    assert text["text"] == IMAGE_PROMPT
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(PNG).decode()


async def test_an_audio_attachment_goes_to_speech_to_text(
    start, openclaw_discord_api, openclaw_mock_model
):
    await start()
    dm = openclaw_discord_api.dm_channel(USER)
    openclaw_discord_api.user_sends(
        USER, attachments=[("voice-message.ogg", b"OggS\x00voice", None)]
    )
    [text] = await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.texts(dm))
    assert text == VOICE_REPLY  # no speech-to-text plugin here: the kernel says so
    assert openclaw_mock_model.requests == []


async def test_an_unlisted_user_gets_nothing(start, openclaw_discord_api, openclaw_mock_model):
    await start()
    openclaw_discord_api.user_sends(99, content="hello?")
    openclaw_discord_api.user_sends(USER, content="/ping")
    await openclaw_discord_api.wait_for(
        lambda: openclaw_discord_api.texts(openclaw_discord_api.dm_channel(USER))
    )
    assert openclaw_discord_api.messages(openclaw_discord_api.dm_channel(99)) == []
    assert openclaw_mock_model.requests == []


async def test_a_429_from_discord_is_waited_out(start, openclaw_discord_api, openclaw_mock_model):
    openclaw_mock_model.enqueue("worth the wait")
    await start()
    dm = openclaw_discord_api.dm_channel(USER)
    openclaw_discord_api.fail("POST", f"/channels/{dm}/messages", 429, retry_after=0.2)
    openclaw_discord_api.user_sends(USER, content="hi")
    await openclaw_discord_api.wait_for(
        lambda: "worth the wait" in "".join(openclaw_discord_api.texts(dm))
    )
    posts = [
        r.status
        for r in openclaw_discord_api.requests
        if r.method == "POST" and "/messages" in r.path
    ]
    assert posts[:2] == [429, 200]


async def test_a_5xx_from_discord_is_retried(start, openclaw_discord_api, openclaw_mock_model):
    openclaw_mock_model.enqueue("second try")
    await start()
    dm = openclaw_discord_api.dm_channel(USER)
    openclaw_discord_api.fail("POST", f"/channels/{dm}/messages", 503)
    openclaw_discord_api.user_sends(USER, content="hi")
    await openclaw_discord_api.wait_for(
        lambda: "second try" in "".join(openclaw_discord_api.texts(dm))
    )
    posts = [
        r.status
        for r in openclaw_discord_api.requests
        if r.method == "POST" and "/messages" in r.path
    ]
    assert posts[:2] == [503, 200]


async def test_status_and_metrics_show_the_connection_state(
    start, openclaw_discord_api, openclaw_mock_model, http_get
):
    from prometheus_client.parser import text_string_to_metric_families

    gateway = await start()
    openclaw_discord_api.user_sends(OTHER_USER, content="/ping")
    await openclaw_discord_api.wait_for(
        lambda: openclaw_discord_api.texts(openclaw_discord_api.dm_channel(OTHER_USER))
    )
    status = await http_get(gateway, "/status")
    assert openclaw_discord_api.token not in status
    assert json.loads(status)["channels"]["discord"]["state"] == "running"
    metrics = await http_get(gateway, "/metrics")
    samples = [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
    ]
    assert ("openclaw_requests_total", {"channel": "dc"}, 1.0) in samples
    running = {"channel": "discord", "state": "running"}
    assert ("openclaw_channel_state", running, 1.0) in samples


async def test_files_and_voice_replies_are_uploads(start, openclaw_discord_api):
    gateway = await start()
    channel = gateway.channels["discord"].channel
    dm = str(openclaw_discord_api.dm_channel(USER))
    await channel.send_file(dm, "export.md", b"# the conversation", "your export")
    await channel.send_voice(dm, b"OggS spoken reply")
    export, voice = openclaw_discord_api.messages(int(dm))
    assert (export.content, export.files) == ("your export", [("export.md", b"# the conversation")])
    assert voice.files == [("voice.ogg", b"OggS spoken reply")]


async def test_a_strangers_attachments_are_never_downloaded(
    start, openclaw_discord_api, openclaw_mock_model
):
    await start(pairing=True)
    stranger = 99
    openclaw_discord_api.user_sends(stranger, attachments=[("photo.png", PNG, "image/png")])
    invited = await openclaw_discord_api.wait_for(
        lambda: openclaw_discord_api.texts(openclaw_discord_api.dm_channel(stranger))
    )
    assert "openclaw pairing approve" in invited[0]
    assert openclaw_discord_api.downloads == [] and openclaw_mock_model.requests == []
    openclaw_mock_model.enqueue("A picture.")
    openclaw_discord_api.user_sends(USER, attachments=[("photo.png", PNG, "image/png")])
    await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.downloads)


async def test_an_attachment_over_the_cap_is_not_read_and_the_user_is_told(
    start, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("That file is too large for me.")
    await start(max_attachment_mb=0.001)  # about 1 KB
    dm = openclaw_discord_api.dm_channel(USER)
    openclaw_discord_api.user_sends(USER, attachments=[("report.pdf", b"%PDF" + b"x" * 4096, None)])
    await openclaw_discord_api.wait_for(
        lambda: "too large for me" in "".join(openclaw_discord_api.texts(dm))
    )
    asked = openclaw_mock_model.requests[0].messages[-1]
    assert "report.pdf" in asked.text and "not read" in asked.text
    assert "0.001 MB" in asked.text  # the limit, so the answer can say what fits
