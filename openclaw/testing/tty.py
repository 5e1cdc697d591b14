"""Run a command with its stderr on a pseudo-terminal, as a user at a terminal sees it: for
testing output that only appears on a TTY (progress lines)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Mapping, Sequence


def run_with_tty_stderr(
    argv: Sequence[str], env: Mapping[str, str], timeout: float = 120
) -> tuple[int, str, str]:
    """(exit code, stdout, what the terminal received on stderr)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            received += chunk
        stdout = process.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return process.returncode, stdout.decode(), received.decode(errors="replace")
