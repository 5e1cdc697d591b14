"""The kernel's commands as Discord slash commands: registered at connect, and an invocation
answered through its interaction by the same command implementation."""

from __future__ import annotations

USER = 42


async def registered(api) -> list[dict]:
    return await api.wait_for(lambda: api.application_commands)


async def test_the_kernels_commands_are_registered(start, openclaw_discord_api):
    gateway = await start()
    commands = await registered(openclaw_discord_api)
    assert sorted(c["name"] for c in commands) == sorted(gateway.app.registry.command_map())
    ping = next(c for c in commands if c["name"] == "ping")
    assert ping["description"] == "check that the assistant is there"
    assert ping["options"] == [{"name": "args", "description": "arguments", "type": 3}]
    model = next(c for c in commands if c["name"] == "model")
    assert model["options"][0]["description"] == "[ref]"  # the command's usage


async def test_a_slash_command_is_answered_through_its_interaction(
    start, openclaw_discord_api, openclaw_mock_model
):
    await start()
    await registered(openclaw_discord_api)
    dm = openclaw_discord_api.dm_channel(USER)
    interaction = openclaw_discord_api.user_runs_command(USER, dm, "ping")
    await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.texts(dm) == ["pong"])
    [answer] = openclaw_discord_api.messages(dm)
    assert answer.interaction_id == interaction
    assert [c["type"] for c in openclaw_discord_api.interaction_callbacks] == [
        5
    ]  # deferred at once
    assert openclaw_mock_model.requests == []


async def test_a_slash_command_with_arguments_in_a_server(
    start, openclaw_discord_api, openclaw_mock_model
):
    gateway = await start()
    await registered(openclaw_discord_api)
    channel = openclaw_discord_api.guild_channel_id
    openclaw_discord_api.user_runs_command(USER, channel, "model", args="mock/other")
    [text] = await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.texts(channel))
    assert "mock/other" in text
    key = f"dc:main:{USER}:{channel}"
    assert gateway.app.store.session(key).model == "mock/other"


async def test_a_strangers_slash_command_leaves_nothing_behind(
    start, openclaw_discord_api, openclaw_mock_model
):
    await start()
    await registered(openclaw_discord_api)
    dm = openclaw_discord_api.dm_channel(99)
    openclaw_discord_api.user_runs_command(99, dm, "ping")
    await openclaw_discord_api.wait_for(lambda: openclaw_discord_api.interaction_callbacks)
    await openclaw_discord_api.wait_for(
        lambda: any(
            r.method == "DELETE" and "@original" in r.path for r in openclaw_discord_api.requests
        )
    )
    assert openclaw_discord_api.messages(dm) == []


async def test_registration_can_be_switched_off(start, openclaw_discord_api, openclaw_mock_model):
    openclaw_mock_model.enqueue("typed commands still work")
    await start(application_commands=False)
    openclaw_discord_api.user_sends(USER, content="hello")
    await openclaw_discord_api.wait_for(
        lambda: openclaw_discord_api.texts(openclaw_discord_api.dm_channel(USER))
    )
    assert openclaw_discord_api.application_commands == []
    assert not any("/applications/" in r.path for r in openclaw_discord_api.requests)
