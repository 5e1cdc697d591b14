"""Fixtures of the kernel's CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def run(openclaw_home: Path):
    """Run `openclaw ...` in a subprocess with the temporary home; returns CompletedProcess.
    `python` runs it with another interpreter (a throwaway virtualenv)."""

    def invoke(
        *args: str,
        env: dict[str, str] | None = None,
        input: str | None = None,
        python: str = sys.executable,
    ):
        # installed plugins (tools, the offline model) stay out: these tests are about the kernel
        full_env = {
            **os.environ,
            "OPENCLAW_HOME": str(openclaw_home),
            "OPENCLAW_LOAD_PLUGINS": "",
            **(env or {}),
        }
        for name in ("OPENCLAW_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            if name not in (env or {}):
                full_env.pop(name, None)
        return subprocess.run(
            [python, "-m", "openclaw.cli", *args],
            env=full_env,
            capture_output=True,
            text=True,
            input=input,
            timeout=120,
        )

    return invoke
