"""Loading every installed first-party plugin imports no heavy SDK, and leaves no problems."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = (
    "openai",
    "anthropic",
    "aiogram",
    "disnake",
    "playwright",
    "faster_whisper",
    "piper",
    "llama_cpp",
)

PROBE = """
import json, sys
from openclaw.app import App
from openclaw.config import Config
app = App(Config())
heavy = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"plugins": app.plugins.names(), "problems": app.problems, "heavy": heavy,
                  "lazy": [m for m in ("sqlite_utils", "structlog") if m in sys.modules]}}))
"""


def test_loading_all_plugins_imports_no_heavy_sdk(openclaw_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env["OPENCLAW_HOME"] = str(openclaw_home)
    run = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY)], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["heavy"] == []
    assert result["lazy"] == []  # the store and the log sink import their libraries on use
    assert result["problems"] == []  # check_pending() clean for every installed plugin
    assert {"openai_provider", "anthropic_provider", "core_commands"} <= set(result["plugins"])
