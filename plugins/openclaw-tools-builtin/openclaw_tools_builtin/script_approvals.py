"""Which script-plugin manifests the owner approved for chat users: `$OPENCLAW_HOME/scripts.json`.

Anyone's agent can write a manifest into the shared workspace (with `write_file`, or a command),
so where a manifest lies says nothing about who wrote it. A manifest is therefore offered to a
chat user's turns only when the owner approved it, by the SHA-256 of its exact bytes: an edit
after the approval (by the agent, say) takes it away again until it is approved anew. The
owner's own turns (the CLI) are offered every manifest. The file lives outside the workspace,
where no tool can reach it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

APPROVALS_FILE = "scripts.json"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Approvals:
    """The approved manifests, by file name, with the digest each was approved at."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        """File name → approved SHA-256; empty when the file is missing or unreadable (then
        nothing is approved, which is the safe reading)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        approved = data.get("approved") if isinstance(data, dict) else None
        if not isinstance(approved, dict):
            return {}
        return {k: v for k, v in approved.items() if isinstance(k, str) and isinstance(v, str)}

    def is_approved(self, manifest: Path, data: bytes) -> bool:
        return self.load().get(manifest.name) == digest(data)

    def set(self, manifest: Path, data: bytes | None) -> None:
        """Approve `manifest` as `data` is now, or withdraw the approval (`data` None)."""
        from openclaw.json_file import locked, write_json

        with locked(self.path):  # the CLI and a running gateway may approve at once
            approved = self.load()
            if data is None:
                approved.pop(manifest.name, None)
            else:
                approved[manifest.name] = digest(data)
            write_json(self.path, {"approved": approved}, sort_keys=True)
