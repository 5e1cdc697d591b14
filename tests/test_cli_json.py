"""`--json` on the listing and status commands: each output parses and carries the data."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from openclaw.gateway.pipeline import PAIRING_FILE, PairingStore
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


def fake_model_config(home: Path, base_url: str) -> None:
    (home / "openclaw.json").write_text(
        json.dumps(
            {
                "agent": {"model": "local/fake-model"},
                "providers": {"local": {"type": "openai", "base_url": base_url}},
            }
        )
    )


def test_agent_json_streams_one_event_a_line_and_listings_parse(run, openclaw_home, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "adder.py").write_text(TOOL_PLUGIN)
    env = {"OPENCLAW_PLUGINS_DIR": str(plugins)}
    with FakeOpenAIServer() as server:
        fake_model_config(openclaw_home, server.base_url)
        server.enqueue(Reply(tool_calls=[("add", '{"a": 2, "b": 3}')]), Reply("5.", chunks=2))
        turn = run("agent", "-m", "add", "--json", "--session", "cli:main:me:j", env=env)
    assert turn.returncode == 0, turn.stderr
    events = [json.loads(line) for line in turn.stdout.splitlines()]
    types = [event["type"] for event in events]
    assert types[0] == "turn.started" and types[-1] == "turn.finished"
    assert {"tool.started", "tool.finished", "text.delta", "round.started"} <= set(types)
    finished = events[-1]
    assert (
        finished["text"] == "5."
        and finished["tools"] == 1
        and finished["usage"]["output_tokens"] == 10
    )

    tools = json.loads(run("tools", "--json", env=env).stdout)
    assert {k: v for k, v in tools["tools"][0].items() if k != "description"} == {
        "name": "add",
        "plugin": "adder",
        "origin": None,
    }
    sessions = json.loads(run("sessions", "list", "--json").stdout)["sessions"]
    assert [s["key"] for s in sessions] == ["cli:main:me:j"]
    assert sessions[0]["message_count"] == 4
    plugins_listed = json.loads(run("plugins", "--json", env=env).stdout)
    assert "adder" in [p["name"] for p in plugins_listed["plugins"]]


def test_agent_json_failure_is_a_turn_failed_line_and_exit_1(run, openclaw_home):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (openclaw_home / "openclaw.json").write_text(
        json.dumps(
            {
                "agent": {"model": "down/m", "offline_fallback": False},
                "providers": {
                    "down": {"base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0}
                },
            }
        )
    )
    failed = run("agent", "-m", "hi", "--json")
    assert failed.returncode == 1
    last = json.loads(failed.stdout.splitlines()[-1])
    assert last["type"] == "turn.failed" and "cannot reach" in last["error"]


def test_cron_and_pairing_lists_as_json(run, openclaw_home):
    added = run("cron", "add", "standup", "-s", "0 9 * * 1-5", "-p", "plan the day")
    assert added.returncode == 0, added.stderr
    jobs = json.loads(run("cron", "list", "--json").stdout)["jobs"]
    assert [(j["name"], j["schedule"], j["enabled"]) for j in jobs] == [
        ("standup", "0 9 * * 1-5", True)
    ]
    assert json.loads(run("cron", "list", "--json").stdout)["jobs"][0]["next_run"]
    store = PairingStore(openclaw_home / PAIRING_FILE)
    code, _ = store.request("telegram", "42", "42")
    listed = json.loads(run("pairing", "list", "--json").stdout)
    assert listed["pending"][0]["code"] == code and listed["approved"] == {}
    assert run("pairing", "approve", code).returncode == 0
    assert json.loads(run("pairing", "list", "--json").stdout) == {
        "pending": [],
        "approved": {"telegram": ["42"]},
    }


def test_gateway_status_asks_the_running_gateway(run, openclaw_home):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = run("gateway", "status", "--port", str(port))
    assert down.returncode == 1 and f"no gateway answers at http://127.0.0.1:{port}" in down.stderr
    env = {
        **os.environ,
        "OPENCLAW_HOME": str(openclaw_home),
        "OPENCLAW_LOAD_PLUGINS": "",
    }
    gateway = subprocess.Popen(
        [sys.executable, "-m", "openclaw.cli", "gateway", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.1)
        shown = run("gateway", "status", "--port", str(port))
        raw = run("gateway", "status", "--port", str(port), "--json")
    finally:
        gateway.terminate()
        gateway.wait(timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"gateway http://127.0.0.1:{port}: up ")
    assert "model ollama/llama3.2:1b" in shown.stdout and "turns running: 0" in shown.stdout
    data = json.loads(raw.stdout)
    assert data["turns_running"] == 0 and "uptime" in data


def json_commands() -> list[str]:
    """Every built-in command path with a `--json` option (`sessions list`, ...)."""
    import click

    from openclaw.cli import SUBCOMMANDS, cli

    found = []

    def walk(command: click.Command, path: str) -> None:
        if any("--json" in param.opts for param in command.params):
            found.append(path)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    context = click.Context(cli, obj={})
    for name in SUBCOMMANDS:
        command = cli.get_command(context, name)
        assert command is not None
        walk(command, f"openclaw {name}")
    return found


def test_every_json_output_is_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    commands = json_commands()
    assert {"openclaw tools", "openclaw sessions list", "openclaw doctor"} <= set(commands)
    for command in commands:
        assert f"`{command} --json`" in doc or f"`{command} -m TEXT --json`" in doc, command
