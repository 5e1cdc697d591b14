"""`scripts/install-system-deps`, the first step of the README's test command, run for real."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-system-deps"
BINARIES = ("bwrap", "rg", "fdfind", "ffmpeg", "espeak-ng", "chromium")


def run_with_path(path: Path) -> subprocess.CompletedProcess[str]:
    """The script with `path` as the whole PATH: no apt-get, no dpkg, only what is put there."""
    env = {"PATH": str(path), "HOME": os.environ.get("HOME", "/")}
    return subprocess.run(
        ["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )


def test_without_apt_it_names_every_missing_binary_and_fails(tmp_path):
    result = run_with_path(tmp_path)
    assert result.returncode == 1, result
    for binary in BINARIES:
        assert re.search(rf"\b{re.escape(binary)}\b", result.stderr), (binary, result.stderr)
    assert "apt-get install bubblewrap ripgrep fd-find ffmpeg espeak-ng chromium" in result.stderr


def test_without_apt_it_passes_when_everything_is_there(tmp_path):
    for binary in BINARIES:
        fake = tmp_path / binary
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    # libseccomp2 is a library, found in the system's library folders whatever PATH says.
    seccomp = list(Path("/usr/lib").glob("*-linux-gnu/libseccomp.so.2")) or list(
        Path("/lib").glob("*-linux-gnu/libseccomp.so.2")
    )
    assert seccomp, "libseccomp2 is not installed: run scripts/install-system-deps as root"
    result = run_with_path(tmp_path)
    assert (result.returncode, result.stderr) == (0, "")


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if line.endswith("python -m pytest"))
    assert command.startswith("scripts/install-system-deps && pip install -r requirements.txt")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    marker = ci.index("# The README's test command, verbatim:")
    assert ci[marker + 1] == command
    assert "apt-get" not in "\n".join(ci)  # the script is the one place that installs packages
