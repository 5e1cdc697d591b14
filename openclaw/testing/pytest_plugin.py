"""pytest fixtures for openclaw and its plugin authors (loaded automatically once
openclaw-kernel is installed): a temporary home, a scripted model, a recording sink, an App
factory, a running Gateway, and local OpenAI-compatible and Anthropic servers. The fake Telegram
Bot API and Discord come with their channel plugins (`openclaw_channel_telegram.testing`,
`openclaw_channel_discord.testing`), each registering its own fixtures.

    async def test_my_tool(openclaw_make_app, openclaw_mock_model):
        openclaw_mock_model.enqueue(tool_calls=[("my_tool", {"x": 1})]).enqueue("done")
        async with openclaw_make_app(plugins=[my_plugin]) as app:
            result = await app.ask("use it")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from openclaw.testing.gateway import openclaw_start_gateway
from openclaw.testing.mock_provider import MockModel
from openclaw.testing.recording_sink import RecordingSink
from openclaw.testing.secret_scan import OutputScan, scanning
from openclaw.testing.server_fixtures import openclaw_anthropic_server, openclaw_openai_server

__all__ = [
    "openclaw_anthropic_server",
    "openclaw_call_tools",
    "openclaw_home",
    "openclaw_make_app",
    "openclaw_mock_model",
    "openclaw_no_secret_in_outputs",
    "openclaw_openai_server",
    "openclaw_recording_sink",
    "openclaw_start_gateway",
]


@pytest.fixture(autouse=True)
def openclaw_no_secret_in_outputs() -> Iterator[OutputScan]:
    """Fail a test whose gateways showed a token, key or URL password it configured (in the
    log, `/status`, `/metrics`, a gateway process's stderr or a message sent to the fake Bot
    API); see `openclaw.testing.secret_scan`."""
    yield from scanning()


@pytest.fixture
def openclaw_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty `$OPENCLAW_HOME` for the test, with plugin env variables cleared."""
    home = tmp_path / "openclaw-home"
    home.mkdir()
    monkeypatch.setenv("OPENCLAW_HOME", str(home))
    for name in (
        "OPENCLAW_MODEL",
        "OPENCLAW_LOAD_PLUGINS",
        "OPENCLAW_DISABLE_PLUGINS",
        "OPENCLAW_PLUGINS_DIR",
        "OPENCLAW_TRACE_PLUGINS",
        "OPENCLAW_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def openclaw_mock_model() -> MockModel:
    """A scripted chat model; use the model ref `mock/<anything>`."""
    return MockModel()


@pytest.fixture
def openclaw_recording_sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def openclaw_make_app(
    openclaw_home: Path, openclaw_mock_model: MockModel, openclaw_recording_sink: RecordingSink
) -> Callable[..., Any]:
    """Build an App in the temporary home answering from `openclaw_mock_model` and recording events.

    `config` is merged over `{"agent": {"model": "mock/test"}}` and written to the home's
    openclaw.json; `plugins` are extra plugin objects; installed entry-point plugins are left
    out unless `entry_points=True`.
    """
    from openclaw.app import App
    from openclaw.config import load_config

    def build(
        config: dict[str, Any] | None = None,
        plugins: list[object] = (),  # type: ignore[assignment]
        entry_points: bool = False,
    ) -> App:
        data: dict[str, Any] = {"agent": {"model": "mock/test"}}
        for section, value in (config or {}).items():
            if isinstance(value, dict) and isinstance(data.get(section), dict):
                data[section] = {**data[section], **value}
            else:
                data[section] = value
        (openclaw_home / "openclaw.json").write_text(json.dumps(data))
        return App(
            load_config(),
            plugins=[openclaw_mock_model.plugin(), openclaw_recording_sink.plugin(), *plugins],
            entry_points=entry_points,
        )

    return build


@pytest.fixture
def openclaw_call_tools(
    openclaw_make_app: Callable[..., Any], openclaw_mock_model: MockModel
) -> Callable[..., Any]:
    """Run one turn in which the model calls the given tools in parallel, and return the tool
    results it got back: `results = await openclaw_call_tools(("read_file", {"path": "a.txt"}))`.
    Installed plugins are loaded (`entry_points=True`) unless told otherwise."""

    async def call(
        *calls: tuple[str, dict[str, Any]],
        config: dict[str, Any] | None = None,
        entry_points: bool = True,
    ) -> list[Any]:
        openclaw_mock_model.enqueue(tool_calls=list(calls)).enqueue("done")
        async with openclaw_make_app(config=config, entry_points=entry_points) as app:
            await app.ask("go")
        return openclaw_mock_model.tool_results()

    return call
