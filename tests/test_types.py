"""The kernel's modules that once failed `mypy` type-check clean (the kernel is type-checked:
STYLE.md); run on the files themselves, as a contributor would."""

from __future__ import annotations

import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

from openclaw.cli.plugin_commands import _entry_points

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ["openclaw/cli/plugin_commands.py"]


def test_these_modules_type_check():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", *CLEAN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_entry_point_read_once_without_a_deprecation_warning():
    _entry_points.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = _entry_points()
    assert isinstance(found, metadata.EntryPoints)
    assert "openclaw" in found.select(group="pytest11").names
