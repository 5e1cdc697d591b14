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
    start, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("before").enqueue("after")
    gateway = await start()
    openclaw_discord_api.user_sends(USER, content="one")
    await openclaw_discord_api.wait_for(lambda: "before" in dm_texts(openclaw_discord_api))
    await openclaw_discord_api.wait_for(
        lambda: openclaw_discord_api.sequence >= 4
    )  # READY, GUILD_CREATE, 2 messages
    session, sequence = openclaw_discord_api.session_id, openclaw_discord_api.sequence
    openclaw_discord_api.reconnect()
    [resume] = await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.resumes)
    assert resume == {"session_id": session, "seq": sequence, "token": openclaw_discord_api.token}
    await back_up(openclaw_discord_api, gateway)
    openclaw_discord_api.user_sends(USER, content="two")
    await openclaw_discord_api.wait_for(lambda: "after" in dm_texts(openclaw_discord_api))
    assert len(openclaw_discord_api.identifies) == 1 and openclaw_discord_api.connections == 2


async def test_op9_invalid_session_identifies_afresh(
    start, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("answered on the new session")
    gateway = await start(identify_delay=0.3)
    first = openclaw_discord_api.session_id
    invalidated = time.monotonic()
    openclaw_discord_api.invalidate_session(resumable=False)
    await openclaw_discord_api.wait_for(lambda: len(openclaw_discord_api.identifies) == 2)
    assert time.monotonic() - invalidated >= 0.3  # Discord's pause before identifying again
    await back_up(openclaw_discord_api, gateway)
    assert openclaw_discord_api.session_id != first and openclaw_discord_api.resumes == []
    openclaw_discord_api.user_sends(USER, content="still there?")
    await openclaw_discord_api.wait_for(
        lambda: "answered on the new session" in dm_texts(openclaw_discord_api)
    )


async def test_a_socket_dropped_mid_turn_loses_neither_reply_nor_session(
    start, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("finished despite the drop", delay=0.5).enqueue("and the next one")
    gateway = await start()
    openclaw_discord_api.user_sends(USER, content="first")
    await openclaw_discord_api.wait_for(lambda: gateway.running_turns)
    openclaw_discord_api.drop()
    await openclaw_discord_api.wait_for(lambda: "round(s)" in dm_texts(openclaw_discord_api))
    assert "finished despite the drop" in dm_texts(openclaw_discord_api)
    await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.resumes)
    await back_up(openclaw_discord_api, gateway)
    openclaw_discord_api.user_sends(USER, content="second")
    await openclaw_discord_api.wait_for(
        lambda: "and the next one" in dm_texts(openclaw_discord_api)
    )
    key = f"dc:main:{USER}:{openclaw_discord_api.dm_channel(USER)}"
    history = gateway.app.store.history(key)
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]
    assert len(openclaw_discord_api.identifies) == 1  # resumed, not a new session
    assert len(openclaw_mock_model.requests[1].messages) > len(
        openclaw_mock_model.requests[0].messages
    )


async def test_replies_flow_while_the_gateway_is_down(
    start, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("streamed through the outage " * 8, delay=0.3, chunks=8)
    openclaw_mock_model.enqueue("back on a new session")
    gateway = await start()
    openclaw_discord_api.user_sends(USER, content="first")
    await openclaw_discord_api.wait_for(lambda: gateway.running_turns)
    openclaw_discord_api.refuse_gateway = 2  # the RESUME attempt and the next connect fail
    openclaw_discord_api.drop()
    await openclaw_discord_api.wait_for(lambda: "round(s)" in dm_texts(openclaw_discord_api))
    assert "streamed through the outage" in dm_texts(openclaw_discord_api)
    await back_up(openclaw_discord_api, gateway)
    assert len(openclaw_discord_api.identifies) == 2 and openclaw_discord_api.refuse_gateway == 0
    openclaw_discord_api.user_sends(USER, content="second")
    await openclaw_discord_api.wait_for(
        lambda: "back on a new session" in dm_texts(openclaw_discord_api)
    )
    history = gateway.app.store.history(f"dc:main:{USER}:{openclaw_discord_api.dm_channel(USER)}")
    assert [m.role for m in history] == ["user", "assistant", "user", "assistant"]


async def test_an_unreachable_gateway_is_retried_with_backoff(
    start, state, openclaw_discord_api, openclaw_mock_model
):
    openclaw_mock_model.enqueue("connected at last")
    openclaw_discord_api.refuse_gateway = 3
    began = time.monotonic()
    gateway = await start(wait_running=False)
    seen: set[str] = set()

    def running() -> bool:
        seen.add(state(gateway))
        return state(gateway) == "running"

    await openclaw_discord_api.wait_for(running)
    assert "reconnecting" in seen and openclaw_discord_api.refuse_gateway == 0
    assert time.monotonic() - began >= 0.05 + 0.1 + 0.2  # three waits, each twice the last
    openclaw_discord_api.user_sends(USER, content="hello")
    await openclaw_discord_api.wait_for(
        lambda: "connected at last" in dm_texts(openclaw_discord_api)
    )


async def test_a_refused_intent_fails_clearly_and_health_says_degraded(
    start, state, openclaw_discord_api, http_get
):
    openclaw_discord_api.message_content_allowed = False
    gateway = await start(wait_running=False)
    await openclaw_discord_api.wait_for(lambda: state(gateway).startswith("failed"))
    assert "Message Content Intent" in state(gateway)
    assert (await http_get(gateway, "/health")).startswith("degraded: discord (failed: ")


async def test_a_wrong_token_fails_clearly(start, state, openclaw_discord_api):
    gateway = await start(wait_running=False, token="not-the-token")
    await openclaw_discord_api.wait_for(lambda: state(gateway).startswith("failed"))
    assert "rejected the bot token (channels.discord.token)" in state(gateway)
    assert "not-the-token" not in state(gateway)
    assert openclaw_discord_api.identifies == []


async def test_shutdown_mid_turn_drains(start, state, openclaw_discord_api, openclaw_mock_model):
    openclaw_mock_model.enqueue("finished in time", delay=0.4)
    gateway = await start()
    openclaw_discord_api.user_sends(USER, content="go")
    await openclaw_discord_api.wait_for(lambda: gateway.running_turns)
    await gateway.stop()
    assert "finished in time" in dm_texts(openclaw_discord_api)
    assert state(gateway) == "stopped"


async def test_a_message_delivered_again_after_a_resume_is_answered_once(
    start, openclaw_discord_api, openclaw_mock_model, http_get
):
    openclaw_mock_model.enqueue("the one answer").enqueue("the next answer")
    gateway = await start()
    asked = openclaw_discord_api.user_sends(USER, content="once please")
    await openclaw_discord_api.wait_for(lambda: "the one answer" in dm_texts(openclaw_discord_api))
    openclaw_discord_api.reconnect()
    await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.resumes)
    await back_up(openclaw_discord_api, gateway)
    openclaw_discord_api.resend(asked)  # replayed after the RESUME
    openclaw_discord_api.user_sends(USER, content="next")
    await openclaw_discord_api.wait_for(lambda: "the next answer" in dm_texts(openclaw_discord_api))
    assert len(openclaw_mock_model.requests) == 2
    assert (
        sum(
            "round(s)" in text
            for text in openclaw_discord_api.texts(openclaw_discord_api.dm_channel(USER))
        )
        == 2
    )
    assert 'openclaw_inbound_duplicates_total{channel="dc"} 1.0' in await http_get(
        gateway, "/metrics"
    )


async def test_an_attachment_that_cannot_be_downloaded_gets_a_reply(
    start, openclaw_discord_api, openclaw_mock_model
):
    await start()
    openclaw_discord_api.fail("GET", "/attachments/", 404)  # the CDN lost the file
    openclaw_discord_api.user_sends(
        USER, content="", attachments=[("a.png", b"\x89PNGdata", "image/png")]
    )
    await openclaw_discord_api.wait_for(lambda: dm_texts(openclaw_discord_api))
    assert "could not download your attachment" in dm_texts(openclaw_discord_api)
    assert openclaw_mock_model.requests == []
