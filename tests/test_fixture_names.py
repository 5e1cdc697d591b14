"""The fixtures openclaw's pytest plugins give every suite carry the `openclaw_` prefix, so
they cannot clash with the fixtures of a plugin author's own suite (issue 17)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SHIPPED = [
    "openclaw_home",
    "openclaw_mock_model",
    "openclaw_recording_sink",
    "openclaw_make_app",
    "openclaw_call_tools",
    "openclaw_openai_server",
    "openclaw_anthropic_server",
    "openclaw_start_gateway",
    "openclaw_no_secret_in_outputs",
    "openclaw_telegram_api",
    "openclaw_discord_api",
]


def available_fixtures(directory: Path) -> set[str]:
    """The fixture names `pytest --fixtures` lists in an empty project (installed plugins only)."""
    (directory / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", str(directory)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(re.findall(r"^(\w+)(?: \[\w+ scope\])? -- ", done.stdout, re.MULTILINE))


def test_every_shipped_fixture_is_prefixed_and_the_old_names_are_gone(tmp_path: Path) -> None:
    fixtures = available_fixtures(tmp_path)
    assert all(name.startswith("openclaw_") for name in SHIPPED)
    assert set(SHIPPED) <= fixtures
    old = {name.removeprefix("openclaw_") for name in SHIPPED} - {"home"}
    assert not old & fixtures
