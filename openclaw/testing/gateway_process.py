"""Run `openclaw gateway` as a user does, in a subprocess, and stop it with SIGTERM while a turn
is under way: the check every channel plugin wants that shutdown drains and loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from openclaw.testing.secret_scan import current_scan

MODULE_LISTING_CLI = """
import json, os, runpy, signal, sys

def dump(*_):
    with open(os.environ["OPENCLAW_MODULES_FILE"], "w") as out:
        json.dump(list(sys.modules), out)

signal.signal(signal.SIGUSR1, dump)
sys.argv = ["openclaw", *sys.argv[1:]]
runpy.run_module("openclaw", run_name="__main__", alter_sys=True)
"""
"""`python -c MODULE_LISTING_CLI ARGS...` runs `openclaw ARGS...`; on SIGUSR1 it writes the
names of the modules imported so far, in import order, to `$OPENCLAW_MODULES_FILE` (what an
idle gateway holds in memory)."""


def sigterm_mid_turn(
    home: Path,
    model_server: Any,
    env: Mapping[str, str] | None = None,
    *,
    after_start: Callable[[], None] = lambda: None,
    timeout: float = 30.0,
) -> tuple[int, str]:
    """Start the gateway with `$OPENCLAW_HOME=home` (plus `env`), call `after_start` (e.g. make
    a user send a message), wait until `model_server` got the turn's request, send SIGTERM, and
    return the exit code and stderr. Use a slow `model_server` (`delay`) so the turn is running."""
    full_env = {
        **os.environ,
        "OPENCLAW_HOME": str(home),
        "OPENAI_API_KEY": "sk-test",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "openclaw.cli", "gateway", "--port", "0"],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        after_start()
        deadline = time.monotonic() + timeout
        while not model_server.requests and time.monotonic() < deadline:
            time.sleep(0.02)
        assert model_server.requests, "the turn never reached the model"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    scan = current_scan()
    if scan is not None:
        from openclaw.config import load_config
        from openclaw.redaction import is_secret_name

        scan.add_secrets(v for k, v in full_env.items() if is_secret_name(k))
        scan.add_secrets(load_config(environ=full_env).secret_values(environ=full_env))
        scan.add_output("the gateway's stderr", stderr)
    return process.returncode, stderr
