"""The `openclaw` command line, run as a user runs it: a subprocess against a local server."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from openclaw.testing.servers import FakeOpenAIServer, Reply

TOOL_PLUGIN = '''
from openclaw import hookimpl
from openclaw.tools import tool

@tool
def add(a: int, b: int) -> str:
    """Add two numbers."""
    return str(a + b)

@hookimpl
def register_tools(register, context):
    register(add)
'''


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(home: Path, data: dict) -> None:
    (home / "openclaw.json").write_text(json.dumps(data))


def test_help_plugins_and_validate_work_without_config(run, openclaw_home):
    helped = run("--help")
    assert helped.returncode == 0 and "agent" in helped.stdout and "sessions" in helped.stdout
    plugins = run("plugins")
    assert plugins.returncode == 0, plugins.stderr
    assert "openai_provider" in plugins.stdout and "providers: openai (chat)" in plugins.stdout
    validated = run("config", "validate")
    assert validated.returncode == 0
    assert "config ok (no config file; using defaults)" in validated.stdout
    assert not list(openclaw_home.iterdir())  # nothing written by read-only commands


def test_agent_without_a_reachable_provider_fails_in_one_short_message(run, openclaw_home):
    port = closed_port()
    write_config(
        openclaw_home,
        {
            "agent": {"offline_fallback": False},  # no last-resort local model either
            "providers": {"ollama": {"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0}},
        },
    )
    result = run("agent", "-m", "hi")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "ollama/llama3.2:1b" in result.stderr and "cannot reach" in result.stderr
    assert "agent.model" in result.stderr and "OPENCLAW_MODEL" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3


def test_agent_with_no_config_at_all_names_the_default_model(run):
    # without the offline local model (a plugin that would answer instead)
    result = run(
        "agent", "-m", "hi", env={"OPENCLAW_MODEL": "vllm/m", "OPENCLAW_DISABLE_PLUGINS": "local"}
    )
    # nothing listens on the vllm preset's port in tests: a clean failure, no traceback
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and "vllm/m" in result.stderr


def test_bad_config_names_file_and_field(run, openclaw_home):
    write_config(openclaw_home, {"agent": {"max_rounds": 0}})
    result = run("config", "validate")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "openclaw.json" in result.stderr and "agent.max_rounds" in result.stderr


def test_agent_streams_runs_a_tool_and_remembers(run, openclaw_home, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "adder.py").write_text(TOOL_PLUGIN)
    env = {"OPENCLAW_PLUGINS_DIR": str(plugins)}
    with FakeOpenAIServer() as server:
        write_config(
            openclaw_home,
            {
                "agent": {"model": "local/fake-model"},
                "providers": {"local": {"type": "openai", "base_url": server.base_url}},
            },
        )
        server.enqueue(
            Reply(tool_calls=[("add", '{"a": 2, "b": 3}')]),
            Reply("The sum is 5.", chunks=3),
            Reply("You asked me to add 2 and 3."),
        )
        first = run("agent", "-m", "add 2 and 3", "--session", "cli:main:me:t1", env=env)
        second = run("agent", "-m", "what did I ask?", "--session", "cli:main:me:t1", env=env)
    assert first.returncode == 0, first.stderr
    assert "⚙️ add running…" in first.stdout and "✅ add" in first.stdout
    assert "The sum is 5." in first.stdout
    assert "2 round(s) · 1 tool(s)" in first.stdout and "local/fake-model" in first.stdout
    assert second.returncode == 0, second.stderr
    sent = server.requests[2]["messages"]
    contents = [m.get("content") for m in sent]
    assert "add 2 and 3" in contents and "The sum is 5." in contents
    assert any(m["role"] == "tool" and m["content"] == "5" for m in sent)
    assert "add" in [t["function"]["name"] for t in server.requests[0]["tools"]]
    listed = run("sessions", "list")
    assert "cli:main:me:t1" in listed.stdout and "6 msgs" in listed.stdout
    shown = run("sessions", "show", "me:t1")
    assert "user: what did I ask?" in shown.stdout
    exported = run("sessions", "export", "t1", "-o", str(tmp_path / "t1.md"))
    assert exported.returncode == 0
    markdown = (tmp_path / "t1.md").read_text()
    assert "👤" in markdown and "🤖" in markdown and "add" in markdown
    stats = run("sessions", "stats")
    assert "sessions: 1" in stats.stdout and "messages: 6" in stats.stdout
    assert "cli: 1" in stats.stdout
    tools = run("tools", env=env)
    assert "add  [adder]  Add two numbers." in tools.stdout


def test_sessions_errors_and_prune(run, openclaw_home):
    missing = run("sessions", "show", "nothing-here")
    assert missing.returncode == 1 and "no session matches 'nothing-here'" in missing.stderr
    pruned = run("sessions", "prune", "--days", "1")
    assert pruned.returncode == 0 and "pruned 0 session(s)" in pruned.stdout


def test_init_writes_a_commented_config_and_never_overwrites(run, openclaw_home):
    first = run("init")
    assert first.returncode == 0, first.stderr
    config = openclaw_home / "openclaw.json"
    assert config.read_text().startswith("// openclaw config")
    assert (openclaw_home / "workspace" / "SOUL.md").exists()
    assert run("config", "validate").returncode == 0
    config.write_text('{"agent": {"name": "mine"}}')
    second = run("init")
    assert f"kept existing {config}" in second.stdout
    assert json.loads(config.read_text()) == {"agent": {"name": "mine"}}


def test_config_show_masks_secrets(run, openclaw_home):
    write_config(
        openclaw_home,
        {"providers": {"x": {"type": "openai", "api_key": "sk-very-secret-123"}}},
    )
    shown = run("config", "show")
    assert shown.returncode == 0 and "sk-very-secret-123" not in shown.stdout
    assert "********" in shown.stdout


def test_doctor_reports_reachability_and_binaries(run, openclaw_home):
    port = closed_port()
    with FakeOpenAIServer() as server:
        write_config(
            openclaw_home,
            {
                "agent": {"model": "up/m", "fallbacks": ["down/m"]},
                "providers": {
                    "up": {"type": "openai", "base_url": server.base_url},
                    "down": {"type": "openai", "base_url": f"http://127.0.0.1:{port}/v1"},
                },
            },
        )
        result = run("doctor")
    assert result.returncode == 0  # a fallback that is down is a warning while up/m answers
    assert "✅ model up/m: openai, server answers" in result.stdout
    assert f"⚠️  model down/m: openai: cannot reach http://127.0.0.1:{port}/v1" in result.stdout
    assert "ffmpeg" in result.stdout and "1 warning(s), no failures" in result.stdout


def test_chat_repl_answers_commands_and_messages(run, openclaw_home):
    with FakeOpenAIServer() as server:
        write_config(
            openclaw_home,
            {
                "agent": {"model": "local/fake-model"},
                "providers": {"local": {"type": "openai", "base_url": server.base_url}},
            },
        )
        result = run("chat", input="/ping\nhello there\n/model\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "pong" in result.stdout
    assert "echo: hello there" in result.stdout
    assert "Model: local/fake-model (last answer from: local/fake-model)" in result.stdout
