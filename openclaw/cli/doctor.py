"""`openclaw doctor`: is the config valid, are the providers reachable, which binaries exist."""

from __future__ import annotations

import asyncio
import shutil

import click

from openclaw.cli.common import load

OPTIONAL_BINARIES = {
    "bwrap": "sandbox isolation for exec (Debian: bubblewrap)",
    "rg": "fast grep tool (Debian: ripgrep)",
    "fdfind": "fast find tool (Debian: fd-find)",
    "ffmpeg": "voice notes (Debian: ffmpeg)",
    "espeak-ng": "text-to-speech fallback (Debian: espeak-ng)",
    "chromium": "browser tool (Debian: chromium)",
}


async def probe(url: str, timeout: float = 3.0) -> str | None:
    """None if an HTTP server answers at `url` (any status), else why not."""
    import aiohttp

    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url) as response,
        ):
            await response.read()
            return None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}".rstrip(": ")


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the config, the plugins, each configured model's provider and optional binaries.

    The only network calls are one GET to each configured provider's base URL.
    """
    from openclaw.app import App
    from openclaw.config import ConfigError

    config = load(ctx)
    click.echo(f"{_mark(True)} config: {config.source or 'none (defaults)'}")
    app = App(config)
    try:
        for warning in app.validate_sections():
            click.echo(f"⚠️  {warning}")
    except (ConfigError, LookupError) as exc:
        click.echo(f"{_mark(False)} {exc}")
    has_workspace = config.workspace.is_dir()
    missing = "" if has_workspace else " (missing: `openclaw init` creates it)"
    click.echo(f"{_mark(has_workspace)} workspace: {config.workspace}{missing}")
    click.echo(f"   sessions: {config.sessions_db}")
    click.echo(f"   plugins: {', '.join(app.plugins.names())}")
    for problem in app.problems:
        click.echo(f"{_mark(False)} {problem}")
    failures = 0
    for ref in [config.agent.model, *config.agent.fallbacks]:
        failures += not asyncio.run(check_model(app, ref))
    for binary, purpose in OPTIONAL_BINARIES.items():
        found = shutil.which(binary)
        click.echo(f"{'✅' if found else '➖'} {binary}: {found or 'not found'} — {purpose}")
    if failures:
        raise click.ClickException(f"{failures} model(s) not usable; see above")


async def check_model(app: object, ref: str) -> bool:
    from openclaw.providers import split_ref

    try:
        provider_name, _ = split_ref(ref)
        provider_type, settings = app.providers.settings(provider_name)  # type: ignore[attr-defined]
    except (ValueError, LookupError) as exc:
        click.echo(f"{_mark(False)} model {ref}: {exc}")
        return False
    base_url = getattr(settings, "base_url", None)
    if not base_url:
        click.echo(f"➖ model {ref}: {provider_type.name} provider, default endpoint (not probed)")
        return True
    problem = await probe(base_url.rstrip("/") + "/models")
    where = f"{provider_type.name} at {base_url}"
    click.echo(f"{_mark(problem is None)} model {ref}: {where}{': ' + problem if problem else ''}")
    return problem is None
