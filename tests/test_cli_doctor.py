"""`openclaw doctor` agrees with what works: its exit code, warnings, notes and `--json`."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from openclaw.testing.servers import FakeOpenAIServer


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(home: Path, data: dict) -> None:
    (home / "openclaw.json").write_text(json.dumps(data))


def two_models(home: Path, up_url: str, primary_up: bool) -> None:
    down = f"http://127.0.0.1:{closed_port()}/v1"
    first, second = ("up/m", "down/m") if primary_up else ("down/m", "up/m")
    write_config(
        home,
        {
            "agent": {"model": first, "fallbacks": [second], "offline_fallback": False},
            "providers": {
                "up": {"type": "openai", "base_url": up_url},
                "down": {"type": "openai", "base_url": down, "max_retries": 0},
            },
        },
    )


def test_primary_down_while_a_fallback_answers_is_a_warning_naming_it(run, openclaw_home):
    with FakeOpenAIServer() as server:
        two_models(openclaw_home, server.base_url, primary_up=False)
        result = run("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    warning = next(line for line in result.stdout.splitlines() if "model down/m" in line)
    assert warning.startswith("⚠️") and warning.endswith("(turns are answered by up/m)")
    assert "✅ model up/m: openai, server answers" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 warning(s), no failures"


def test_missing_workspace_is_a_note_not_a_failure(run, openclaw_home):
    with FakeOpenAIServer() as server:
        write_config(
            openclaw_home,
            {
                "agent": {"model": "up/m", "offline_fallback": False},
                "providers": {"up": {"type": "openai", "base_url": server.base_url}},
            },
        )
        result = run("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    workspace = openclaw_home / "workspace"
    assert f"ℹ️  workspace: {workspace} (not there yet: created on first use" in result.stdout


def test_no_usable_model_fails(run, openclaw_home):
    port = closed_port()
    write_config(
        openclaw_home,
        {
            "agent": {"model": "down/m", "offline_fallback": False},
            "providers": {"down": {"type": "openai", "base_url": f"http://127.0.0.1:{port}/v1"}},
        },
    )
    result = run("doctor")
    assert result.returncode == 1
    assert "❌ no model is usable: turns fail" in result.stdout
    assert "2 failure(s)" in result.stderr  # the model, and the chain as a whole


def test_a_broken_plugin_fails_naming_it(run, openclaw_home, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "brokenthing.py").write_text("raise RuntimeError('half-installed')\n")
    with FakeOpenAIServer() as server:
        write_config(
            openclaw_home,
            {
                "agent": {"model": "up/m", "offline_fallback": False},
                "providers": {"up": {"type": "openai", "base_url": server.base_url}},
            },
        )
        result = run("doctor", env={"OPENCLAW_PLUGINS_DIR": str(plugins)})
    assert result.returncode == 1, result.stdout
    assert "❌ plugin 'brokenthing' skipped: failed to import" in result.stdout
    assert "half-installed" in result.stdout and "1 failure(s)" in result.stderr


def test_doctor_json_parses_and_carries_the_exit_code(run, openclaw_home):
    with FakeOpenAIServer() as server:
        two_models(openclaw_home, server.base_url, primary_up=False)
        fine = run("doctor", "--json")
    assert fine.returncode == 0, fine.stderr
    report = json.loads(fine.stdout)
    assert report["ok"] is True
    models = {c["model"]: c for c in report["checks"] if c["check"] == "model"}
    assert models["down/m"]["status"] == "warning" and models["up/m"]["status"] == "ok"
    assert {c["status"] for c in report["checks"]} <= {"ok", "note", "warning", "info", "absent"}
    write_config(openclaw_home, {"agent": {"max_rounds": 0}})
    broken = run("doctor", "--json")
    assert broken.returncode == 1
    failed = json.loads(broken.stdout)
    assert failed["ok"] is False and "agent.max_rounds" in failed["checks"][0]["text"]


@pytest.mark.parametrize(
    ("sandbox", "line"),
    [
        ({"bubblewrap_path": "/nonexistent/bwrap"}, "✅ sandbox: commands run under Landlock"),
        (
            {"bubblewrap_path": "/nonexistent/bwrap", "landlock": False},
            "⚠️  sandbox: commands are refused",
        ),
    ],
)
def test_doctor_names_the_isolation_backend(run, openclaw_home, sandbox, line):
    write_config(openclaw_home, {"sandbox": sandbox})
    shown = [text for text in run("doctor").stdout.splitlines() if "sandbox:" in text]
    assert len(shown) == 1 and shown[0].startswith(line), shown
    if "refused" in line:
        assert "apt install bubblewrap" in shown[0] and '"isolation": "none"' in shown[0]
