"""What every subcommand shares: loading the config (`load`, also for plugins' commands) and
the App with clean, short errors."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import click

from openclaw.cli.config_loading import load

if TYPE_CHECKING:
    from openclaw.app import App
    from openclaw.config import Config


def make_app(ctx: click.Context, config: Config | None = None, *, warn: bool = True) -> App:
    """The App; each plugin problem is shown once, as a warning line on stderr (`warn`) or by
    the caller. A config key no plugin claims is a short error (exit 1, no traceback)."""
    from openclaw.app import App
    from openclaw.config import ConfigError

    logger = logging.getLogger("openclaw")
    level = logger.level
    logger.setLevel(logging.ERROR)  # problems are echoed below instead of logged
    try:
        app = App(config or load(ctx))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
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
