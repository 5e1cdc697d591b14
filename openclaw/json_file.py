"""openclaw's own state files (`pairing.json`, `cron/jobs.json`, `scripts.json`, the config):
one way to replace a file atomically and one way to change a JSON file that several processes
share (the gateway, the CLI, a cron run).

A write goes to a temporary file in the same folder, is fsynced, renamed over the old file and
the folder is fsynced, so after a crash or power loss a reader finds the old file or the new
one, never a truncated one. A change is a read-modify-write under an exclusive `fcntl.flock` on
a lock file beside the data (`jobs.json.lock`), so two writers never lose each other's update;
readers need no lock. Bottom layer: stdlib only. Tools write workspace files through
`openclaw.sandbox` instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PRIVATE = 0o600
"""State files may hold user ids, chat ids and approvals: readable by their owner only."""


def write_atomically(path: Path, text: str, *, mode: int | None = PRIVATE) -> None:
    """Replace `path` with `text` (UTF-8) so that a reader sees the old file or the new one,
    never half of one, and the new one survives a crash. The file gets `mode`; with None it
    keeps the old file's permissions (a new file is private)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = PRIVATE
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so that a rename in it is on disk too (not every filesystem can)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path, default: Callable[[], Any]) -> Any:
    """The file's data, or `default()` when there is no file; a file that does not parse
    raises json.JSONDecodeError (it is never overwritten by `locked_json`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default()
    return json.loads(text)


def write_json(path: Path, data: Any, *, sort_keys: bool = False) -> None:
    """Write `data` as indented JSON, atomically and private to its owner."""
    write_atomically(path, json.dumps(data, indent=2, sort_keys=sort_keys) + "\n")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of `path` (the file `<name>.lock` beside it) for a
    read-modify-write of your own; other processes' `locked` calls wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, PRIVATE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def locked_json(
    path: Path, default: Callable[[], Any] = dict, *, sort_keys: bool = False
) -> Iterator[Any]:
    """`with locked_json(path) as data:` change `data` in place; it is written back when the
    block ends without an exception, all under the file's lock."""
    with locked(path):
        data = read_json(path, default)
        yield data
        write_json(path, data, sort_keys=sort_keys)
