"""The connection survives what Discord's gateway does to it: op 7 RECONNECT (RESUME), op 9
INVALID SESSION (a fresh IDENTIFY), a dropped socket mid-turn, an unreachable gateway (backoff),
and a refusal that retrying cannot fix (a clear state, the gateway still up)."""

from __future__ import annotations

import time

from openclaw_channel_discord.testing import FakeDiscord

USER = 42


def dm_texts(api: FakeDiscord) -> str:
    return "".join(api.texts(api.dm_channel(USER)))


async def back_up(api: FakeDiscord, gateway) -> None:
    channel = gateway.channels["discord"].channel
    await api.wait_for(lambda: api.connected() and channel.state == "running")


async def test_op7_reconnect_resumes_and_the_next_message_is_answered(
    start, discord_api, mock_model
):
    mock_model.enqueue("before").enqueue("after")
    gateway = await start()
    discord_api.user_sends(USER, content="one")
    await discord_api.wait_for(lambda: "before" in dm_texts(discord_api))
    await discord_api.wait_for(lambda: discord_api.sequence >= 4)  # READY, GUILD_CREATE, 2 messages
    session, sequence = discord_api.session_id, discord_api.sequence
    discord_api.reconnect()
    [resume] = await discord_api.wait_for(lambda: discord_api.resumes)
    assert resume == {"session_id": session, "seq": sequence, "token": discord_api.token}
    await back_up(discord_api, gateway)
    discord_api.user_sends(USER, content="two")
    await discord_api.wait_for(lambda: "after" in dm_texts(discord_api))
    assert len(discord_api.identifies) == 1 and discord_api.connections == 2


async def test_op9_invalid_session_identifies_afresh(start, discord_api, mock_model):
    mock_model.enqueue("answered on the new session")
    gateway = await start(identify_delay=0.3)
    first = discord_api.session_id
    invalidated = time.monotonic()
    discord_api.invalidate_session(resumable=False)
    await discord_api.wait_for(lambda: len(discord_api.identifies) == 2)
    assert time.monotonic() - invalidated >= 0.3  # Discord's pause before identifying again
    await back_up(discord_api, gateway)
    assert discord_api.session_id != first and discord_api.resumes == []
    discord_api.user_sends(USER, content="still there?")
    await discord_api.wait_for(lambda: "answered on the new session" in dm_texts(discord_api))


async def test_a_socket_dropped_mid_turn_loses_neither_reply_nor_session(
    start, discord_api, mock_model
):
    mock_model.enqueue("finished despite the drop", delay=0.5).enqueue("and the next one")
    gateway = await start()
    discord_api.user_sends(USER, content="first")
    await discord_api.wait_for(lambda: gateway.running_turns)
    discord_api.drop()
    await discord_api.wait_for(lambda: "round(s)" in dm_texts(discord_api))
    assert "finished despite the drop" in dm_texts(discord_api)
    await discord_api.wait_for(lambda: discord_api.resumes)
    await back_up(discord_api, gateway)
    discord_api.user_sends(USER, content="second")
    await discord_api.wait_for(lambda: "and the next one" in dm_texts(discord_api))
    key = f"dc:main:{USER}:{discord_api.dm_channel(USER)}"
    history = gateway.app.store.history(key)
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    assert len(discord_api.identifies) == 1  # resumed, not a new session
    assert len(mock_model.requests[1].messages) > len(mock_model.requests[0].messages)


async def test_replies_flow_while_the_gateway_is_down(start, discord_api, mock_model):
    mock_model.enqueue("streamed through the outage " * 8, delay=0.3, chunks=8)
    mock_model.enqueue("back on a new session")
    gateway = await start()
    discord_api.user_sends(USER, content="first")
    await discord_api.wait_for(lambda: gateway.running_turns)
    discord_api.refuse_gateway = 2  # the RESUME attempt and the next connect fail
    discord_api.drop()
    await discord_api.wait_for(lambda: "round(s)" in dm_texts(discord_api))
    assert "streamed through the outage" in dm_texts(discord_api)
    await back_up(discord_api, gateway)
    assert len(discord_api.identifies) == 2 and discord_api.refuse_gateway == 0
    discord_api.user_sends(USER, content="second")
    await discord_api.wait_for(lambda: "back on a new session" in dm_texts(discord_api))
    history = gateway.app.store.history(f"dc:main:{USER}:{discord_api.dm_channel(USER)}")
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]


async def test_an_unreachable_gateway_is_retried_with_backoff(
    start, state, discord_api, mock_model
):
    mock_model.enqueue("connected at last")
    discord_api.refuse_gateway = 3
    began = time.monotonic()
    gateway = await start(wait_running=False)
    seen: set[str] = set()

    def running() -> bool:
        seen.add(state(gateway))
        return state(gateway) == "running"

    await discord_api.wait_for(running)
    assert "reconnecting" in seen and discord_api.refuse_gateway == 0
    assert time.monotonic() - began >= 0.05 + 0.1 + 0.2  # three waits, each twice the last
    discord_api.user_sends(USER, content="hello")
    await discord_api.wait_for(lambda: "connected at last" in dm_texts(discord_api))


async def test_a_refused_intent_fails_clearly_and_health_says_degraded(
    start, state, discord_api, http_get
):
    discord_api.message_content_allowed = False
    gateway = await start(wait_running=False)
    await discord_api.wait_for(lambda: state(gateway).startswith("failed"))
    assert "Message Content Intent" in state(gateway)
    assert (await http_get(gateway, "/health")).startswith("degraded: discord (failed: ")


async def test_a_wrong_token_fails_clearly(start, state, discord_api):
    gateway = await start(wait_running=False, token="not-the-token")
    await discord_api.wait_for(lambda: state(gateway).startswith("failed"))
    assert "rejected the bot token (channels.discord.token)" in state(gateway)
    assert "not-the-token" not in state(gateway)
    assert discord_api.identifies == []


async def test_shutdown_mid_turn_drains(start, state, discord_api, mock_model):
    mock_model.enqueue("finished in time", delay=0.4)
    gateway = await start()
    discord_api.user_sends(USER, content="go")
    await discord_api.wait_for(lambda: gateway.running_turns)
    await gateway.stop()
    assert "finished in time" in dm_texts(discord_api)
    assert state(gateway) == "stopped"


async def test_a_message_delivered_again_after_a_resume_is_answered_once(
    start, discord_api, mock_model, http_get
):
    mock_model.enqueue("the one answer").enqueue("the next answer")
    gateway = await start()
    asked = discord_api.user_sends(USER, content="once please")
    await discord_api.wait_for(lambda: "the one answer" in dm_texts(discord_api))
    discord_api.reconnect()
    await discord_api.wait_for(lambda: discord_api.resumes)
    await back_up(discord_api, gateway)
    discord_api.resend(asked)  # replayed after the RESUME
    discord_api.user_sends(USER, content="next")
    await discord_api.wait_for(lambda: "the next answer" in dm_texts(discord_api))
    assert len(mock_model.requests) == 2
    assert sum("round(s)" in text for text in discord_api.texts(discord_api.dm_channel(USER))) == 2
    assert 'openclaw_inbound_duplicates_total{channel="dc"} 1.0' in await http_get(
        gateway, "/metrics"
    )


async def test_an_attachment_that_cannot_be_downloaded_gets_a_reply(start, discord_api, mock_model):
    await start()
    discord_api.fail("GET", "/attachments/", 404)  # the CDN lost the file
    discord_api.user_sends(USER, content="", attachments=[("a.png", b"\x89PNGdata", "image/png")])
    await discord_api.wait_for(lambda: dm_texts(discord_api))
    assert "could not download your attachment" in dm_texts(discord_api)
    assert mock_model.requests == []
