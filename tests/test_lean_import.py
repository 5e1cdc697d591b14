"""The store opens without importing numpy (sqlite-utils would import it whenever installed),
and numpy still imports for the code that wants it."""

from __future__ import annotations

import json
import subprocess
import sys

from openclaw.lean_import import hidden

OPEN_THE_STORE = """
import json, sys
from openclaw.app import App
from openclaw.config import Config

app = App(Config(), environ={})
app.store.stats()
before = "numpy" in sys.modules
import numpy
import sqlite_utils.db
print(json.dumps({"numpy_after_store": before, "numpy_works": int(numpy.int64(2) * 2),
                  "sqlite_utils_np": sqlite_utils.db.np is not None}))
"""


def test_the_store_opens_without_numpy_and_numpy_still_imports(openclaw_home):
    import numpy  # installed with the voice plugin: sqlite-utils would import it

    assert numpy
    result = subprocess.run(
        [sys.executable, "-c", OPEN_THE_STORE],
        capture_output=True,
        text=True,
        timeout=120,
        env={"OPENCLAW_HOME": str(openclaw_home), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "numpy_after_store": False,
        "numpy_works": 4,
        "sqlite_utils_np": False,
    }


def test_hidden_blocks_only_modules_not_yet_imported(tmp_path, monkeypatch):
    (tmp_path / "oc_extra_mod.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with hidden("oc_extra_mod", "json"):
        try:
            import oc_extra_mod
        except ImportError:
            blocked = True
        else:
            blocked = False
        assert sys.modules["json"] is json  # already imported: left alone
    assert blocked
    import oc_extra_mod

    assert oc_extra_mod.VALUE == 1
    monkeypatch.delitem(sys.modules, "oc_extra_mod")


LOG_THROUGH_STRUCTLOG = """
import io, json, sys
from openclaw.default_plugins.log_sink import LogSink
from openclaw.events import TurnFailed

stream = io.StringIO()
sink = LogSink(stream=stream)
sink.warm()
lean = {name: name in sys.modules for name in ("structlog", "rich", "greenlet")}
sink.handle(TurnFailed(session_key="s", error="boom"))
import rich
logged = "turn.failed" in stream.getvalue()
print(json.dumps({**lean, "logged": logged, "rich_works": bool(rich.print)}))
"""


def test_the_log_sink_imports_structlog_without_rich_and_rich_still_imports():
    import rich  # installed here (pip's tools bring it): structlog would import it

    assert rich
    result = subprocess.run(
        [sys.executable, "-c", LOG_THROUGH_STRUCTLOG],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "structlog": True,
        "rich": False,
        "greenlet": False,
        "logged": True,
        "rich_works": True,
    }
