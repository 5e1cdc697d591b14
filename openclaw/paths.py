"""Where openclaw keeps its files: `$OPENCLAW_HOME` (default `~/.openclaw`) and what lives in it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def openclaw_home(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get("OPENCLAW_HOME") or "~/.openclaw").expanduser()


def config_path(home: Path) -> Path:
    return home / "openclaw.json"


def default_workspace(home: Path) -> Path:
    return home / "workspace"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) so that a reader sees the old file or the new one,
    never half of one: a synced temporary file beside it, renamed over it. For openclaw's own
    files under `$OPENCLAW_HOME`; tools write workspace files through `openclaw.sandbox`."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
