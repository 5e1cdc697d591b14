"""The path allowlist: which paths tools may read or write, decided on fully resolved paths.

The workspace and `sandbox.allowed_paths` are allowed; `..` and every symlink are resolved before
deciding; protected paths (the config file, the sessions database, `$OPENCLAW_HOME`) are refused
even inside an allowed path, unless they are in the workspace.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from openclaw.errors import ToolError
from openclaw.sandbox.errors import deny


def resolve(path: Path) -> Path:
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise deny("path allowlist", f"{path} cannot be resolved ({exc})") from None


def _within(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def ensure_workspace(workspace: Path) -> None:
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToolError(f"cannot create the workspace {workspace}: {exc}") from None


def roots(workspace: Path, allowed_paths: Sequence[Path]) -> list[Path]:
    """The resolved workspace, then the resolved allowed paths."""
    return [resolve(workspace), *(resolve(p) for p in allowed_paths)]


def resolve_path(
    path: str | Path,
    *,
    workspace: Path,
    allowed_paths: Sequence[Path],
    protected_paths: Sequence[Path],
    write: bool,
) -> Path:
    """`SandboxPolicy.resolve_path` for these paths: the resolved path, or SandboxDenied."""
    ensure_workspace(workspace)
    given = Path(path).expanduser()
    absolute = given if given.is_absolute() else workspace / given
    resolved = resolve(absolute)
    if write and resolved.is_file() and resolved.stat().st_nlink > 1:
        raise deny(
            "hard link",
            f"{path} is a hard link ({resolved}); writing it could change a file elsewhere",
        )
    allowed = roots(workspace, allowed_paths)
    real_workspace = allowed[0]
    for protected in protected_paths:
        target = resolve(protected)
        inside = _within(resolved, target)
        if resolved == target or (inside and not _within(resolved, real_workspace)):
            raise deny("protected path", f"{path} resolves to {resolved}, which holds secrets")
    if any(_within(resolved, root) for root in allowed):
        return resolved
    lexical = Path(posixpath.normpath(str(absolute)))
    rule = "symlink escape" if any(_within(lexical, root) for root in allowed) else "path allowlist"
    raise deny(
        rule,
        f"{path} resolves to {resolved}, outside the workspace ({real_workspace}) and "
        "sandbox.allowed_paths",
    )
