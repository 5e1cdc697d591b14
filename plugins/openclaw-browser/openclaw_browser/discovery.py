"""Finding a Chromium-based browser already installed: openclaw never downloads one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from openclaw.tools import ToolError

NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "brave-browser",
    "brave",
)
PATHS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/snap/bin/chromium",
    "/usr/bin/google-chrome",
    "/opt/google/chrome/chrome",
    "/usr/bin/brave-browser",
    "/opt/brave.com/brave/brave",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
)


def find_browser(configured: str | None = None) -> Path:
    """The configured executable, else the first known browser on PATH or at a usual place;
    ToolError saying what to install or configure when there is none."""
    if configured:
        path = Path(os.path.expanduser(configured))
        found = shutil.which(str(path))
        if found is None:
            raise ToolError(
                f"tools.browser.executable is {configured!r}, which is not an executable file"
            )
        return Path(found)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    for candidate in PATHS:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ToolError(
        "no Chromium-based browser found (looked for chromium, google-chrome and brave); "
        "install one (Debian: apt install chromium) or set tools.browser.executable"
    )
