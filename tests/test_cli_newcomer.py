"""What a newcomer meets first: `setup`, the starter config, `/help` and typos in `openclaw chat`,
`pairing approve` in upstream's argument order, and shell completion."""

from __future__ import annotations

import json
import subprocess
import sys

from openclaw.gateway.pipeline import PAIRING_FILE, PairingStore
from openclaw.testing.servers import FakeOpenAIServer


def test_setup_is_init_and_the_starter_lists_the_local_preset(run, openclaw_home):
    done = run("setup")
    assert done.returncode == 0, done.stderr
    text = (openclaw_home / "openclaw.json").read_text()
    assert "vllm, llamacpp, local." in text
    assert "setup" in run("--help").stdout


def test_chat_help_lists_exit_and_an_unknown_command_costs_no_turn(run, openclaw_home):
    with FakeOpenAIServer() as server:
        (openclaw_home / "openclaw.json").write_text(
            json.dumps(
                {
                    "agent": {"model": "local/fake-model"},
                    "providers": {"local": {"type": "openai", "base_url": server.base_url}},
                }
            )
        )
        result = run("chat", input="/help\n/hepl me\n/etc/hosts is a file\n/exit\n")
    assert result.returncode == 0, result.stderr
    assert "/exit — leave the chat" in result.stdout
    assert "Unknown command /hepl. /help lists the commands." in result.stdout
    # only the path-like message reached the model
    assert len(server.requests) == 1
    assert "echo: /etc/hosts is a file" in result.stdout


def test_pairing_approve_takes_upstreams_channel_code_order(run, openclaw_home):
    store = PairingStore(openclaw_home / PAIRING_FILE)
    code, _ = store.request("telegram", "42", "42")
    wrong = run("pairing", "approve", "discord", code)
    assert wrong.returncode == 1 and "was issued on telegram, not discord" in wrong.stderr
    assert [r.code for r in store.pending()] == [code]
    done = run("pairing", "approve", "telegram", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "approved telegram user 42"
    assert store.approved() == {"telegram": ["42"]}


def test_shell_completion_script_is_clicks_own(run):
    script = run(env={"_OPENCLAW_COMPLETE": "bash_source"})
    assert script.returncode == 0 and "_openclaw_completion" in script.stdout


def test_python_dash_m_openclaw_runs_the_cli(openclaw_home):
    done = subprocess.run(
        [sys.executable, "-m", "openclaw", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("openclaw, version "), done.stderr
