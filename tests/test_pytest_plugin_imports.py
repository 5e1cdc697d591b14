"""The kernel's pytest plugin loads with every pytest run: it must not pull in the platform
fakes or their SDKs (they come with their channel plugins' own pytest plugins)."""

from __future__ import annotations

import json
import subprocess
import sys

FAKES = [
    "openclaw_channel_telegram.testing.bot_api",
    "openclaw_channel_telegram.testing.crash",
    "openclaw_channel_discord.testing.fake_discord",
]
HEAVY = [*FAKES, "openclaw.testing.telegram", "openclaw.testing.discord", "aiogram", "disnake"]
"""The fakes, where they lived before they moved to their plugins, and the platforms' SDKs."""


def imported_after(statement: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has imported after running `statement`."""
    report = f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    code = f"import json, sys\n{statement}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def test_the_kernel_pytest_plugin_imports_no_platform_fake_or_sdk() -> None:
    assert imported_after("import openclaw.testing.pytest_plugin") == []


def test_the_channel_plugins_pytest_plugins_load_their_fakes_only_when_used() -> None:
    statement = (
        "import openclaw_channel_telegram.testing.pytest_plugin\n"
        "import openclaw_channel_discord.testing.pytest_plugin"
    )
    assert imported_after(statement) == []


def test_the_fakes_are_importable_from_their_plugins() -> None:
    statement = (
        "from openclaw_channel_telegram.testing import CrashRun, FakeBotAPI\n"
        "from openclaw_channel_discord.testing import FakeDiscord"
    )
    assert imported_after(statement) == FAKES
