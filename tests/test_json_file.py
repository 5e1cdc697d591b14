"""openclaw's state files: one atomic, locked JSON writer (`openclaw.json_file`), used by
pairing, the cron job store and the script approvals; its system calls seen with `strace`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from openclaw.config_file import atomic_write
from openclaw.gateway.pipeline import PairingStore
from openclaw.json_file import locked_json, read_json, write_json

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT)


def _wait(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        assert process.wait(timeout=120) == 0


def test_two_processes_lose_no_increment(tmp_path: Path) -> None:
    path = tmp_path / "counter.json"
    code = f"""
        from pathlib import Path
        from openclaw.json_file import locked_json
        for _ in range(200):
            with locked_json(Path({str(path)!r})) as data:
                data["n"] = data.get("n", 0) + 1
    """
    _wait([_python(code), _python(code)])
    assert read_json(path, dict) == {"n": 400}


def test_a_writer_killed_mid_loop_never_leaves_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_json(path, {"n": -1, "pad": ""})
    writer = _python(
        f"""
        from pathlib import Path
        from openclaw.json_file import write_json
        n = 0
        while True:
            write_json(Path({str(path)!r}), {{"n": n, "pad": "x" * (n % 50_000)}})
            n += 1
        """
    )
    try:
        deadline = time.monotonic() + 1.5
        seen = set()
        while time.monotonic() < deadline:
            seen.add(json.loads(path.read_text(encoding="utf-8"))["n"])
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert len(seen) > 1, "the writer never wrote"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["pad"] == "x" * (data["n"] % 50_000)


def test_state_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{}")
    path.chmod(0o644)
    with locked_json(path) as data:
        data["user"] = "42"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.with_name("state.json.lock").stat().st_mode & 0o777 == 0o600
    store = PairingStore(tmp_path / "home" / "pairing.json")
    store.request("telegram", "7", "7")
    assert store.path.stat().st_mode & 0o777 == 0o600


def test_the_config_keeps_its_permissions(tmp_path: Path) -> None:
    config = tmp_path / "openclaw.json"
    atomic_write(config, "{}")
    assert config.stat().st_mode & 0o777 == 0o600
    config.chmod(0o640)
    atomic_write(config, '{"agent": {}}')
    assert config.stat().st_mode & 0o777 == 0o640
    assert config.read_text() == '{"agent": {}}'


def test_an_unreadable_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    try:
        with locked_json(path) as data:
            data["n"] = 1
    except json.JSONDecodeError:
        pass
    assert path.read_text() == "{not json"


def test_pairing_approvals_survive_concurrent_requests(tmp_path: Path) -> None:
    path = tmp_path / "pairing.json"
    store = PairingStore(path)
    codes = [store.request("telegram", f"u{i}", f"c{i}", max_pending=100)[0] for i in range(30)]
    approver = _python(
        f"""
        from pathlib import Path
        from openclaw.gateway.pipeline import PairingStore
        store = PairingStore(Path({str(path)!r}))
        for code in {codes!r}:
            store.approve(code)
        """
    )
    requester = _python(
        f"""
        from pathlib import Path
        from openclaw.gateway.pipeline import PairingStore
        store = PairingStore(Path({str(path)!r}))
        for i in range(30):
            store.request("discord", f"d{{i}}", f"c{{i}}", max_pending=100)
        """
    )
    _wait([approver, requester])
    assert sorted(store.approved()["telegram"]) == sorted(f"u{i}" for i in range(30))
    assert sorted(r.user_id for r in store.pending()) == sorted(f"d{i}" for i in range(30))


def test_script_approvals_from_two_processes_all_survive(tmp_path: Path) -> None:
    path = tmp_path / "scripts.json"
    code = """
        from pathlib import Path
        from openclaw_tools_builtin.script_approvals import Approvals
        approvals = Approvals(Path({path!r}))
        for i in range(100):
            approvals.set(Path("{side}-%d.toml" % i), b"x")
    """
    _wait([_python(code.format(path=str(path), side=side)) for side in ("a", "b")])
    from openclaw_tools_builtin.script_approvals import Approvals

    assert len(Approvals(path).load()) == 200
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_file_then_the_folder_are_fsynced_around_the_rename(tmp_path: Path) -> None:
    """What the kernel asks of the disk, seen by strace (Debian `strace`, installed by
    scripts/install-system-deps): the new file is fsynced, renamed over the old one, and then
    the folder is fsynced, so the rename itself survives a power loss."""
    folder = tmp_path / "state"
    folder.mkdir()
    path, trace = folder / "pairing.json", tmp_path / "trace"
    write_json(path, {"old": True})
    code = "from pathlib import Path; from openclaw.json_file import write_json; "
    code += f"write_json(Path({str(path)!r}), {{'new': True}})"
    calls = "fsync,fdatasync,rename,renameat,renameat2"
    argv = ["strace", "-f", "-y", "-qq", "-e", f"trace={calls}", "-o", str(trace)]
    subprocess.run([*argv, sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
    seen = []  # (call, the path of its file descriptor, or the rename's target)
    for line in trace.read_text().splitlines():
        found = re.search(r'(\w+)\((?:\d+<([^>]*)>|.*"([^"]*)")\)\s+= 0', line)
        if found:
            seen.append((found.group(1), found.group(2) or found.group(3)))
    [renamed] = [i for i, (call, target) in enumerate(seen) if call.startswith("rename")]
    assert seen[renamed][1] == str(path)
    before, after = seen[:renamed], seen[renamed + 1 :]
    assert any(call == "fsync" and f"/.{path.name}." in name for call, name in before), seen
    assert ("fsync", str(folder)) in after, seen
    assert json.loads(path.read_text()) == {"new": True}
