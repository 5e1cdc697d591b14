"""`openclaw init`: a commented starter config and the workspace prompt files; never overwrites."""

from __future__ import annotations

from pathlib import Path

import click

STARTER_CONFIG = """\
// openclaw config. Lines starting with // are comments.
// Reference: docs/configuration.md. Check it with `openclaw config validate`.
{
  "agent": {
    "name": "main",
    // The model that answers, as provider/model. Presets that need no "providers" entry:
    // ollama, openai, anthropic, moonshot, deepseek, openrouter, vllm, llamacpp, local.
    "model": "ollama/llama3.2:1b",
    // Tried in order when the model above fails.
    "fallbacks": [],
    "workspace": "WORKSPACE",
    "max_rounds": 20,
    "turn_timeout": 120,
    // Seconds a model with a fallback after it may take to start answering before the next
    // model is tried (a hung model does not use up the turn).
    "first_token_timeout": 30,
    "history_tokens": 12000,
    "tool_output_chars": 32000
  },
  "providers": {
    // Keys are read from the environment when written as {"$env": "NAME"}.
    // "moonshot": {"type": "openai", "base_url": "https://api.moonshot.ai/v1",
    //              "api_key": {"$env": "MOONSHOT_API_KEY"}},
    // "anthropic": {"type": "anthropic", "api_key": {"$env": "ANTHROPIC_API_KEY"}}
  },
  "channels": {},
  "sandbox": {"isolation": "auto", "exec_timeout": 60, "allowed_paths": [], "blocked_commands": []},
  "limits": {"rate_per_minute": 10, "max_concurrent_turns": 5, "debounce_ms": 1500},
  "gateway": {"host": "127.0.0.1", "port": 3100},
  "plugins": {"disable": []},
  "logging": {"level": "info", "format": "console"}
}
"""

WORKSPACE_FILES = {
    "SOUL.md": "# Soul\n\nWho the assistant is: its tone and values. Warm, direct, honest.\n",
    "IDENTITY.md": "# Identity\n\nThe assistant's name and how it introduces itself.\n",
    "AGENTS.md": "# Agents\n\nHow to work: ask when unsure, prefer tools to guessing.\n",
    "TOOLS.md": "# Tools\n\nNotes on the tools and when to use them.\n",
    "USER.md": "# User\n\nWho you are talking to: name, time zone, preferences.\n",
    "MEMORY.md": "# Memory\n\nLong-lived facts worth remembering across sessions.\n",
}


def write_new(path: Path, text: str) -> bool:
    """Write `text` to `path` unless it exists; True if written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    return True


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Write a commented starter config and workspace files. Existing files are left alone."""
    from openclaw.paths import config_path, default_workspace, openclaw_home

    home = openclaw_home()
    chosen = ctx.find_root().obj.get("config_path")
    config_file = Path(chosen).expanduser() if chosen else config_path(home)
    workspace = default_workspace(home)
    starter = STARTER_CONFIG.replace("WORKSPACE", str(workspace))
    targets = [(config_file, starter)]
    targets += [(workspace / name, text) for name, text in WORKSPACE_FILES.items()]
    for path, text in targets:
        verb = "wrote" if write_new(path, text) else "kept existing"
        click.echo(f"{verb} {path}")
    click.echo("Next: edit the config's agent.model, then `openclaw doctor` and `openclaw chat`.")
