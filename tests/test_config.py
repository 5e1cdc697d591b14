"""Config loading: defaults, clear errors, secrets, comments, overrides, plugin sections."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from openclaw.config import ConfigError, load_config


def write(home, data) -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    (home / "openclaw.json").write_text(text)


def test_defaults_without_a_file(openclaw_home):
    config = load_config()
    assert config.source is None
    agent = config.agent
    assert (agent.name, agent.max_rounds, agent.turn_timeout) == ("main", 20, 120)
    assert (agent.history_tokens, agent.tool_output_chars) == (12000, 32000)
    assert config.workspace == openclaw_home / "workspace"
    assert config.sessions_db == openclaw_home / "sessions.db"
    assert config.gateway.port == 3100 and config.limits.rate_per_minute == 10


def test_bad_field_names_file_path_and_expectation(openclaw_home):
    write(openclaw_home, {"agent": {"max_rounds": "many"}, "limits": {"rate_per_minute": 0}})
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert str(openclaw_home / "openclaw.json") in message
    assert "agent.max_rounds: Input should be a valid integer" in message and '"many"' in message
    assert "limits.rate_per_minute: Input should be greater than or equal to 1" in message


def test_typo_in_a_kernel_section_is_an_error(openclaw_home):
    write(openclaw_home, {"agent": {"modle": "x/y"}})
    with pytest.raises(ConfigError, match=r"agent\.modle: Extra inputs are not permitted"):
        load_config()


def test_bad_json_names_line_and_column(openclaw_home):
    write(openclaw_home, '{\n  "agent": {"name": "x",,}\n}')  # not JSON5 either
    with pytest.raises(ConfigError, match=r"openclaw\.json: not valid JSON: .* line 2, column"):
        load_config()


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.json")


def test_env_secrets_comments_and_masking(openclaw_home, monkeypatch):
    write(
        openclaw_home,
        """// my config
        {
          "providers": {
            "moonshot": {"type": "openai", "base_url": "https://api.moonshot.ai/v1", // yes
                         "api_key": {"$env": "MY_MOONSHOT_KEY"}},
            "literal": {"type": "openai", "api_key": "sk-literal-secret-value"}
          },
          "channels": {"telegram": {"token": "123456:ABCDEFsecret", "enabled": true}}
        }""",
    )
    monkeypatch.setenv("MY_MOONSHOT_KEY", "sk-from-env")
    from openclaw.app import App

    config = load_config()
    app = App(config, entry_points=False)
    settings = app.models.settings("moonshot")[1]
    assert settings.api_key.get() == "sk-from-env"
    assert app.models.settings("literal")[1].api_key.get() == "sk-literal-secret-value"
    shown = json.dumps(config.public_dict())
    assert "sk-literal-secret-value" not in shown and "ABCDEFsecret" not in shown
    assert "MY_MOONSHOT_KEY" in shown
    assert config.public_dict()["channels"]["telegram"]["enabled"] is True
    assert "sk-from-env" not in json.dumps(app.status())


def test_masking_rule():
    from openclaw.config import is_secret_name

    secret = ["api_key", "apiKey", "token", "bot_token", "client_secret", "password"]
    plain = ["api_key_env", "tokens", "history_tokens", "max_tokens", "keyboard", "base_url"]
    assert all(is_secret_name(name) for name in secret)
    assert not any(is_secret_name(name) for name in plain)


def test_bad_secret_shape_is_reported(openclaw_home):
    write(openclaw_home, {"providers": {"x": {"type": "openai", "api_key": {"env": "K"}}}})
    from openclaw.app import App

    app = App(load_config(), entry_points=False)
    with pytest.raises(ConfigError, match=r"providers\.x\.api_key: Value error, expected a string"):
        app.models.settings("x")


def test_openclaw_model_env_overrides(openclaw_home, monkeypatch):
    write(openclaw_home, {"agent": {"model": "ollama/a"}})
    monkeypatch.setenv("OPENCLAW_MODEL", "openai/gpt-4o-mini")
    assert load_config().agent.model == "openai/gpt-4o-mini"


def test_relative_workspace_is_relative_to_the_file(tmp_path):
    file = tmp_path / "conf" / "c.json"
    file.parent.mkdir()
    file.write_text(json.dumps({"agent": {"workspace": "ws"}}))
    assert load_config(file).workspace == file.parent / "ws"


def test_plugin_section_validated_by_the_plugins_model(openclaw_home):
    class VoiceSettings(BaseModel):
        voice: str = "en_US"
        speed: float = 1.0

    write(openclaw_home, {"voice": {"speed": "fast"}})
    config = load_config()
    with pytest.raises(ConfigError, match=r"voice\.speed: Input should be a valid number"):
        config.section("voice", VoiceSettings)
    write(openclaw_home, {"voice": {"speed": 1.5}})
    assert load_config().section("voice", VoiceSettings).speed == 1.5
    assert load_config().section("absent", VoiceSettings).voice == "en_US"


async def test_app_environ_is_where_secrets_and_key_variables_are_read(openclaw_home, monkeypatch):
    """`App(environ=...)` replaces `os.environ` for `$VAR` secrets and for a provider's key
    variable: an embedding app can hand each App its own keys."""
    from openclaw.app import App
    from openclaw.config import load_config
    from openclaw.testing.servers import FakeOpenAIServer

    monkeypatch.delenv("EMBEDDED_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-process-wide")
    with FakeOpenAIServer() as server:
        server.enqueue("from my own key")
        server.enqueue("from the preset variable")
        providers = {
            "mine": {
                "type": "openai",
                "base_url": server.base_url,
                "api_key": {"$env": "EMBEDDED_KEY"},
            },
            "preset": {
                "type": "openai",
                "base_url": server.base_url,
                "api_key_env": "OPENAI_API_KEY",
            },
        }
        data = {"agent": {"model": "mine/m"}, "providers": providers}
        (openclaw_home / "openclaw.json").write_text(json.dumps(data))
        environ = {
            "OPENCLAW_HOME": str(openclaw_home),
            "EMBEDDED_KEY": "sk-embedded-one",
            "OPENAI_API_KEY": "sk-embedded-two",
        }
        async with App(load_config(environ=environ), entry_points=False, environ=environ) as app:
            assert (await app.ask("hi")).text == "from my own key"
            assert (await app.ask("hi", model="preset/m")).text == "from the preset variable"
        assert server.api_keys == ["sk-embedded-one", "sk-embedded-two"]
