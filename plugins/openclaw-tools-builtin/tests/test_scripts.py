"""Script plugins: JSON manifests in the workspace become tools the model calls, run as real
processes under the sandbox; broken manifests are reported and skipped; `openclaw tools` shows
both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

GREET_SH = """#!/bin/sh
# reads the arguments (JSON) from stdin and greets
input=$(cat)
echo "greet got: $input"
"""

FAIL_SH = """#!/bin/sh
echo "the tide table is missing" >&2
exit 3
"""

GREET = {
    "name": "greet",
    "description": "Greet someone by name.",
    "parameters": {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
    },
    "command": "sh greet.sh",
}


@pytest.fixture
def plugins_dir(openclaw_home: Path) -> Path:
    folder = openclaw_home / "workspace" / ".openclaw" / "plugins"
    folder.mkdir(parents=True)
    (folder / "greet.sh").write_text(GREET_SH)
    (folder / "fail.sh").write_text(FAIL_SH)
    return folder


def write(folder: Path, name: str, manifest: dict[str, Any] | str) -> Path:
    path = folder / f"{name}.json"
    path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    return path


def tool_results(openclaw_mock_model: Any) -> list[Any]:
    return [m for m in openclaw_mock_model.requests[-1].messages if m.role == "tool"]


def offered(request: Any) -> dict[str, str]:
    return {spec.name: spec.description for spec in request.tools}


async def test_a_manifest_becomes_a_tool_the_model_calls(
    openclaw_make_app, openclaw_mock_model, plugins_dir
):
    write(plugins_dir, "greet", GREET)
    write(plugins_dir, "tide", {**GREET, "name": "tide", "command": ["sh", "fail.sh"]})
    openclaw_mock_model.enqueue(
        tool_calls=[
            ("greet", {"name": "Ada"}),
            ("greet", {"name": 5}),
            ("greet", {}),
            ("tide", {"name": "x"}),
        ]
    ).enqueue("done")
    async with openclaw_make_app(entry_points=True) as app:
        await app.ask("greet Ada")
        source = next(s.value for s in app.registry.tool_sources if s.value.name == "scripts")
        assert source.problems == []
    specs = {spec.name: spec for spec in openclaw_mock_model.requests[0].tools}
    assert specs["greet"].description == "Greet someone by name."
    assert specs["greet"].parameters == GREET["parameters"]
    ok, wrong_type, missing, failing = tool_results(openclaw_mock_model)
    assert not ok.is_error, ok.text
    assert ok.text == 'greet got: {"name": "Ada"}\n'
    assert wrong_type.is_error
    assert "invalid arguments for greet: name: 5 is not of type 'string'" in wrong_type.text
    assert missing.is_error and "'name' is a required property" in missing.text
    assert failing.is_error and "tide exited 3: the tide table is missing" in failing.text


async def test_manifests_are_cached_by_mtime(openclaw_make_app, openclaw_mock_model, plugins_dir):
    path = write(plugins_dir, "greet", {**GREET, "description": "Version one."})
    openclaw_mock_model.enqueue("a").enqueue("b").enqueue("c")
    async with openclaw_make_app(entry_points=True) as app:
        await app.ask("first")
        stamp = path.stat()
        # Same size and mtime: the cache must not re-read the file (so the old text stays).
        path.write_text(json.dumps({**GREET, "description": "Version two."}))
        os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        await app.ask("second")
        os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
        await app.ask("third")
    first, second, third = (offered(request)["greet"] for request in openclaw_mock_model.requests)
    assert (first, second, third) == ("Version one.", "Version one.", "Version two.")


BROKEN: dict[str, dict[str, Any] | str] = {
    "a_not_json": '{"name": "oops", ',
    "b_missing_fields": {"name": "nameless", "parameters": {"type": "object"}},
    "c_bad_schema": {**GREET, "name": "bad_schema",
                     "parameters": {"type": "object", "properties": {"x": {"type": "strin"}}}},
    "d_not_object": {**GREET, "name": "not_object", "parameters": {"type": "string"}},
    "x_clash_manifest": {**GREET, "description": "A second greet."},
    "f_clash_registered": {**GREET, "name": "web_search"},
    "g_blocked": {**GREET, "name": "wipe", "command": "rm -rf /"},
    "h_typo": {**GREET, "name": "typo", "timout": 5},
    "i_bad_name": {**GREET, "name": "has spaces"},
}  # fmt: skip


async def test_broken_manifests_are_reported_and_skipped(
    openclaw_make_app, openclaw_mock_model, plugins_dir
):
    write(plugins_dir, "greet", GREET)
    for name, manifest in BROKEN.items():
        write(plugins_dir, name, manifest)
    openclaw_mock_model.enqueue(tool_calls=[("greet", {"name": "Bo"}), ("wipe", {})]).enqueue(
        "done"
    )
    async with openclaw_make_app(entry_points=True) as app:
        await app.ask("go")
        source = next(s.value for s in app.registry.tool_sources if s.value.name == "scripts")
        problems = {Path(p.split(":")[0]).stem: p for p in source.problems}
    assert set(problems) == set(BROKEN)
    assert "not valid JSON" in problems["a_not_json"]
    assert "description: Field required" in problems["b_missing_fields"]
    assert "command: Field required" in problems["b_missing_fields"]
    assert "not a valid JSON schema" in problems["c_bad_schema"]
    assert "properties/x/type" in problems["c_bad_schema"]
    assert '"type" must be "object"' in problems["d_not_object"]
    assert f"already declared by {plugins_dir / 'greet.json'}" in problems["x_clash_manifest"]
    assert "a tool named 'web_search' already exists" in problems["f_clash_registered"]
    assert "command refused by the sandbox" in problems["g_blocked"]
    assert "timout: Extra inputs are not permitted" in problems["h_typo"]
    assert "name: String should match pattern" in problems["i_bad_name"]
    tools = offered(openclaw_mock_model.requests[0])
    assert tools["greet"] == "Greet someone by name."  # the first manifest wins the clash
    assert tools["web_search"] != GREET["description"]  # the registered tool is untouched
    assert not {"wipe", "bad_schema", "not_object", "typo", "nameless"} & set(tools)
    greet, wipe = tool_results(openclaw_mock_model)
    assert greet.text == 'greet got: {"name": "Bo"}\n'
    assert wipe.is_error and "unknown tool 'wipe'" in wipe.text


async def test_a_hanging_script_times_out(openclaw_make_app, openclaw_mock_model, plugins_dir):
    write(plugins_dir, "hang", {**GREET, "name": "hang", "command": "sleep 30", "timeout": 1})
    openclaw_mock_model.enqueue(tool_calls=[("hang", {"name": "x"})]).enqueue("done")
    async with openclaw_make_app(entry_points=True) as app:
        await app.ask("hang")
    (result,) = tool_results(openclaw_mock_model)
    assert result.is_error and "hang timed out after 1s" in result.text


async def test_a_script_timeout_is_clamped_to_the_sandbox_maximum(
    openclaw_make_app, openclaw_mock_model, plugins_dir
):
    write(plugins_dir, "hang", {**GREET, "name": "hang", "command": "sleep 30", "timeout": 3600})
    openclaw_mock_model.enqueue(tool_calls=[("hang", {"name": "x"})]).enqueue("done")
    async with openclaw_make_app(entry_points=True, config={"sandbox": {"exec_timeout": 1}}) as app:
        await app.ask("hang")
    (result,) = tool_results(openclaw_mock_model)
    assert result.is_error and "hang timed out after 1s" in result.text


def test_openclaw_tools_lists_script_tools_and_problems(openclaw_home, plugins_dir):
    manifest = write(plugins_dir, "greet", GREET)
    broken = write(plugins_dir, "broken", BROKEN["a_not_json"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env["OPENCLAW_HOME"] = str(openclaw_home)
    done = subprocess.run(
        [sys.executable, "-m", "openclaw.cli", "tools"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("greet "))
    assert line == f"greet  [tools] ({manifest})  Greet someone by name."
    assert any(line.startswith("web_fetch  [tools]  ") for line in done.stdout.splitlines())
    assert f"warning: scripts: {broken}: not valid JSON" in done.stderr
