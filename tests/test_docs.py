"""The docs against the code: the embedding example runs, every hook is documented under its
exact signature and exercised by a test, every kernel config key and event is documented."""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from openclaw import events, hookspecs
from openclaw.config import (
    AgentConfig,
    GatewayConfig,
    HeartbeatConfig,
    LimitsConfig,
    LoggingConfig,
    PluginsConfig,
    ProviderSettings,
    SandboxConfig,
    StoreConfig,
)
from openclaw.default_plugins import anthropic_provider, openai_provider

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def hook_functions() -> list:
    marker = f"{hookspecs.PROJECT}_spec"
    return [
        fn for _, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, marker)
    ]


def hook_heading(fn) -> str:
    return "### `" + fn.__name__ + str(inspect.signature(fn)).replace("'", "") + "`"


HOOKS = hook_functions()
HOOK_NAMES = [fn.__name__ for fn in HOOKS]


def test_embed_example_runs_offline():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run(
        [sys.executable, str(DOCS / "examples" / "embed.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert '[tool] add {"a": 2, "b": 3} running' in out
    assert "[tool] add ok (1 chars)" in out
    assert "2 + 3 = 5." in out
    assert re.search(
        r"^-- \d+ms · 2 round\(s\) · 1 tool\(s\) · \d+ tokens · fake/fake-model$", out, re.M
    ), out
    assert "tool result sent to the model: 5" in out
    assert "ask: You are welcome. (1 round(s), model fake/fake-model)" in out
    assert "TurnError (providers): no model answered (fake/fake-model: HTTP 400" in out
    assert "stored: user assistant tool assistant user assistant user" in out


def test_hooks_are_found():
    assert len(HOOKS) >= 12 and "before_tool_call" in HOOK_NAMES


@pytest.mark.parametrize("fn", HOOKS, ids=HOOK_NAMES)
def test_hook_documented_with_exact_signature(fn):
    headings = (DOCS / "hooks.md").read_text(encoding="utf-8").splitlines()
    assert hook_heading(fn) in headings


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_hook_exercised_by_a_test(name):
    """Some test under tests/ implements the hook (`def <hook>(`), so it runs in a test."""
    pattern = re.compile(rf"\bdef {name}\(")
    users = [
        path.name
        for path in (ROOT / "tests").rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert users, f"no test under tests/ implements the hook {name}"


SECTIONS = {
    "agent": AgentConfig,
    "sandbox": SandboxConfig,
    "limits": LimitsConfig,
    "gateway": GatewayConfig,
    "plugins": PluginsConfig,
    "logging": LoggingConfig,
    "store": StoreConfig,
    "heartbeat": HeartbeatConfig,
    "providers": ProviderSettings,
}


def section_text(doc: str, section: str) -> str:
    """The text under the `## \\`section\\`` heading, up to the next `## ` heading."""
    match = re.search(rf"^## `{section}`.*?$(.*?)(?=^## |\Z)", doc, re.M | re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize(
    ("section", "key"),
    [(section, key) for section, model in SECTIONS.items() for key in model.model_fields],
)
def test_config_key_documented(section, key):
    doc = (DOCS / "configuration.md").read_text(encoding="utf-8")
    in_table = f"| `{key}` |" in section_text(doc, section)
    assert in_table or f"`{section}.{key}`" in doc, f"{section}.{key} is not documented"


@pytest.mark.parametrize("preset", [*openai_provider.PRESETS, *anthropic_provider.PRESETS])
def test_provider_preset_documented(preset):
    doc = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"| `{preset}` |" in doc


def event_classes() -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(events, inspect.isclass)
        if issubclass(cls, events.Event) and cls is not events.Event
    ]


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_event_documented_with_fields(cls):
    doc = (DOCS / "hooks.md").read_text(encoding="utf-8")
    match = re.search(rf"^\| `{re.escape(cls.type)}` \| `{cls.__name__}` \|(.*)$", doc, re.M)
    assert match, f"event {cls.type} is not in the events table"
    for name in (f.name for f in dataclasses.fields(cls)):
        if name != "session_key":
            assert f"`{name}`" in match.group(1), f"{cls.type}: field {name} not documented"
