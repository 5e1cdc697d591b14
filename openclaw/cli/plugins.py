"""`openclaw plugins` and `openclaw tools`: what is installed and what it registered."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from openclaw.cli.common import make_app


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List each plugin: where it comes from, its hooks and what it registered; or install,
    uninstall, enable and disable plugins."""
    if ctx.invoked_subcommand is None:
        list_plugins(ctx, as_json)


def list_plugins(ctx: click.Context, as_json: bool) -> None:
    app = make_app(ctx)
    rows: list[dict[str, Any]] = []
    for name, info in app.plugins.info.items():
        rows.append(
            {
                "name": name,
                "source": info.source,
                "distribution": info.distribution,
                "version": info.version,
                "path": info.path,
                "hooks": app.plugins.hooks_of(name),
                "registered": app.registry.declared_by(name),
            }
        )
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": app.problems}, indent=2))
        return
    for row in rows:
        origin = row["distribution"] or row["path"] or row["source"]
        version = f" {row['version']}" if row["version"] else ""
        click.echo(f"{row['name']}  ({row['source']}: {origin}{version})")
        click.echo(f"  hooks: {', '.join(row['hooks']) or '-'}")
        for category, names in row["registered"].items():
            click.echo(f"  {category}: {', '.join(names)}")


def first_sentence(text: str) -> str:
    """Up to the first full stop that ends a sentence (`e.g. 2d6` does not)."""
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(text.split()), maxsplit=1)[0]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def tools(ctx: click.Context, as_json: bool) -> None:
    """List the tools the agent can call, with the plugin that provides each."""
    from openclaw.cli.common import to_json
    from openclaw.tools import ToolCallContext

    app = make_app(ctx)
    context = ToolCallContext(app.default_session(), app.services)
    owners = {name: r.plugin for name, r in app.registry.tools.items()}
    for source in app.registry.tool_sources:
        for tool in source.value.tools(context):
            owners.setdefault(tool.name, source.plugin)
    available = app.agent.tools_for(context)
    problems = [
        f"{source.value.name}: {problem}"
        for source in app.registry.tool_sources
        for problem in source.value.problems
    ]
    if as_json:
        rows = [
            {
                "name": name,
                "plugin": owners.get(name),
                "origin": tool.origin or None,
                "description": tool.description,
            }
            for name, tool in sorted(available.items())
        ]
        click.echo(to_json({"tools": rows, "problems": problems}))
        return
    if not available:
        click.echo("No tools installed. Install openclaw-tools-builtin for shell, files and web.")
    for name, tool in sorted(available.items()):
        sentence = first_sentence(tool.description)
        summary = sentence if len(sentence) <= 100 else sentence[:99] + "…"
        origin = f" ({tool.origin})" if tool.origin else ""
        click.echo(f"{name}  [{owners.get(name, '?')}]{origin}  {summary}")
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)


def _add_managing_commands() -> None:
    from openclaw.cli import plugins_manage

    for command in plugins_manage.COMMANDS:
        plugins.add_command(command)


_add_managing_commands()
