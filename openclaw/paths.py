"""Where openclaw keeps its files: `$OPENCLAW_HOME` (default `~/.openclaw`) and what lives in it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from openclaw.json_file import write_atomically as write_atomically  # one atomic writer


def openclaw_home(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("OPENCLAW_HOME") or "~/.openclaw").expanduser()


def config_path(home: Path) -> Path:
    return home / "openclaw.json"


def default_workspace(home: Path) -> Path:
    return home / "workspace"
