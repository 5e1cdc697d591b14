"""openclaw's state files: one atomic, locked JSON writer (`openclaw.json_file`), used by
pairing, the cron job store and the script approvals."""

from __future__ import annotations

import json
import os
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
