"""`openclaw plugins install|uninstall|enable|disable` in a throwaway virtualenv, with the
plugin template of docs/writing-plugins.md built from the page as written (no network)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "writing-plugins.md"


def template_files() -> dict[str, str]:
    """The dice plugin's files, taken from the guide's code blocks."""
    text = GUIDE.read_text(encoding="utf-8")
    toml = re.search(r"## `pyproject.toml`\n\n```toml\n(.*?)```", text, re.S)
    assert toml is not None
    files = {"pyproject.toml": toml.group(1), "README.md": "# dice\n"}
    for path, code in re.findall(
        r"`(openclaw_tools_dice/\w+\.py)`, [^\n]*:\n\n```python\n(.*?)```", text, re.S
    ):
        files[path] = code
    files.setdefault("openclaw_tools_dice/__init__.py", "")
    assert set(files) >= {"openclaw_tools_dice/dice.py", "openclaw_tools_dice/plugin.py"}
    return files


def test_install_list_disable_enable_uninstall_the_guide_template(run, tmp_path, openclaw_home):
    plugin = tmp_path / "openclaw-tools-dice"
    for name, text in template_files().items():
        (plugin / name).parent.mkdir(parents=True, exist_ok=True)
        (plugin / name).write_text(text)
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run(
        [base, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True
    )
    python = str(venv / "bin" / "python")
    env = {"PYTHONPATH": str(ROOT), "OPENCLAW_LOAD_PLUGINS": "dice"}

    def listed() -> list[str]:
        shown = run("plugins", "--json", env=env, python=python)
        assert shown.returncode == 0, shown.stderr
        return [row["name"] for row in json.loads(shown.stdout)["plugins"]]

    assert "dice" not in listed()
    # the kernel comes from this checkout (PYTHONPATH); build tools from the system: no network
    installed = run(
        "plugins",
        "install",
        "--no-deps",
        "--no-build-isolation",
        str(plugin),
        env=env,
        python=python,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert list(venv.glob("lib/python*/site-packages/openclaw_tools_dice*"))  # in the venv
    assert "dice" in listed()
    tools = run("tools", env=env, python=python)
    # the guide's `openclaw tools` line, as it shows it
    line = "roll_dice  [dice]  Roll dice in the usual notation, e.g. 2d6+1 or d20."
    assert line in tools.stdout.splitlines()
    disabled = run("plugins", "disable", "dice", env=env, python=python)
    assert disabled.returncode == 0, disabled.stderr
    assert json.loads((openclaw_home / "openclaw.json").read_text()) == {
        "plugins": {"disable": ["dice"]}
    }
    assert "dice" not in listed()
    assert run("plugins", "enable", "dice", env=env, python=python).returncode == 0
    assert "dice" in listed()
    removed = run("plugins", "uninstall", "openclaw-tools-dice", env=env, python=python)
    assert removed.returncode == 0, removed.stderr
    assert "dice" not in listed()


def test_disabling_an_unknown_name_warns_and_enable_undoes_it(run, openclaw_home):
    typo = run("plugins", "disable", "dcie")
    assert typo.returncode == 0 and "no plugin 'dcie' is loaded now" in typo.stderr
    assert run("plugins", "disable", "dcie").stdout == "dcie is already disabled\n"
    assert run("plugins", "enable", "dcie").returncode == 0
    assert json.loads((openclaw_home / "openclaw.json").read_text()) == {"plugins": {"disable": []}}


def test_a_failing_pip_is_a_short_error(run, tmp_path):
    failed = run("plugins", "install", "--no-deps", str(tmp_path / "nothing-here"))
    assert failed.returncode == 1 and "pip install failed" in failed.stderr
