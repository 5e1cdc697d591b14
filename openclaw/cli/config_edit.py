"""`openclaw config get|set|unset|import-upstream`: read and change the config file from the
command line. Every change is validated before the file is replaced (atomically), and the file's
`//` comments are kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from openclaw.cli.common import load


def target_file(ctx: click.Context) -> Path:
    """The file `--config`/`OPENCLAW_CONFIG` names, else `$OPENCLAW_HOME/openclaw.json`."""
    from openclaw.paths import config_path, openclaw_home

    chosen = ctx.find_root().obj.get("config_path")
    return Path(chosen).expanduser() if chosen else config_path(openclaw_home())


def split_path(dot_path: str) -> list[str]:
    keys = dot_path.split(".")
    if not all(keys):
        raise click.BadParameter(f"{dot_path!r} is not a dotted path such as agent.model")
    return keys


def parse_value(text: str) -> Any:
    """A JSON value (`5`, `true`, `["a"]`, `{"$env": "KEY"}`), else the text as a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _lookup(data: Any, keys: list[str]) -> Any:
    for depth, key in enumerate(keys):
        if not isinstance(data, dict) or key not in data:
            raise click.ClickException(f"{'.'.join(keys[: depth + 1])} is not set")
        data = data[key]
    return data


def _read(file: Path) -> tuple[str, Any]:
    from openclaw.config_file import ConfigFileError, read_config_file

    if not file.exists():
        return "{}\n", {}
    try:
        return read_config_file(file)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None


def _changed(data: dict[str, Any], keys: list[str], value: Any, remove: bool) -> dict[str, Any]:
    """A copy of `data` with the change made."""
    copy = json.loads(json.dumps(data))
    node = copy
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            if remove:
                return copy
            node[key] = {}
        node = node[key]
    if remove:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = value
    return copy


def _check(ctx: click.Context, data: dict[str, Any], file: Path) -> None:
    """Validate the new data as `config validate` does, kernel and plugin sections alike."""
    from openclaw.cli.common import make_app
    from openclaw.config import ConfigError, config_from_data

    try:
        config = config_from_data(data, file)
        warnings = make_app(ctx, config, warn=False).validate_sections()
    except (ConfigError, LookupError) as exc:
        raise click.ClickException(f"{exc}\nnothing was changed") from None
    except click.ClickException as exc:  # from make_app: a key no plugin claims
        raise click.ClickException(f"{exc.message}\nnothing was changed") from None
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def _edited(text: str, keys: list[str], value: Any, remove: bool) -> str | None:
    """The text edited in place, or None when it is not JSON with comments (JSON5)."""
    from openclaw.config_file import parse_jsonc
    from openclaw.config_text import set_in_text, unset_in_text

    try:
        parse_jsonc(text)
        return unset_in_text(text, keys) if remove else set_in_text(text, keys, value)
    except (ValueError, IndexError):
        return None


def _write(file: Path, text: str, data: Any, keys: list[str], value: Any, remove: bool) -> None:
    """Edit the text in place, keeping its comments; a JSON5 file is rewritten as plain JSON,
    and the user is told what that drops."""
    from openclaw.config_file import atomic_write, parse_jsonc

    edited = _edited(text, keys, value, remove)
    if edited is None or parse_jsonc(edited) != data:
        edited = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        click.echo(
            f"note: {file} was rewritten as plain JSON; its comments and JSON5 syntax were dropped",
            err=True,
        )
    atomic_write(file, edited)


def change_config(ctx: click.Context, keys: list[str], value: Any, remove: bool = False) -> Path:
    """Set (or remove) the value at `keys` in the config file after validating the result;
    returns the file. Nothing is written when the new config would not validate."""
    file = target_file(ctx)
    text, data = _read(file)
    if remove:
        _lookup(data, keys)
    changed = _changed(data, keys, value, remove)
    _check(ctx, changed, file)
    _write(file, text, changed, keys, value, remove)
    return file


@click.command("get")
@click.argument("dot_path")
@click.pass_context
def get(ctx: click.Context, dot_path: str) -> None:
    """Print the effective value at DOT.PATH (e.g. agent.model), secrets masked."""
    value = _lookup(load(ctx).public_dict(), split_path(dot_path))
    click.echo(value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False))


@click.command("set")
@click.argument("dot_path")
@click.argument("value")
@click.pass_context
def set_(ctx: click.Context, dot_path: str, value: str) -> None:
    """Set DOT.PATH to VALUE (JSON such as 5, true or ["a"]; anything else is a string).

    The new config is validated first: an invalid value changes nothing."""
    file = change_config(ctx, split_path(dot_path), parse_value(value))
    click.echo(f"set {dot_path} in {file}")


@click.command()
@click.argument("dot_path")
@click.pass_context
def unset(ctx: click.Context, dot_path: str) -> None:
    """Remove DOT.PATH from the file, so it takes its default."""
    file = change_config(ctx, split_path(dot_path), None, remove=True)
    click.echo(f"removed {dot_path} from {file}")


@click.command("import-upstream")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write (default: the config file, --config or $OPENCLAW_HOME/openclaw.json).",
)
@click.option("--force", is_flag=True, help="Replace an existing file (kept as FILE.upstream.bak).")
@click.pass_context
def import_upstream(ctx: click.Context, path: Path, output: Path | None, force: bool) -> None:
    """Convert upstream OpenClaw's config at PATH into this format.

    Carries over the model and fallbacks, the workspace, provider entries and keys, and the
    Telegram and Discord tokens, DM policies and allowlists; prints every setting it could not
    carry over."""
    from openclaw.cli.common import make_app
    from openclaw.config import Config, ConfigError, config_from_data
    from openclaw.config_file import ConfigFileError, atomic_write, read_config_file
    from openclaw.upstream import convert

    target = (output or target_file(ctx)).expanduser()
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; add --force to replace it")
    try:
        _, data = read_config_file(path)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: the config must be an object")
    presets = set(make_app(ctx, Config(), warn=False).models.known_names())
    result = convert(data, presets)
    try:
        config_from_data(result.config, target)
    except ConfigError as exc:
        raise click.ClickException(f"the converted config does not validate:\n{exc}") from None
    if target.exists():
        backup = target.with_name(target.name + ".upstream.bak")
        atomic_write(backup, target.read_text(encoding="utf-8"))
        click.echo(f"kept the previous {target} as {backup}")
    header = f"// Converted from upstream OpenClaw's {path} by `openclaw config import-upstream`.\n"
    converted = json.dumps(result.config, indent=2, ensure_ascii=False)
    atomic_write(target, f"{header}{converted}\n")
    click.echo(f"wrote {target}")
    if result.skipped:
        click.echo(f"not imported ({len(result.skipped)}):")
        for line in result.skipped:
            click.echo(f"  {line}")
