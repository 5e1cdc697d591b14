"""`PairingStore.is_approved`, asked on every stranger's message: one read per change of the
file, and a change by another process (the CLI) seen at the next message."""

from __future__ import annotations

import os
from pathlib import Path

from openclaw.gateway.pipeline import PAIRING_FILE, PairingStore


def test_is_approved_reads_the_file_only_when_it_changed(tmp_path: Path) -> None:
    gateway = PairingStore(tmp_path / PAIRING_FILE)
    cli = PairingStore(tmp_path / PAIRING_FILE)  # `openclaw pairing`, another process's view

    assert not any(gateway.is_approved("telegram", "7") for _ in range(50))
    assert gateway.reads == 1  # no file yet: still asked once, then remembered

    code, _ = cli.request("telegram", "7", "70")
    assert code is not None
    assert not gateway.is_approved("telegram", "7")  # a pending code is not an approval
    cli.approve(code)
    assert gateway.is_approved("telegram", "7")  # the CLI's approval, at the next message
    reads = gateway.reads
    assert all(gateway.is_approved("telegram", "7") for _ in range(100))
    assert not gateway.is_approved("discord", "7")
    assert gateway.reads == reads  # 101 messages, no read

    cli.revoke("7")
    assert not gateway.is_approved("telegram", "7")


def test_a_same_size_rewrite_in_place_is_seen(tmp_path: Path) -> None:
    """An edit by hand keeps the inode and may keep the size: the mtime tells."""
    path = tmp_path / PAIRING_FILE
    path.write_text('{"approved": {"telegram": ["7"]}, "pending": {}}')
    store = PairingStore(path)
    assert store.is_approved("telegram", "7")
    with path.open("r+") as handle:
        handle.write('{"approved": {"telegram": ["8"]}, "pending": {}}')
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert store.is_approved("telegram", "8") and not store.is_approved("telegram", "7")
