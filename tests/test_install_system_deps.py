"""`scripts/install-system-deps`, the first step of the README's test command, run for real."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-system-deps"
BINARIES = ("bwrap", "rg", "fdfind", "ffmpeg", "espeak-ng", "chromium", "strace")


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
    wanted = "apt-get install bubblewrap ripgrep fd-find ffmpeg espeak-ng chromium strace"
    assert wanted in result.stderr


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


def test_with_apt_it_installs_only_what_dpkg_lacks(tmp_path):
    """apt-get and dpkg here are stand-ins on PATH: dpkg knows every package but ffmpeg, and
    "installing" ffmpeg puts an ffmpeg on PATH. As root the script installs just that; as
    another user it installs nothing and says to run it as root."""
    log = tmp_path / "apt.log"
    for binary in BINARIES:
        if binary != "ffmpeg":
            (tmp_path / binary).write_text("#!/bin/sh\n")
    (tmp_path / "dpkg").write_text('#!/bin/sh\n[ "$2" = ffmpeg ] && exit 1\nexit 0\n')
    (tmp_path / "apt-get").write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n'
        f'[ "$1" = install ] && printf "#!/bin/sh\\n" > {tmp_path}/ffmpeg '
        f"&& chmod 755 {tmp_path}/ffmpeg\nexit 0\n"
    )
    for fake in tmp_path.iterdir():
        fake.chmod(0o755)
    result = run_with_path(tmp_path)
    if os.geteuid() == 0:
        assert (result.returncode, log.read_text().splitlines()) == (
            0,
            ["update -qq", "install -y -qq ffmpeg"],
        ), result
        assert "installing ffmpeg" in result.stderr
    else:
        assert result.returncode == 1 and not log.exists()
        assert "ffmpeg" in result.stderr and "sudo scripts/install-system-deps" in result.stderr
