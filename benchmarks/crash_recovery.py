"""Crash recovery: users keep sending while the gateway is killed with SIGKILL mid-turn and
restarted; how many messages were answered, answered twice, lost, and whether any request to
the model was a broken conversation.

    python benchmarks/crash_recovery.py                       # 10 users × 10 messages, 10 kills
    python benchmarks/crash_recovery.py --users 3 --messages 4 --kills 4     # quicker
    python benchmarks/crash_recovery.py --against /path/to/other/checkout   # compare a version

A real `openclaw gateway` subprocess polls a fake Bot API; a streaming fake model answers each
message with a tool round and then an echo of the user's text, slowly enough (`--delay` seconds
between stream records) that kills land mid-turn. Each user sends their next message when the
previous one is answered, or after `--answer-wait` seconds. The harness is
`openclaw_channel_telegram.testing.crash` (the test suite runs it small).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from openclaw_channel_telegram.testing.crash import CrashRun


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--messages", type=int, default=10, help="messages per user")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.06, help="seconds between records")
    parser.add_argument("--answer-wait", type=float, default=15.0)
    parser.add_argument(
        "--gap",
        type=float,
        nargs=2,
        default=(1.5, 3.0),
        metavar=("LO", "HI"),
        help="seconds after start-up before the next kill (random in the range)",
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument(
        "--against",
        type=Path,
        help="run the gateway of another checkout (its kernel and Telegram plugin)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    pythonpath = ""
    if args.against:
        root = args.against.resolve()
        pythonpath = f"{root}:{root / 'plugins' / 'openclaw-channel-telegram'}"
    with tempfile.TemporaryDirectory(prefix="openclaw-crash-") as home:
        run = CrashRun(
            Path(home),
            users=args.users,
            messages=args.messages,
            kills=args.kills,
            delay=args.delay,
            answer_wait=args.answer_wait,
            gap=tuple(args.gap),
            seed=args.seed,
            pythonpath=pythonpath,
        )
        report = run.run(timeout=900)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(report.line())
        for problem in report.problems[:20]:
            print(f"  {problem}", file=sys.stderr)
    ok = report.lost == report.duplicates == report.malformed == 0 and report.integrity == "ok"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
