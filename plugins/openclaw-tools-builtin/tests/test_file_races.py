"""The file tools against a process that races them: a real subprocess swaps `ws/d` between a
folder and a symlink to `$OPENCLAW_HOME` as fast as it can while the scripted model calls
read_file, write_file, list_dir and patch on `d/...` through the kernel, turn after turn. No byte
of the home's files may come back and none of them may change."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from openclaw.testing.mock_provider import MockModel

RACE_SECONDS = 4.0
MAX_TURNS = 2_000

CONFIG_SECRET = "CONFIG-SECRET-5f1e0c"  # planted in $OPENCLAW_HOME/openclaw.json
PAIRING = "HOME-PAIRING-SECRET-91ab approved: nobody\n"  # $OPENCLAW_HOME/pairing.json
HOME_ONLY = "home-only-marker-3c7d.txt"  # a name only $OPENCLAW_HOME holds

# Swaps `d` and a symlink to the home with renameat2(RENAME_EXCHANGE): `d` is always there, a
# folder or a link, and stays a moment in each state.
SWAPPER = r"""
import ctypes, os, sys, time
workspace, home, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
os.chdir(workspace)
os.symlink(home, "d.link")
end = time.monotonic() + seconds
swaps = 0
while time.monotonic() < end:
    if libc.renameat2(AT_FDCWD, b"d.link", AT_FDCWD, b"d", RENAME_EXCHANGE) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
    swaps += 1
    time.sleep(0.0002)
if swaps % 2:
    libc.renameat2(AT_FDCWD, b"d.link", AT_FDCWD, b"d", RENAME_EXCHANGE)
print(swaps)
"""

CALLS = [
    ("read_file", {"path": "d/openclaw.json"}),
    ("read_file", {"path": "d/pairing.json"}),
    ("write_file", {"path": "d/pairing.json", "content": "approved: stranger\n"}),
    ("patch", {"path": "d/pairing.json", "old_text": "nobody", "new_text": "stranger"}),
    ("list_dir", {"path": "d"}),
    ("list_dir", {"path": "d", "depth": 2}),
]


def home_files(home: Path) -> dict[str, bytes]:
    """The home's files but the sessions database, which the turns themselves write."""
    return {
        path.name: path.read_bytes()
        for path in home.iterdir()
        if path.is_file() and not path.name.startswith("sessions.db")
    }


async def test_a_racing_symlink_swap_never_reaches_the_home(
    openclaw_make_app, openclaw_mock_model: MockModel, openclaw_home: Path
):
    config = {"sandbox": {"blocked_commands": [CONFIG_SECRET]}}
    app = openclaw_make_app(
        config=config, entry_points=True
    )  # writes openclaw.json with the secret
    config_file = openclaw_home / "openclaw.json"
    assert CONFIG_SECRET in config_file.read_text()
    (openclaw_home / "pairing.json").write_text(PAIRING)
    (openclaw_home / HOME_ONLY).write_text("")
    home_before = home_files(openclaw_home)
    workspace = openclaw_home / "workspace"  # the default: inside the home
    decoy = workspace / "d"
    decoy.mkdir(parents=True)
    (decoy / "openclaw.json").write_text('{"decoy": true}\n')
    (decoy / "pairing.json").write_text("decoy approved: nobody\n")

    leaks: dict[str, int] = {}
    succeeded: dict[str, int] = {}
    turns = 0
    async with app:
        swapper = subprocess.Popen(
            [sys.executable, "-c", SWAPPER, str(workspace), str(openclaw_home), str(RACE_SECONDS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + RACE_SECONDS + 10
            while swapper.poll() is None and turns < MAX_TURNS and time.monotonic() < deadline:
                openclaw_mock_model.enqueue(tool_calls=CALLS).enqueue("done")
                await app.ask("go", session_key=f"race-{turns}")
                turns += 1
                for (name, _), result in zip(
                    CALLS, openclaw_mock_model.tool_results(), strict=True
                ):
                    text = result.text
                    if not result.is_error:
                        succeeded[name] = succeeded.get(name, 0) + 1
                    if any(mark in text for mark in (CONFIG_SECRET, "HOME-PAIRING", HOME_ONLY)):
                        leaks[name] = leaks.get(name, 0) + 1
        finally:
            swaps_out, _ = swapper.communicate(timeout=RACE_SECONDS + 10)
    swaps = int(swaps_out.strip() or 0)
    home_after = home_files(openclaw_home)
    changed = sorted(name for name in home_before if home_after.get(name) != home_before[name])
    stray = sorted(set(home_after) - set(home_before))
    report = f"{turns} turns, {swaps} swaps, leaks {leaks}, changed {changed}, new {stray}"
    assert swaps > 100 and turns > 20, report  # the race really ran
    assert succeeded.get("read_file", 0) > 0 and succeeded.get("list_dir", 0) > 0, report
    assert leaks == {}, report
    assert changed == [] and stray == [], report
