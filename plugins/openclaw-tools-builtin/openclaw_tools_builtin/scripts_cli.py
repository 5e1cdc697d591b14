"""List script-plugin manifests and approve them for chat users.

`openclaw scripts`, the owner's side of script approvals; the first line above is its help line
in `openclaw --help` (named in the `openclaw.cli` entry points, imported only when run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from openclaw_tools_builtin.script_approvals import Approvals


def _where(ctx: click.Context) -> tuple[Path, Approvals]:
    from openclaw.cli.config_loading import load
    from openclaw_tools_builtin.script_approvals import APPROVALS_FILE, Approvals
    from openclaw_tools_builtin.scripts import MANIFEST_DIR

    config = load(ctx)
    return config.workspace / MANIFEST_DIR, Approvals(config.home / APPROVALS_FILE)


def _manifest(folder: Path, name: str) -> Path:
    path = folder / (name if name.endswith(".json") else f"{name}.json")
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(folder.glob("*.json"))) or "none"
        raise click.ClickException(f"no manifest {path} (manifests: {known})")
    return path


def _summary(data: bytes) -> str:
    """What the manifest declares, for the owner to judge before approving."""
    try:
        manifest = json.loads(data)
        return (
            f"tool {manifest.get('name')!r}, command {manifest.get('command')!r}: "
            f"{' '.join(str(manifest.get('description', '')).split())}"
        )
    except (ValueError, AttributeError):
        return "not a valid manifest (it will be skipped and reported)"


@click.group(invoke_without_command=True)
@click.pass_context
def scripts(ctx: click.Context) -> None:
    """List script-plugin manifests and approve them for chat users.

    Turns at the CLI are offered every manifest in <workspace>/.openclaw/plugins; a chat user's
    turns only those approved here, exactly as they are now (an edit withdraws the approval).
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_)


@scripts.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Each manifest, whether chat users are offered it, and what it declares."""
    from openclaw_tools_builtin.script_approvals import digest

    folder, approvals = _where(ctx)
    approved = approvals.load()
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not paths:
        click.echo(f"No script plugins in {folder}.")
    for path in paths:
        data = path.read_bytes()
        state = "not approved"
        if path.name in approved:
            state = "approved" if approved[path.name] == digest(data) else "changed since approved"
        click.echo(f"{path.name}  {state}  {_summary(data)}")


@scripts.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def approve(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Offer the manifests NAMES (file names, `.json` optional) to chat users, as they are."""
    folder, approvals = _where(ctx)
    for name in names:
        path = _manifest(folder, name)
        data = path.read_bytes()
        approvals.set(path, data)
        click.echo(f"approved {path.name}: {_summary(data)}")


@scripts.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def revoke(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Stop offering the manifests NAMES to chat users."""
    folder, approvals = _where(ctx)
    for name in names:
        path = folder / (name if name.endswith(".json") else f"{name}.json")
        approvals.set(path, None)
        click.echo(f"revoked {path.name}")
