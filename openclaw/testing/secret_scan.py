"""A check that runs with every test (the `openclaw_no_secret_in_outputs` fixture): no token, key or
URL password a test configured reaches what its gateways showed — the log, `/status`,
`/metrics`, a gateway process's stderr, and every request sent to a fake Bot API.

The parts that produce outputs report to the test's scan themselves: `running_gateway` (its
App's secrets, `/status` and `/metrics` when it stops), `sigterm_mid_turn` (the config's
secrets and the process's stderr) and `FakeBotAPI` (its token and what the bot sent). A test
that plants its own token, key or password in a config is checked for that one.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator

from openclaw.redaction import MIN_LENGTH

Outputs = Callable[[], Iterable[tuple[str, str]]]
"""Called when the test ends: (where, text) pairs to search."""


class OutputScan:
    """The secrets a test configured and the outputs to search for them."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.outputs: list[tuple[str, str]] = []
        self._sources: list[Outputs] = []
        self._log = io.StringIO()
        self._handler = logging.StreamHandler(self._log)
        self._handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def add_secrets(self, values: Iterable[str | None]) -> None:
        self.secrets.update(v for v in values if v and len(v) >= MIN_LENGTH)

    def add_output(self, where: str, text: str) -> None:
        self.outputs.append((where, text))

    def watch(self, source: Outputs) -> None:
        """Read `source`'s outputs when the test ends (what a fake server received, say)."""
        self._sources.append(source)

    def leaks(self) -> list[str]:
        """Where a secret was found: `"/status holds 1234…"` (only the secret's first 4
        characters are named, so the report does not leak it again)."""
        if not self.secrets:
            return []
        outputs = [*self.outputs, ("the log", self._log.getvalue())]
        for source in self._sources:
            outputs += list(source())
        return [
            f"{where} holds {secret[:4]}…"
            for where, text in outputs
            for secret in sorted(self.secrets)
            if secret in text
        ]

    def __enter__(self) -> OutputScan:
        logging.getLogger().addHandler(self._handler)
        _stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self._handler)
        _stack.remove(self)


_stack: list[OutputScan] = []


def current_scan() -> OutputScan | None:
    """The running test's scan, if the fixture is active (plugin authors' own runs too)."""
    return _stack[-1] if _stack else None


def scanning() -> Iterator[OutputScan]:
    """The fixture's body: scan for the test, fail it when a secret was found."""
    with OutputScan() as scan:
        yield scan
    leaks = scan.leaks()
    if leaks:
        raise AssertionError("a configured secret reached an output: " + "; ".join(leaks))
