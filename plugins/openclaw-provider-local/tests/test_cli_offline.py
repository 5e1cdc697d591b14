"""The last resort end to end, as a user meets it: `openclaw agent` with no reachable model."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openclaw(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env["OPENCLAW_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "openclaw.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def test_agent_falls_back_to_the_local_model_with_one_notice(openclaw_home: Path):
    port = closed_port()
    config = {
        "agent": {"model": "dead/model"},
        "providers": {
            "dead": {"type": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0},
            "local": {"max_tokens": 32},
        },
    }
    (openclaw_home / "openclaw.json").write_text(json.dumps(config))
    result = openclaw(openclaw_home, "agent", "-m", "What is the capital of France?")
    assert result.returncode == 0, result.stderr
    notice, *answer, footer = result.stdout.strip().splitlines()
    assert notice.startswith("ℹ️ dead/model did not answer (cannot reach")
    assert "(local/smollm2) is answering" in notice
    assert "".join(answer).strip()
    assert re.fullmatch(
        r"— \d+ms · 1 round\(s\) · 0 tool\(s\) · \d+ tokens · local/smollm2 \(no tools\)", footer
    )
    assert "Traceback" not in result.stderr and "llama" not in result.stderr.lower()


def test_doctor_shows_the_local_model_without_tool_support(openclaw_home: Path):
    result = openclaw(openclaw_home, "doctor")
    assert "✅ model local/smollm2: local (no tool support)" in result.stdout


def test_doctor_right_after_the_readme_first_command_exits_0_with_a_warning(
    openclaw_home: Path,
):
    # the README's first command: no config (answers kept short here), no Ollama running
    short = {"providers": {"local": {"max_tokens": 8}}}
    (openclaw_home / "openclaw.json").write_text(json.dumps(short))
    first = openclaw(openclaw_home, "agent", "-m", "Hello! Who are you?")
    assert first.returncode == 0, first.stderr
    result = openclaw(openclaw_home, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    warning = next(line for line in lines if "model ollama/llama3.2:1b" in line)
    assert warning.startswith("⚠️") and "(turns are answered by local/smollm2)" in warning
    assert not any(line.startswith("❌") for line in lines), result.stdout
    assert "warning(s), no failures" in lines[-1]


def test_first_load_shows_progress_on_a_terminal_only(openclaw_home: Path):
    from openclaw.testing.tty import run_with_tty_stderr

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(OPENCLAW_HOME=str(openclaw_home), OPENCLAW_LOAD_PLUGINS="local")
    argv = [sys.executable, "-m", "openclaw.cli", "doctor"]
    code, out, err = run_with_tty_stderr(argv, env)
    assert code == 0 and "✅ model local/smollm2" in out, out + err
    assert "loading the local model " in err and "(first use)…" in err
    quiet = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert "loading the local model" not in quiet.stderr
