"""`openclaw doctor`: is the config valid, are the providers reachable, which binaries exist."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openclaw.cli.common import load, make_app

if TYPE_CHECKING:
    from openclaw.app import App

OPTIONAL_BINARIES = {
    "bwrap": "sandbox isolation for exec, preferred to Landlock (Debian: bubblewrap)",
    "rg": "fast grep tool (Debian: ripgrep)",
    "fdfind": "fast find tool (Debian: fd-find)",
    "ffmpeg": "voice notes (Debian: ffmpeg)",
    "espeak-ng": "text-to-speech fallback (Debian: espeak-ng)",
    "chromium": "browser tool (Debian: chromium)",
}


MARKS = {"ok": "✅", "note": "ℹ️ ", "warning": "⚠️ ", "failure": "❌", "absent": "➖", "info": "  "}


class Report:
    """doctor's findings: each is printed as it is found, or all at the end as JSON (`--json`).
    A `failure` (a broken plugin, an unusable config, no usable model) makes the exit code 1."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.findings: list[dict[str, Any]] = []

    def add(self, status: str, check: str, text: str, **details: Any) -> None:
        """Record and show one finding, every secret masked: a URL password or a key a server
        echoed in its error stays out of the terminal (and of the bug reports it is pasted into)."""
        from openclaw.redaction import redact, redact_data

        text, details = redact(text), redact_data(details)
        self.findings.append({"status": status, "check": check, "text": text, **details})
        if not self.as_json:
            click.echo(f"{MARKS[status]} {text}")

    def count(self, status: str) -> int:
        return sum(finding["status"] == status for finding in self.findings)

    def finish(self) -> None:
        """Print the JSON or the summary line; exit 1 when something failed."""
        failures, warnings = self.count("failure"), self.count("warning")
        if self.as_json:
            click.echo(json.dumps({"ok": not failures, "checks": self.findings}, indent=2))
        elif warnings and not failures:
            click.echo(f"{warnings} warning(s), no failures")
        if failures:
            if self.as_json:
                raise SystemExit(1)
            raise click.ClickException(f"{failures} failure(s); see the ❌ lines above")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: ok, and every check.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the config, the plugins, each configured model's provider (and any offline
    last-resort model) and optional binaries.

    The only network calls are one model-list request to each configured model's server.
    Exit codes: 0 when nothing failed (warnings and notes may be shown, such as a primary
    model that is down while a fallback answers); 1 when something failed: the config, a
    plugin, or every model.
    """
    from openclaw.config import ConfigError
    from openclaw.sandbox import SandboxPolicy

    report = Report(as_json)
    try:
        config = load(ctx)
    except click.ClickException as exc:
        report.add("failure", "config", exc.message)
        report.finish()
        return
    report.add("ok", "config", f"config: {config.source or 'none (defaults)'}")
    try:
        app = make_app(ctx, config, warn=False)
    except click.ClickException as exc:  # a config key no plugin claims, or a bad claimed one
        report.add("failure", "config", exc.message)
        report.finish()
        return
    try:
        for warning in app.validate_sections():
            report.add("warning", "config", warning)
    except (ConfigError, LookupError) as exc:
        report.add("failure", "config", str(exc))
    check_workspace(report, config.workspace)
    report.add("info", "sessions", f"sessions: {config.sessions_db}")
    isolated, isolation = SandboxPolicy.from_config(config).describe_isolation()
    report.add("ok" if isolated else "warning", "sandbox", f"sandbox: {isolation}")
    report.add("info", "plugins", f"plugins: {', '.join(app.plugins.names())}")
    for problem in app.problems:
        report.add("failure", "plugin", problem)
    refs = [config.agent.model, *config.agent.fallbacks]
    refs += [ref for ref in app.models.last_resort_refs() if ref not in refs]
    asyncio.run(check_models(app, refs, report))
    asyncio.run(check_speech(app, report))
    for binary, purpose in OPTIONAL_BINARIES.items():
        found = shutil.which(binary)
        text = f"{binary}: {found or 'not found'} — {purpose}"
        report.add("ok" if found else "absent", "binary", text, name=binary, path=found)
    report.finish()


def check_workspace(report: Report, workspace: Path) -> None:
    """A missing workspace is no fault: the first tool that needs it creates it."""
    if workspace.is_dir():
        report.add("ok", "workspace", f"workspace: {workspace}", path=str(workspace))
    else:
        report.add(
            "note",
            "workspace",
            f"workspace: {workspace} (not there yet: created on first use; `openclaw init` "
            "also writes its prompt files)",
            path=str(workspace),
        )


async def check_model(app: App, ref: str) -> tuple[bool, str]:
    """Resolve a model ref and ask its provider to check itself: (usable, one line)."""
    from openclaw.providers import ProviderError, split_ref

    try:
        provider_name, _ = split_ref(ref)
        provider_type, _settings = app.models.settings(provider_name)
        provider = app.models.get(provider_name)
    except (ValueError, LookupError) as exc:
        return False, f"model {ref}: {exc}"
    tools = "" if getattr(provider, "supports_tools", True) else " (no tool support)"
    check = getattr(provider, "check", None)
    if check is None:
        return True, f"model {ref}: {provider_type.name} provider{tools} (no check available)"
    try:
        checked = await check()
    except ProviderError as exc:
        reason = f"{exc.reason}: {exc.detail}" if exc.detail else exc.reason
        if exc.status is not None and exc.status not in (401, 403):
            return True, f"model {ref}: {provider_type.name}{tools}, server answers ({reason})"
        return False, f"model {ref}: {provider_type.name}: {reason}"
    return True, f"model {ref}: {provider_type.name}{tools}, {checked or 'server answers'}"


async def check_models(app: App, refs: list[str], report: Report) -> None:
    """Check each model of the chain. An unusable one is a warning while a later one answers
    (and the summary names that one); only a chain where nothing answers is a failure."""
    try:
        results = [(ref, *await check_model(app, ref)) for ref in refs]
    finally:
        await app.models.aclose()
    answering = next((ref for ref, usable, _ in results if usable), None)
    for ref, usable, text in results:
        status = "ok" if usable else ("warning" if answering else "failure")
        if not usable and answering and ref == refs[0]:
            text += f" (turns are answered by {answering})"
        report.add(status, "model", text, model=ref, usable=usable)
    if answering is None:
        report.add("failure", "model", "no model is usable: turns fail")


async def check_speech(app: App, report: Report) -> None:
    """One line per speech provider (kinds stt and tts) with its `check()` result, and which
    one voice messages would use; a configured one that cannot work is a failure."""
    from openclaw.speech import KIND_NAMES, candidates, preferred

    for kind, what in KIND_NAMES.items():
        found = await candidates(app.models, kind)
        chosen = preferred(found)
        for candidate in found:
            if candidate.problem is None:
                used = " (in use)" if candidate is chosen else ""
                text = f"{kind} {candidate.name}{used}: {candidate.detail or 'usable'}"
                report.add("ok", kind, text, name=candidate.name)
            else:
                status = "failure" if candidate.configured else "absent"
                text = f"{kind} {candidate.name}: {candidate.problem}"
                report.add(status, kind, text, name=candidate.name)
        if not found:
            report.add("absent", kind, f"{kind}: no {what} provider installed")
