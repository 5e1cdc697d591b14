"""`openclaw doctor`: is the config valid, are the providers reachable, which binaries exist."""

from __future__ import annotations

import asyncio
import shutil
from typing import TYPE_CHECKING

import click

from openclaw.cli.common import load, make_app

if TYPE_CHECKING:
    from openclaw.app import App

OPTIONAL_BINARIES = {
    "bwrap": "sandbox isolation for exec (Debian: bubblewrap)",
    "rg": "fast grep tool (Debian: ripgrep)",
    "fdfind": "fast find tool (Debian: fd-find)",
    "ffmpeg": "voice notes (Debian: ffmpeg)",
    "espeak-ng": "text-to-speech fallback (Debian: espeak-ng)",
    "chromium": "browser tool (Debian: chromium)",
}


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the config, the plugins, each configured model's provider (and any offline
    last-resort model) and optional binaries.

    The only network calls are one model-list request to each configured model's server.
    """
    from openclaw.config import ConfigError
    from openclaw.sandbox import SandboxPolicy

    config = load(ctx)
    click.echo(f"{_mark(True)} config: {config.source or 'none (defaults)'}")
    app = make_app(ctx, config, warn=False)
    try:
        for warning in app.validate_sections():
            click.echo(f"⚠️  {warning}")
    except (ConfigError, LookupError) as exc:
        click.echo(f"{_mark(False)} {exc}")
    has_workspace = config.workspace.is_dir()
    missing = "" if has_workspace else " (missing: `openclaw init` creates it)"
    click.echo(f"{_mark(has_workspace)} workspace: {config.workspace}{missing}")
    click.echo(f"   sessions: {config.sessions_db}")
    isolated, isolation = SandboxPolicy.from_config(config).describe_isolation()
    click.echo(f"{'✅' if isolated else '⚠️ '} sandbox: {isolation}")
    click.echo(f"   plugins: {', '.join(app.plugins.names())}")
    for problem in app.problems:
        click.echo(f"{_mark(False)} {problem}")
    refs = [config.agent.model, *config.agent.fallbacks]
    refs += [ref for ref in app.agent.last_resort_refs() if ref not in refs]
    failures = asyncio.run(check_models(app, refs))
    asyncio.run(check_speech(app))
    for binary, purpose in OPTIONAL_BINARIES.items():
        found = shutil.which(binary)
        click.echo(f"{'✅' if found else '➖'} {binary}: {found or 'not found'} — {purpose}")
    if failures:
        raise click.ClickException(f"{failures} model(s) not usable; see above")


async def check_model(app: App, ref: str) -> bool:
    """Resolve a model ref and ask its provider to check itself; print one line."""
    from openclaw.providers import ProviderError, split_ref

    try:
        provider_name, _ = split_ref(ref)
        provider_type, _settings = app.providers.settings(provider_name)
        provider = app.providers.get(provider_name)
    except (ValueError, LookupError) as exc:
        click.echo(f"{_mark(False)} model {ref}: {exc}")
        return False
    tools = "" if getattr(provider, "supports_tools", True) else " (no tool support)"
    check = getattr(provider, "check", None)
    if check is None:
        click.echo(f"➖ model {ref}: {provider_type.name} provider{tools} (no check available)")
        return True
    try:
        checked = await check()
    except ProviderError as exc:
        if exc.status is not None and exc.status not in (401, 403):
            click.echo(
                f"✅ model {ref}: {provider_type.name}{tools}, server answers ({exc.reason})"
            )
            return True
        click.echo(f"{_mark(False)} model {ref}: {provider_type.name}: {exc.reason}")
        return False
    click.echo(f"✅ model {ref}: {provider_type.name}{tools}, {checked or 'server answers'}")
    return True


async def check_models(app: App, refs: list[str]) -> int:
    """Check each model; returns how many are not usable."""
    try:
        return sum([not await check_model(app, ref) for ref in refs])
    finally:
        await app.providers.aclose()


async def check_speech(app: App) -> None:
    """One line per speech provider (kinds stt and tts) with its `check()` result, and which
    one voice messages would use; a configured one that cannot work is marked as an error."""
    from openclaw.speech import KIND_NAMES, candidates, preferred

    for kind, what in KIND_NAMES.items():
        found = await candidates(app, kind)
        chosen = preferred(found)
        for candidate in found:
            if candidate.problem is None:
                used = " (in use)" if candidate is chosen else ""
                click.echo(f"✅ {kind} {candidate.name}{used}: {candidate.detail or 'usable'}")
            else:
                mark = _mark(False) if candidate.configured else "➖"
                click.echo(f"{mark} {kind} {candidate.name}: {candidate.problem}")
        if not found:
            click.echo(f"➖ {kind}: no {what} provider installed")
