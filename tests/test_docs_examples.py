"""The plugin and embedding examples of the docs, run as written: the one-file tool plugin of
docs/writing-plugins.md (at most 20 lines, on the services it is handed), the same file
pip-installed as a distribution into a clean virtualenv and live there, the dice plugin's own
tests from the same page, and the shortest embedding program of docs/embedding.md (at most 10
lines)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

from openclaw.testing.servers import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-plugins.md"
EMBEDDING = ROOT / "docs" / "embedding.md"
HOOKS = ROOT / "docs" / "hooks.md"


def code_after(path: Path, marker: str, lang: str = "python") -> str:
    """The first fenced `lang` block after `marker` in `path`."""
    text = path.read_text(encoding="utf-8")
    found = re.search(re.escape(marker) + rf".*?```{lang}\n(.*?)```", text, re.S)
    assert found is not None, f"no {lang} block after {marker!r} in {path.name}"
    return found.group(1)


def template_files() -> dict[str, str]:
    """The dice plugin's files, from the guide's code blocks (as test_cli_plugins builds it)."""
    text = GUIDE.read_text(encoding="utf-8")
    files = {
        "pyproject.toml": code_after(GUIDE, "## `pyproject.toml`", "toml"),
        "README.md": "# dice\n",
        "openclaw_tools_dice/__init__.py": "",
    }
    for path, code in re.findall(
        r"`(openclaw_tools_dice/\w+\.py)`, [^\n]*:\n\n```python\n(.*?)```", text, re.S
    ):
        files[path] = code
    return files


def lines_of(code: str) -> int:
    """Lines of code: blank lines do not count."""
    return sum(1 for line in code.splitlines() if line.strip())


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    return {**env, "PYTHONIOENCODING": "utf-8", **extra}


async def test_one_file_tool_plugin_is_short_and_works(
    openclaw_make_app, openclaw_mock_model, tmp_path, monkeypatch
):
    code = code_after(GUIDE, "## One-file plugins")
    assert lines_of(code) <= 20
    folder = tmp_path / "openclaw-plugins"
    folder.mkdir()
    (folder / "notes.py").write_text(code, encoding="utf-8")
    monkeypatch.setenv("OPENCLAW_PLUGINS_DIR", str(folder))
    openclaw_mock_model.enqueue(
        tool_calls=[
            ("save_note", {"title": "groceries", "text": "milk"}),
            ("save_note", {"title": "../../escape", "text": "no"}),
        ]
    ).enqueue("Saved.")
    async with openclaw_make_app() as app:
        assert "notes" in app.plugins.names()
        await app.ask("note: milk")
        workspace = app.config.workspace
    saved, escaped = sorted(openclaw_mock_model.tool_results(), key=lambda r: "escape" in r.text)
    assert not saved.is_error and saved.text.startswith("saved ")
    assert (workspace / "notes" / "groceries.md").read_text() == "milk"
    assert escaped.is_error and not (workspace.parent.parent / "escape.md").exists()


INSTALLED_TURN = """
async def test_the_installed_plugin_is_called(openclaw_make_app, openclaw_mock_model, monkeypatch):
    monkeypatch.setenv("OPENCLAW_LOAD_PLUGINS", "notes")  # of the installed plugins, only it
    openclaw_mock_model.enqueue(
        tool_calls=[("save_note", {"title": "milk", "text": "2 litres"})]
    ).enqueue("Saved.")
    async with openclaw_make_app(entry_points=True) as app:
        assert app.plugins.info["notes"].distribution == "openclaw-tools-notes"
        finished = await app.ask("note: milk")
        workspace = app.config.workspace
    [result] = openclaw_mock_model.tool_results()
    assert (result.is_error, result.text) == (False, "saved notes/milk.md")
    assert finished.text == "Saved." and (workspace / "notes" / "milk.md").read_text() == "2 litres"
"""


def test_the_one_file_plugin_pip_installed_is_live(tmp_path):
    """The guide's one-file plugin with the guide's `pyproject.toml`, `pip install`ed (no
    network: build tools from the system) into a new virtualenv with this checkout's kernel:
    `openclaw plugins` there lists it, and a turn through the mock model calls its tool."""
    code = code_after(GUIDE, "## One-file plugins")
    assert lines_of(code) <= 20
    project = tmp_path / "openclaw-tools-notes"
    project.mkdir()
    (project / "openclaw_tools_notes.py").write_text(code, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        code_after(GUIDE, "To share it, the same file is a distribution", "toml"), encoding="utf-8"
    )
    (project / "README.md").write_text("# notes\n", encoding="utf-8")
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    for target in (["-e", str(ROOT)], [str(project)]):  # this checkout's kernel, the plugin
        done = subprocess.run([*pip, *target], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(OPENCLAW_HOME=str(home), OPENCLAW_LOAD_PLUGINS="notes")

    def openclaw(*args: str) -> str:
        done = subprocess.run(
            [str(venv / "bin" / "openclaw"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    kernel = subprocess.run(
        [python, "-c", "import openclaw; print(openclaw.__file__)"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert kernel.stdout.startswith(str(ROOT / "openclaw")), kernel  # not another checkout's
    assert "notes  (entrypoint: openclaw-tools-notes 0.1.0)" in openclaw("plugins").splitlines()
    plugins = json.loads(openclaw("plugins", "--json"))["plugins"]
    [notes] = [row for row in plugins if row["name"] == "notes"]
    assert notes["distribution"] == "openclaw-tools-notes" and notes["version"] == "0.1.0"
    assert (notes["source"], notes["registered"]) == ("entrypoint", {"tools": ["save_note"]})
    (tmp_path / "test_installed.py").write_text(INSTALLED_TURN, encoding="utf-8")
    turn = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert turn.returncode == 0, turn.stdout + turn.stderr
    assert "1 passed" in turn.stdout


def test_the_dice_plugin_hooks_stay_short():
    plugin = code_after(GUIDE, "`openclaw_tools_dice/plugin.py`")
    assert lines_of(plugin) <= 20


def test_the_guides_dice_tests_pass_on_the_guides_plugin(tmp_path):
    plugin = tmp_path / "openclaw-tools-dice"
    for name, text in template_files().items():
        (plugin / name).parent.mkdir(parents=True, exist_ok=True)
        (plugin / name).write_text(text, encoding="utf-8")
    (plugin / "tests").mkdir()
    tests = code_after(GUIDE, "The dice plugin's tests:")
    (plugin / "tests" / "test_dice.py").write_text(tests, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=plugin,
        env=clean_env(PYTHONPATH=str(plugin)),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def test_the_shortest_embedding_program_runs(tmp_path):
    code = code_after(EMBEDDING, "# Embedding the kernel")
    assert lines_of(code) <= 10
    program = tmp_path / "shortest.py"
    program.write_text(code, encoding="utf-8")
    with FakeOpenAIServer() as server:
        config = {
            "agent": {"model": "fake/fake-model"},
            "providers": {"fake": {"type": "openai", "base_url": server.base_url}},
            "logging": {"level": "error"},
        }
        (tmp_path / "openclaw.json").write_text(json.dumps(config), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(program)],
            cwd=tmp_path,
            env=clean_env(OPENCLAW_HOME=str(tmp_path)),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: Hello! Who are you?\n"


def module_of(code: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(code, name, "exec"), module.__dict__)
    return module


async def test_the_hooks_pages_tool_example_reads_through_the_sandbox(
    openclaw_make_app, openclaw_mock_model
):
    plugin = module_of(code_after(HOOKS, "### `register_tools("), "notes_example")
    openclaw_mock_model.enqueue(
        tool_calls=[("read_note", {"title": "todo"}), ("read_note", {"title": "../../x"})]
    ).enqueue("done")
    async with openclaw_make_app(plugins=[plugin]) as app:
        (app.config.workspace / "notes").mkdir(parents=True)
        (app.config.workspace / "notes" / "todo.md").write_text("buy milk")
        await app.ask("read my todo note")
    found, refused = openclaw_mock_model.tool_results()
    assert (found.is_error, found.text) == (False, "buy milk")
    assert refused.is_error and "sandbox" in refused.text


async def test_the_hooks_pages_heartbeat_gets_services(openclaw_make_app, openclaw_home):
    plugin = module_of(code_after(HOOKS, "### `startup("), "heartbeat_example")
    async with openclaw_make_app(plugins=[("heartbeat", plugin.heartbeat)]) as app:
        for _ in range(50):
            if (app.config.home / "heartbeat").exists():
                break
            await asyncio.sleep(0.01)
        assert (app.config.home / "heartbeat").read_text() == "alive\n"
    assert plugin.heartbeat.task.cancelled()
