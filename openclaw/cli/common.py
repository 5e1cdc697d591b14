"""What every subcommand shares: loading the config and the App with clean, short errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from openclaw.app import App
    from openclaw.config import Config


def load(ctx: click.Context) -> Config:
    """The config, or a short error naming the file and field (exit 1, no traceback). Its
    secrets are masked in every log record and in what `openclaw.redaction.redact` cleans."""
    from openclaw.config import ConfigError, load_config
    from openclaw.redaction import install_log_redaction, remember

    install_log_redaction()
    try:
        config = load_config(ctx.find_root().obj.get("config_path"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    remember(config.secret_values())
    return config


def make_app(ctx: click.Context, config: Config | None = None, *, warn: bool = True) -> App:
    """The App; each plugin problem is shown once, as a warning line on stderr (`warn`) or by
    the caller."""
    from openclaw.app import App

    logger = logging.getLogger("openclaw")
    level = logger.level
    logger.setLevel(logging.ERROR)  # problems are echoed below instead of logged
    try:
        app = App(config or load(ctx))
    finally:
        logger.setLevel(level)
    for problem in app.problems if warn else ():
        click.echo(f"warning: {problem}", err=True)
    return app


def to_json(data: Any, *, indent: int | None = 2) -> str:
    """JSON for `--json` outputs: dataclasses become objects, paths and times strings."""
    import dataclasses
    import json

    def default(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return dataclasses.asdict(value)
        return str(value)

    return json.dumps(data, indent=indent, default=default, ensure_ascii=False)
