"""The config dialects and `openclaw config get|set|unset|import-upstream`, run as a user runs
them: the CLI in a subprocess, the file on disk, a turn against a local fake model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw.config import ConfigError, load_config
from openclaw.testing.servers import FakeOpenAIServer, Reply

UPSTREAM = """// upstream OpenClaw's ~/.openclaw/openclaw.json (JSON5)
{
  agents: {
    defaults: {
      workspace: "WORKSPACE",
      model: {primary: "lab/fake-model", fallbacks: ["openrouter/moonshotai/kimi-k2"]},
      models: {"lab/fake-model": {alias: "fake"}},
    },
  },
  models: {
    mode: "merge",
    providers: {
      lab: {baseUrl: "BASE_URL", apiKey: "${LAB_API_KEY}", api: "openai-completions",
            models: [{id: "fake-model", name: "Fake"}]},
      gem: {api: "google-generative-ai", apiKey: "g-123"},
    },
  },
  env: {OPENROUTER_API_KEY: "sk-or-123", EDITOR: "vim"},
  channels: {
    telegram: {enabled: true, botToken: "123456:ABC-def", dmPolicy: "pairing",
               allowFrom: ["tg:111", "222", "@someone"]},
    discord: {token: "${DISCORD_BOT_TOKEN}", dm: {policy: "allowlist", allowFrom: ["user:333"]},
              guilds: {"99": {requireMention: true}}},
    whatsapp: {allowFrom: ["+15555550123"]},
  },
  gateway: {port: 18789, bind: "loopback", auth: {token: "t"}},
  session: {scope: "per-sender"},
  messages: {ackReaction: "👀"},
}
"""


def write(home: Path, text: str) -> Path:
    path = home / "openclaw.json"
    path.write_text(text)
    return path


def test_json5_is_read_when_plain_json_with_comments_is_not(openclaw_home):
    write(openclaw_home, "// ours, in JSON5\n{agent: {max_rounds: 7, fallbacks: ['a/b',],},}\n")
    config = load_config()
    assert config.agent.max_rounds == 7 and config.agent.fallbacks == ["a/b"]


def test_an_upstream_file_is_refused_with_the_differences_named(openclaw_home):
    write(openclaw_home, UPSTREAM)
    with pytest.raises(ConfigError) as caught:
        load_config()
    message = str(caught.value)
    assert "looks like an upstream OpenClaw config" in message
    assert "`agents`, `models`, `env`, `session`, `messages`" in message
    assert "camelCase keys (allowFrom, botToken, dmPolicy" in message
    assert "`${VAR}` substitution" in message
    assert "openclaw config import-upstream" in message


def test_an_upstream_file_that_would_half_validate_is_refused_too(openclaw_home):
    # JSON, every section unknown to the kernel: this used to load as an all-defaults config
    write(openclaw_home, json.dumps({"agents": {"defaults": {"model": "a/b"}}, "wizard": {}}))
    with pytest.raises(ConfigError, match="`agents`, `wizard`: upstream sections"):
        load_config()


def test_import_upstream_converts_and_the_result_runs_a_turn(run, openclaw_home, tmp_path):
    upstream = tmp_path / "upstream.json5"
    workspace = tmp_path / "ws"
    with FakeOpenAIServer() as server:
        upstream.write_text(
            UPSTREAM.replace("WORKSPACE", str(workspace)).replace("BASE_URL", server.base_url)
        )
        imported = run("config", "import-upstream", str(upstream))
        assert imported.returncode == 0, imported.stderr
        assert "not imported" in imported.stdout
        for skipped in (
            "agents.defaults.models",
            "models.providers.gem: api 'google-generative-ai'",
            "env.EDITOR",
            "channels.telegram.allowFrom: '@someone'",
            "channels.discord.guilds",
            "channels.whatsapp",
            "gateway.auth",
            "session",
            "messages",
        ):
            assert f"  {skipped}" in imported.stdout, skipped
        data = json.loads("\n".join((openclaw_home / "openclaw.json").read_text().splitlines()[1:]))
        assert data["agent"] == {
            "workspace": str(workspace),
            "model": "lab/fake-model",
            "fallbacks": ["openrouter/moonshotai/kimi-k2"],
        }
        assert data["providers"]["lab"] == {
            "type": "openai",
            "base_url": server.base_url,
            "api_key": {"$env": "LAB_API_KEY"},
        }
        assert data["providers"]["openrouter"] == {"api_key": "sk-or-123"}
        assert data["channels"]["telegram"] == {
            "enabled": True,
            "token": "123456:ABC-def",
            "pairing": True,
            "allowed_user_ids": [111, 222],
        }
        assert data["channels"]["discord"]["token"] == {"$env": "DISCORD_BOT_TOKEN"}
        assert data["channels"]["discord"]["allowed_user_ids"] == [333]
        assert data["gateway"] == {"port": 18789, "host": "127.0.0.1"}
        assert run("config", "validate").returncode == 0
        server.enqueue(Reply("imported and answering"))
        turn = run("agent", "-m", "hi", env={"LAB_API_KEY": "k-1"})
    assert turn.returncode == 0, turn.stderr
    assert "imported and answering" in turn.stdout
    assert server.requests[0]["model"] == "fake-model"


def test_import_upstream_never_overwrites_without_force(run, openclaw_home, tmp_path):
    existing = write(openclaw_home, UPSTREAM)
    refused = run("config", "import-upstream", str(existing))
    assert refused.returncode == 1 and "add --force" in refused.stderr
    assert existing.read_text() == UPSTREAM
    forced = run("config", "import-upstream", str(existing), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (openclaw_home / "openclaw.json.upstream.bak").read_text() == UPSTREAM
    assert "lab/fake-model" in existing.read_text()


STARTER = """// my config
{
  "agent": {
    "name": "main", // who answers
    "model": "ollama/llama3.2:1b"
  },
  "providers": {"x": {"type": "openai", "api_key": "sk-very-secret-123"}}
}
"""


def test_config_set_get_unset_round_trip_keeping_comments(run, openclaw_home):
    path = write(openclaw_home, STARTER)
    assert run("config", "set", "agent.max_rounds", "5").returncode == 0
    got = run("config", "get", "agent.max_rounds")
    assert (got.returncode, got.stdout) == (0, "5\n")
    text = path.read_text()
    assert "// my config" in text and "// who answers" in text
    assert run("config", "set", "agent.model", "openai/gpt-4o-mini").returncode == 0
    assert run("config", "get", "agent.model").stdout == "openai/gpt-4o-mini\n"
    assert run("config", "set", "logging.level", "debug").returncode == 0
    assert load_config().logging.level == "debug"
    removed = run("config", "unset", "agent.max_rounds")
    assert removed.returncode == 0, removed.stderr
    assert run("config", "get", "agent.max_rounds").stdout == "20\n"  # the default again
    assert "// who answers" in path.read_text()
    secret = run("config", "get", "providers.x.api_key")
    assert secret.stdout == "********\n"
    assert "sk-very-secret-123" not in run("config", "get", "providers").stdout


def test_config_set_of_an_invalid_value_changes_nothing(run, openclaw_home):
    path = write(openclaw_home, STARTER)
    for args in (("agent.max_rounds", "0"), ("agent.max_rounds", "many"), ("agent.modle", "x")):
        refused = run("config", "set", *args)
        assert refused.returncode == 1, args
        assert "nothing was changed" in refused.stderr and "Traceback" not in refused.stderr
    assert "agent.max_rounds" in run("config", "set", "agent.max_rounds", "0").stderr
    assert path.read_text() == STARTER
    assert run("config", "unset", "agent.nothing").returncode == 1


def test_config_set_on_a_json5_file_says_its_comments_are_dropped(run, openclaw_home):
    path = write(openclaw_home, "// mine\n{agent: {name: 'x',},}\n")
    changed = run("config", "set", "agent.max_rounds", "9")
    assert changed.returncode == 0, changed.stderr
    assert "comments and JSON5 syntax were dropped" in changed.stderr
    assert json.loads(path.read_text()) == {"agent": {"name": "x", "max_rounds": 9}}


def test_config_set_creates_the_file(run, openclaw_home):
    assert run("config", "set", "agent.max_rounds", "5").returncode == 0
    path = openclaw_home / "openclaw.json"
    assert json.loads(path.read_text()) == {"agent": {"max_rounds": 5}}
    assert path.stat().st_mode & 0o777 == 0o600


def test_camel_case_names_chosen_by_the_user_are_not_taken_for_upstream(openclaw_home):
    write(
        openclaw_home,
        json.dumps(
            {
                "agent": {"model": "myLab/m"},
                "providers": {"myLab": {"type": "openai", "base_url": "http://127.0.0.1:9/v1"}},
            }
        ),
    )
    assert load_config().providers["myLab"]["type"] == "openai"
